"""Deciding what a publish writes: the lake's markers against what the warehouse recorded.

Per table, one action:
- `unchanged`: same DDL, same markers, the table is there: nothing is written;
- `full`: replace the whole table (never published, DDL differs from the spec, the table is
  missing, a full refresh was asked for, or most of it changed anyway);
- `partitions` (partitioned tables): delete and reload the rows of the partitions whose marker
  changed, delete those of partitions gone from the lake;
- `rows` (unpartitioned tables up to `row_diff_limit` rows): compare the rows by primary key with
  the warehouse copy and upsert or delete only those that differ.
A dialect whose DDL cannot share the transaction (MySQL) turns every changed table to `full` when
one of them must be replaced whole (`whole_tables_when_any_full`): each is then swapped on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ...io_managers.lake_table import LakeTable
from ...tables import TableSpec

UNCHANGED, FULL, PARTITIONS, ROWS = "unchanged", "full", "partitions", "rows"
# Reloading more than this share of a table's rows partition by partition: replace it whole.
FULL_RELOAD_SHARE = 0.5


@dataclass(frozen=True)
class PublishedTable:
    """What the warehouse recorded about a table at its last publish (bookkeeping)."""

    ddl_hash: str
    marker: str
    lake_version: int | None
    row_count: int | None
    partitions: Mapping[str, str]  # landing_file -> marker (partitioned tables)


@dataclass(frozen=True)
class TablePlan:
    lake: LakeTable
    action: str
    reason: str
    reload: tuple[str, ...] = ()  # partitions to delete and load again (new ones included)
    drop: tuple[str, ...] = ()  # partitions gone from the lake

    @property
    def spec(self) -> TableSpec:
        return self.lake.spec


def plan_table(
    lake: LakeTable,
    published: PublishedTable | None,
    ddl_hash: str,
    *,
    live: bool,
    full_refresh: bool,
    row_diff_limit: int,
) -> TablePlan:
    if full_refresh:
        return TablePlan(lake, FULL, "full refresh asked for")
    if published is None:
        return TablePlan(lake, FULL, "first publish")
    if not live:
        return TablePlan(lake, FULL, "the table is missing from the warehouse")
    if published.ddl_hash != ddl_hash:
        return TablePlan(lake, FULL, "its DDL differs from the table spec")
    if published.marker == lake.marker:
        return TablePlan(lake, UNCHANGED, "the lake has not changed since the last publish")
    if not lake.spec.partitioned:
        if lake.row_count > row_diff_limit:
            return TablePlan(lake, FULL, f"changed, and {lake.row_count:,} rows are too many to compare")
        return TablePlan(lake, ROWS, "changed: rows compared by primary key")
    reload = tuple(
        sorted(name for name, marker in lake.markers.items() if published.partitions.get(name) != marker)
    )
    drop = tuple(sorted(set(published.partitions) - set(lake.markers)))
    reload_rows = sum(lake.row_counts[name] for name in reload)
    if reload_rows > FULL_RELOAD_SHARE * lake.row_count and reload_rows > 100_000:
        return TablePlan(lake, FULL, f"{reload_rows:,} of {lake.row_count:,} rows changed")
    return TablePlan(lake, PARTITIONS, f"{len(reload)} partitions changed, {len(drop)} removed", reload, drop)


def whole_tables_when_any_full(plans: Sequence[TablePlan]) -> list[TablePlan]:
    """For a dialect whose DDL commits: if one table is replaced whole, every changed one is."""
    if not any(plan.action == FULL for plan in plans):
        return list(plans)
    return [
        plan
        if plan.action in (UNCHANGED, FULL)
        else replace(
            plan,
            action=FULL,
            reason=f"{plan.reason}; replaced whole with the other tables",
            reload=(),
            drop=(),
        )
        for plan in plans
    ]


def parents_first(specs: Iterable[TableSpec]) -> list[TableSpec]:
    """The specs ordered so every table comes after the tables its foreign keys reference."""
    remaining = list(specs)
    names = {spec.name for spec in remaining}
    ordered: list[TableSpec] = []
    while remaining:
        done = {spec.name for spec in ordered}
        ready = [
            spec
            for spec in remaining
            if all(
                parent in done or parent not in names or parent == spec.name
                for parent in spec.foreign_keys.values()
            )
        ]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {[spec.name for spec in remaining]}")
        ordered += ready
        remaining = [spec for spec in remaining if spec not in ready]
    return ordered
