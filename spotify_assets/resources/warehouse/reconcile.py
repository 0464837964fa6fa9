"""Reconciling the warehouse with the lake: aggregates on both sides, scoped to what changed.

An unpartitioned table (the dimensions; small) is compared whole: row count, key checksum and
SUM(ms_played) of the lake version it was published from against the warehouse table's (stats.py).

A partitioned table is compared partition by partition (one per landing file), and only where
something may have changed since a reconcile last found the partition equal on both sides:
- `reconcile_partitions` (bookkeeping.py) holds each verified partition's lake marker and stats;
- a partition is verified again when its marker (the digest of its lake files, io_managers/lake_table.py) or
  its lake row count differs from the verified ones, when it is new or gone from the lake, or when
  a publish wrote it since (the publish drops its verified row in the same transaction);
- those partitions get stats on both sides: the lake's filtered to them (a Delta partition filter),
  the warehouse's by `WHERE landing_file IN (...) GROUP BY landing_file` on its index; the others
  count with their verified stats. Table totals are the sum; every partition must match, and so
  must the totals.
So a new 10k-play file costs aggregates over its 10k rows, whatever the history's size.

The trust boundary: a scoped reconcile sees whatever a publish wrote and the lake side of every
partition, but not a change made to the warehouse behind the publisher's back in a partition it
verified earlier (a row edited, deleted or added by hand, or rows under a landing_file the lake and
the bookkeeping never had). A full reconcile reads every partition on both sides and sees all of
that: it runs when the table has no verified stats (a warehouse older than them, the first
reconcile after a table was replaced whole or after a mismatch), or when asked for (the check's
`full` config). It compares row count and key checksum per partition (the index on landing_file
holds the key: an index-only read) and SUM(ms_played) over the whole table (one scan): SQLite
cannot sum a column per group without visiting the rows in index order or sorting them, 4 to 5
times the cost of that scan at 10M rows (MariaDB alike). So it sees any one row edited, moved, added or
deleted, as the whole-table check before it did; two hand edits of ms_played in two partitions
that cancel out escape it, as they escaped that check. A pass stores what was verified (the lake's
per-partition stats); a mismatch forgets the table's bookkeeping, so the next publish replaces it
whole and the next reconcile is full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import reduce

from ...io_managers.lake_table import LakeTable
from ...tables import TableSpec
from . import bookkeeping
from .base import Dialect, WarehouseError
from .bookkeeping import TABLE_VERIFIED, VERIFIED_PARTITIONS, chunks
from .stats import (
    TableStats,
    ms_played_sql,
    partition_keys_sql,
    partition_stats,
    partition_stats_sql,
    stats_from_row,
    stats_sql,
    table_stats,
)

FULL, CHANGED, WHOLE = "full", "changed partitions", "whole table"
LISTED_PARTITIONS = 5  # a mismatch names at most this many partitions


@dataclass(frozen=True)
class Reconciliation:
    """One table's reconcile: totals on both sides and what differs (nothing: passed)."""

    spec: TableSpec
    lake: TableStats
    warehouse: TableStats
    mismatches: list[str]
    scope: str  # FULL, CHANGED or WHOLE
    verified_now: int = 0  # partitions compared on both sides now
    verified_earlier: int = 0  # partitions counted with their stored stats
    differing: list[str] = field(default_factory=list)  # partitions whose stats differ

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def summary(self) -> str:
        if self.scope == WHOLE:
            return "whole table compared"
        return (
            f"{self.scope}: {self.verified_now} partitions verified now, "
            f"{self.verified_earlier} verified earlier"
        )


def _sum(spec: TableSpec, stats: Iterable[TableStats]) -> TableStats:
    return reduce(TableStats.__add__, stats, TableStats.zero(spec))


def whole_table_stats(dialect: Dialect, spec: TableSpec) -> TableStats:
    """The table's reconciliation stats computed in SQL, equal to `stats.table_stats` of its lake frame."""
    return stats_from_row(spec, dialect.query(stats_sql(spec, dialect.key_residue_sql(spec)))[0])


class Reconciler:
    """Reconciles tables one by one on a dialect whose publish lock the caller holds, so no publish
    changes the warehouse or its bookkeeping meanwhile."""

    def __init__(self, dialect: Dialect, *, full: bool = False) -> None:
        self.dialect = dialect
        self.full = full
        self.relations = dialect.relations()  # as the reading connection sees them until the end
        self.verified_table = VERIFIED_PARTITIONS.name in self.relations

    def reconcile(self, lake: LakeTable) -> Reconciliation:
        spec = lake.spec
        if spec.name not in self.relations:
            raise WarehouseError(
                f"{spec.name}: not in the warehouse {self.dialect.masked_url} (never published?)"
            )
        result = self._partitions(lake) if spec.partitioned else self._whole(lake)
        if not result.passed:
            with self.dialect.transaction():
                bookkeeping.forget(self.dialect, spec.name, self.relations)
        return result

    def _whole(self, lake: LakeTable) -> Reconciliation:
        spec = lake.spec
        lake_stats, warehouse_stats = table_stats(spec, lake.scan()), whole_table_stats(self.dialect, spec)
        return Reconciliation(
            spec, lake_stats, warehouse_stats, lake_stats.mismatches(warehouse_stats), WHOLE
        )

    def _partitions(self, lake: LakeTable) -> Reconciliation:
        spec = lake.spec
        stored = bookkeeping.read_verified(self.dialect, self.relations, spec.name)
        full = self.full or TABLE_VERIFIED not in stored
        earlier = (
            {}
            if full
            else {
                name: stats
                for name, (marker, stats) in stored.items()
                if name in lake.markers
                and marker == lake.markers[name]
                and stats.row_count == lake.row_counts[name]
            }
        )
        scope = None if full else sorted((set(lake.markers) | set(stored) - {TABLE_VERIFIED}) - set(earlier))
        lake_now = partition_stats(spec, lake.scan(scope)) if scope is None or scope else {}
        if scope is None:
            warehouse_now, warehouse_ms = self._warehouse_all(spec)
        else:
            warehouse_now, warehouse_ms = self._warehouse_partitions(spec, scope), None
        compared = sorted(set(lake.markers) | set(lake_now) | set(warehouse_now)) if scope is None else scope
        zero = TableStats.zero(spec)
        no_rows = TableStats(0, 0, None) if full else zero  # full: no SUM(ms_played) per partition
        differing = [
            name for name in compared if lake_now.get(name, zero).mismatches(warehouse_now.get(name, no_rows))
        ]
        lake_total = _sum(spec, [*earlier.values(), *lake_now.values()])
        warehouse_total = _sum(spec, [*earlier.values(), *warehouse_now.values()])
        if full and warehouse_ms is not None:
            warehouse_total = replace(warehouse_total, ms_played_sum=warehouse_ms)
        mismatches = lake_total.mismatches(warehouse_total)
        if differing:
            listed = ", ".join(differing[:LISTED_PARTITIONS]) + (
                ", ..." if len(differing) > LISTED_PARTITIONS else ""
            )
            mismatches.append(f"{len(differing)} partitions differ: {listed}")
        result = Reconciliation(
            spec,
            lake_total,
            warehouse_total,
            mismatches,
            FULL if full else CHANGED,
            len(compared),
            len(earlier),
            differing,
        )
        if result.passed and compared:
            self._store(lake, lake_now, compared, full=full, total=lake_total)
        return result

    def _warehouse_partitions(self, spec: TableSpec, scope: list[str]) -> dict[str, TableStats]:
        """Stats of these partitions, found by the index on the partition column."""
        residue, mark = self.dialect.key_residue_sql(spec), self.dialect.placeholder
        rows = [
            row
            for chunk in chunks(scope)
            for row in self.dialect.query(
                partition_stats_sql(spec, residue, placeholder=mark, partitions=len(chunk)), chunk
            )
        ]
        return {name: stats_from_row(spec, tuple(figures)) for name, *figures in rows}

    def _warehouse_all(self, spec: TableSpec) -> tuple[dict[str, TableStats], int | None]:
        """Row count and key checksum of every partition (SUM(ms_played) left out: None), and
        SUM(ms_played) of the whole table (None: the table has none)."""
        rows = self.dialect.query(partition_keys_sql(spec, self.dialect.key_residue_sql(spec)))
        partitions = {name: TableStats(int(count), int(checksum), None) for name, count, checksum in rows}
        if "ms_played" not in spec.column_names:
            return partitions, None
        return partitions, int(self.dialect.query(ms_played_sql(spec))[0][0])

    def _store(
        self,
        lake: LakeTable,
        lake_now: dict[str, TableStats],
        compared: list[str],
        *,
        full: bool,
        total: TableStats,
    ) -> None:
        zero = TableStats.zero(lake.spec)
        verified = {
            name: (lake.markers[name], lake_now.get(name, zero)) for name in compared if name in lake.markers
        }
        verified[TABLE_VERIFIED] = (lake.marker, total)
        if not self.verified_table:  # a warehouse published before it existed
            self.dialect.execute(self.dialect.create_table_sql(VERIFIED_PARTITIONS))
            self.verified_table = True
        with self.dialect.transaction():
            bookkeeping.record_verified(
                self.dialect,
                lake.spec.name,
                verified,
                replace_all=full,
                unverified=[name for name in compared if name not in lake.markers],
            )
