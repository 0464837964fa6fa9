"""A lake table as of one Delta version, with its version markers: what the warehouse publishes
and reconciles from, and what the report's cache and the fact's key check compare with what they saw.

What the lake guarantees and this relies on:
- a table lives at `io_managers.delta.table_uri(lake, spec.name)`; one never written is empty;
- a table whose spec is `partitioned` is Delta-partitioned by `landing_file`, and every rewrite of
  a partition adds new Parquet file paths (delta-rs never rewrites a file in place);
- any change to an unpartitioned table commits new file paths too.
So the set of file paths of a partition identifies its rows: the partition's marker is a digest of
those paths (public `DeltaTable.get_add_actions`), and an unpartitioned table has one marker, the
digest of all its paths, under the partition name "". A marker that differs from the one the
warehouse recorded at its last publish means "reload this"; compaction also changes markers,
which costs a reload of the same rows, never a wrong one.

Rows are read from the same `DeltaTable` object the markers came from, so they are exactly the
version the markers describe even if the model commits meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import polars as pl
from deltalake import DeltaTable

from ..tables import PARTITION_COLUMN, TableSpec
from .delta import WHOLE_TABLE, data_files, rows_per_partition, table_exists
from .location import Lake, LakeLocation


def fingerprint(*parts: str) -> str:
    """A short, stable digest of text (a set of file paths, DDL, view SQL)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def partition_markers(files: pl.DataFrame) -> dict[str, str]:
    """Each partition's marker (from `data_files` rows): the digest of its file paths."""
    paths = files.group_by("name").agg(pl.col("path").sort()).rows()
    return {name: fingerprint(*names) for name, names in paths}


@dataclass(frozen=True)
class LakeTable:
    """One lake table at one Delta version (`version` None: never written, so empty)."""

    spec: TableSpec
    version: int | None
    markers: Mapping[str, str]  # landing_file (or WHOLE_TABLE) -> digest of its file paths
    row_counts: Mapping[str, int]  # same keys
    delta: DeltaTable | None = field(default=None, repr=False, compare=False)

    @property
    def marker(self) -> str:
        """One digest of the whole table (equal markers: nothing to publish)."""
        return fingerprint(*(f"{name}\t{marker}" for name, marker in sorted(self.markers.items())))

    @property
    def row_count(self) -> int:
        return sum(self.row_counts.values())

    def scan(self, partitions: Collection[str] | None = None) -> pl.LazyFrame:
        """The rows of these partitions (None: all) of exactly this version, conformed to the spec."""
        if self.delta is None:
            return self.spec.empty().lazy()
        frame = pl.scan_delta(self.delta)
        if partitions is not None and self.spec.partitioned:
            frame = frame.filter(pl.col(PARTITION_COLUMN).is_in(sorted(partitions)))
        return self.spec.conform(frame)


def read_lake_table(lake: Lake, spec: TableSpec, version: int | None = None) -> LakeTable:
    """The table's current version (or `version`) with its markers and per-partition row counts."""
    location = LakeLocation.of(lake)
    if not table_exists(location, spec.name):
        empty = {} if spec.partitioned else {WHOLE_TABLE: fingerprint()}
        return LakeTable(spec, None, empty, dict.fromkeys(empty, 0))
    delta = DeltaTable(location.table_uri(spec.name), version=version, storage_options=location.options())
    files = data_files(delta, spec)
    counts = rows_per_partition(delta, spec, files)
    markers = partition_markers(files)
    if not spec.partitioned and WHOLE_TABLE not in markers:
        markers[WHOLE_TABLE] = fingerprint()
    return LakeTable(
        spec, delta.version(), markers, {name: int(counts.get(name, 0)) for name in markers}, delta
    )
