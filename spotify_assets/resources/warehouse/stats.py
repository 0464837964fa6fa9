"""Reconciliation statistics, computed identically in Polars (the lake), SQLite and MySQL.

Per table: the row count, SUM of ms_played (tables that have it), and the key checksum = SUM over
rows of a non-negative residue of the primary key:
- single integer key k: ((k % 2147483647) + 2147483647) % 2147483647 (the same with truncating or
  flooring `%`);
- any other key: the first 7 hex digits (28 bits) of SHA-256 of the key columns as text joined by
  U+001F (SQLite has no hash function: its reading connection registers `key_hash28`).
Both stay far below 2^63 for billions of rows, so SQLite's integer SUM never overflows. Only
aggregates cross the wire: no side is scanned row by row against the other. The same figures per
landing-file partition (`partition_stats`, `partition_stats_sql`) add up to the table's: a
partitioned table is reconciled partition by partition (reconcile.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace)

from ...tables import PARTITION_COLUMN, TableSpec
from .base import has_integer_key, quote

KEY_MODULUS = 2_147_483_647
KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class TableStats:
    row_count: int
    key_checksum: int
    ms_played_sum: int | None

    def __add__(self, other: TableStats) -> TableStats:
        ms_played = (
            None
            if self.ms_played_sum is None and other.ms_played_sum is None
            else (self.ms_played_sum or 0) + (other.ms_played_sum or 0)
        )
        return TableStats(self.row_count + other.row_count, self.key_checksum + other.key_checksum, ms_played)

    @classmethod
    def zero(cls, spec: TableSpec) -> TableStats:
        """The stats of no rows (an empty table or partition)."""
        return cls(0, 0, 0 if "ms_played" in spec.column_names else None)

    def as_metadata(self, prefix: str) -> dict[str, int]:
        metadata = {f"{prefix}_row_count": self.row_count, f"{prefix}_key_checksum": self.key_checksum}
        if self.ms_played_sum is not None:
            metadata[f"{prefix}_ms_played_sum"] = self.ms_played_sum
        return metadata

    def mismatches(self, warehouse: TableStats) -> list[str]:
        """One line per figure that differs, lake (self) first."""
        pairs = (
            ("row count", self.row_count, warehouse.row_count),
            ("key checksum", self.key_checksum, warehouse.key_checksum),
            ("SUM(ms_played)", self.ms_played_sum, warehouse.ms_played_sum),
        )
        return [
            f"{name}: lake {lake:,}, warehouse {published:,} (difference {published - lake:+,})"
            for name, lake, published in pairs
            if lake is not None and published is not None and lake != published
        ]


def _aggregates(spec: TableSpec) -> list[pl.Expr]:
    if has_integer_key(spec):
        key = pl.col(spec.primary_key[0]).cast(pl.Int64)
        residue = ((key % KEY_MODULUS) + KEY_MODULUS) % KEY_MODULUS
    else:
        joined = pl.concat_str(
            [pl.col(name).cast(pl.String) for name in spec.primary_key], separator=KEY_SEPARATOR
        )
        residue = joined.chash.sha2_256().str.slice(0, 7).str.to_integer(base=16)  # type: ignore[attr-defined]
    aggregates = [pl.len().alias("rows"), residue.cast(pl.Int64).sum().alias("checksum")]
    if "ms_played" in spec.column_names:
        aggregates.append(pl.col("ms_played").sum().alias("ms_played"))
    return aggregates


def table_stats(spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame) -> TableStats:
    """Reconciliation stats of a Polars frame (the lake side)."""
    row = frame.lazy().select(_aggregates(spec)).collect().row(0, named=True)
    return TableStats(row["rows"], row["checksum"], row.get("ms_played"))


def partition_stats(spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame) -> dict[str, TableStats]:
    """Reconciliation stats of each landing-file partition of a Polars frame (partitions without
    rows are absent)."""
    rows = frame.lazy().group_by(PARTITION_COLUMN).agg(_aggregates(spec)).collect()
    return {
        row[PARTITION_COLUMN]: TableStats(row["rows"], row["checksum"], row.get("ms_played"))
        for row in rows.iter_rows(named=True)
    }


def _aggregates_sql(spec: TableSpec, non_integer_residue: str, *, ms_played: bool = True) -> str:
    if has_integer_key(spec):
        key = quote(spec.primary_key[0])
        residue = f"(({key} % {KEY_MODULUS}) + {KEY_MODULUS}) % {KEY_MODULUS}"
    else:
        residue = non_integer_residue
    keys = f"COUNT(*), COALESCE(SUM({residue}), 0)"
    if not ms_played:
        return keys
    return f"{keys}, {'SUM(`ms_played`)' if 'ms_played' in spec.column_names else 'NULL'}"


def stats_sql(spec: TableSpec, non_integer_residue: str) -> str:
    """The SELECT of the same stats in SQL; `non_integer_residue` is the dialect's key hash."""
    return f"SELECT {_aggregates_sql(spec, non_integer_residue)} FROM {quote(spec.name)}"


def partition_stats_sql(
    spec: TableSpec, non_integer_residue: str, *, placeholder: str, partitions: int
) -> str:
    """The same stats per landing file, with the landing file first, of `partitions` given as
    parameters: the index on the partition column finds their rows."""
    name, aggregates = quote(PARTITION_COLUMN), _aggregates_sql(spec, non_integer_residue)
    if placeholder == "%s":  # the `format` paramstyle (pymysql): a literal % is written %%
        aggregates = aggregates.replace("%", "%%")
    return (
        f"SELECT {name}, {aggregates} FROM {quote(spec.name)} "
        f"WHERE {name} IN ({', '.join([placeholder] * partitions)}) GROUP BY {name}"
    )


def partition_keys_sql(spec: TableSpec, non_integer_residue: str) -> str:
    """Row count and key checksum of every landing file, with the landing file first. The index on
    the partition column holds the primary key too (a SQLite rowid, an InnoDB secondary index), so
    this reads the index alone; SUM(ms_played) per partition would visit every row in index order,
    4 to 5 times the cost of one scan of the table (SQLite, 10M rows): take that whole-table sum apart."""
    name = quote(PARTITION_COLUMN)
    aggregates = _aggregates_sql(spec, non_integer_residue, ms_played=False)
    return f"SELECT {name}, {aggregates} FROM {quote(spec.name)} GROUP BY {name}"


def ms_played_sql(spec: TableSpec) -> str:
    return f"SELECT COALESCE(SUM(`ms_played`), 0) FROM {quote(spec.name)}"


def stats_from_row(spec: TableSpec, row: tuple) -> TableStats:
    row_count, checksum, ms_sum = row
    ms_played = int(ms_sum or 0) if "ms_played" in spec.column_names else None
    return TableStats(int(row_count), int(checksum), ms_played)


def key_hash28(text: str) -> int:
    """SQLite's `key_hash28(text)`: the 28-bit residue of a non-integer key."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)
