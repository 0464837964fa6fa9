"""The report's fact aggregations kept per landing-file partition, so a run reads only the partitions
that changed: pure Polars and local files, no Dagster.

`fact_streams` is partitioned by landing file and every rewrite of a partition adds new Parquet
paths, so a partition's marker (the digest of its file paths, io_managers/lake_table.py) names its rows.
The fact's three aggregations (report_aggregates.py) add up over disjoint sets of plays (counts and
sums; `first_date_key` is a minimum), so the aggregations of the whole fact are those of its
partitions combined (`combine_aggregates`): exactly, not approximately, as every measure is an integer.

The cache is one file per partition in a folder of its own (the report folder's `.partials`), named
by the digest of what its rows depend on: the partition and its marker, the listen rule, this
module's format version and, when the rule reads track lengths (`half_or_4min`), the digest of
dim_track's (track_key, duration_ms). A run reads the entries it finds, computes the partitions
without one in one streaming pass over just those partitions (grouped by landing file as well),
writes their entries and deletes every other entry: the cache holds exactly one entry per partition
of the last run, whatever partitions vanished or rules came and went.

An entry is written whole or not at all (a temporary file renamed over it) and starts with the
SHA-256 of the rest, so a killed run leaves no half entry and a damaged entry (wrong digest, not
Parquet, another schema) is deleted and computed again, never trusted. The cache is an optimisation
only: without it (deleted, or a new report folder) a run computes every partition and gives the
same figures.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..atomic_write import TEMP_SUFFIX, write_atomically
from ..tables import PARTITION_COLUMN
from .listens import ListenRule
from .report_aggregates import FactAggregates, combine_aggregates, fact_aggregations

if TYPE_CHECKING:  # the fact at one version: its partitions' markers and a scan of exactly them
    from ..io_managers.lake_table import LakeTable

PARTIALS_FOLDER = ".partials"  # under the report folder
PARTIALS_VERSION = "1"  # bump when the aggregations or the entry format change: every entry is recomputed
ENTRY_SUFFIX = ".partial"
STALE_TEMP_SECONDS = 3600  # a temporary file this old is a killed run's, not a concurrent run's
AGGREGATION = "aggregation"  # the column telling an entry's three aggregations apart
DIGEST_BYTES = 64  # an entry's first line: the hex SHA-256 of the Parquet bytes after it

__all__ = ["PARTIALS_FOLDER", "CacheOutcome", "cached_aggregates", "track_lengths_digest"]


@dataclass(frozen=True)
class CacheOutcome:
    """What one run did with the cache."""

    partitions: int  # partitions of the fact
    reused: int  # their entries read from the cache
    computed: int  # partitions aggregated from the fact (no entry, or a damaged one)
    damaged: int  # of those, partitions whose entry was damaged (replaced)
    rows_read: int  # plays aggregated from the fact
    removed: int  # entries deleted: of vanished partitions or markers, other rules or track lengths


def cached_aggregates(
    fact: LakeTable, dim_track: pl.LazyFrame, rule: ListenRule, folder: Path
) -> tuple[FactAggregates, CacheOutcome]:
    """`aggregate_fact`'s result for `fact`, reading the partitions' entries from `folder`
    and computing (and storing) the others."""
    lengths = track_lengths_digest(dim_track) if rule.by_length else ""
    entries = {
        partition: _entry_name(partition, marker, rule, lengths) for partition, marker in fact.markers.items()
    }
    folder.mkdir(parents=True, exist_ok=True)
    queries = fact_aggregations(fact.scan(()), dim_track, rule)
    empty = FactAggregates(*(pl.DataFrame(schema=query.collect_schema()) for query in queries))
    found: dict[str, FactAggregates] = {}
    for partition, name in entries.items():
        partial = _read_entry(folder / name, empty)
        if partial is not None:
            found[partition] = partial
    missing = sorted(set(entries) - set(found))
    damaged = sum((folder / entries[partition]).exists() for partition in missing)
    computed, rows_read = _compute(fact, missing, dim_track, rule, empty)
    for partition, partial in computed.items():
        _write_entry(folder / entries[partition], partial)
    removed = _remove_others(folder, set(entries.values()))
    combined = combine_aggregates([*found.values(), *computed.values()], empty)
    outcome = CacheOutcome(len(entries), len(found), len(missing), damaged, rows_read, removed)
    return combined, outcome


def track_lengths_digest(dim_track: pl.LazyFrame) -> str:
    """A digest of every track's length (dim_track's track_key, duration_ms; null as -1, never a length)."""
    lengths = (
        dim_track.select(pl.col("track_key"), pl.col("duration_ms").fill_null(-1))
        .sort("track_key", "duration_ms")
        .collect()
    )
    digest = hashlib.sha256()
    for column in lengths.iter_columns():
        digest.update(column.cast(pl.Int64).to_numpy().tobytes())
    return digest.hexdigest()


def _entry_name(partition: str, marker: str, rule: ListenRule, lengths: str) -> str:
    key = "\x1f".join((PARTIALS_VERSION, partition, marker, repr(rule), lengths))
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ENTRY_SUFFIX


def _compute(
    fact: LakeTable,
    partitions: list[str],
    dim_track: pl.LazyFrame,
    rule: ListenRule,
    empty: FactAggregates,
) -> tuple[dict[str, FactAggregates], int]:
    """The aggregations of each of `partitions`, in one streaming pass over just those; rows read."""
    if not partitions:
        return {}, 0
    queries = fact_aggregations(fact.scan(partitions), dim_track, rule, by=(PARTITION_COLUMN,))
    frames = pl.collect_all(queries, engine="streaming")
    split = [frame.partition_by(PARTITION_COLUMN, as_dict=True, include_key=False) for frame in frames]
    partials = {
        partition: FactAggregates(
            *(parts.get((partition,), blank) for parts, blank in zip(split, empty, strict=True))
        )
        for partition in partitions
    }
    rows = int(frames[0]["plays"].sum())
    return partials, rows


def _write_entry(path: Path, partial: FactAggregates) -> None:
    """The three aggregations as one Parquet (told apart by AGGREGATION) after its SHA-256, written
    whole or not at all."""
    stacked = pl.concat(
        [
            frame.with_columns(pl.lit(index, pl.UInt8).alias(AGGREGATION))
            for index, frame in enumerate(partial)
        ],
        how="diagonal",
    )
    body = io.BytesIO()
    stacked.write_parquet(body)
    data = body.getvalue()
    write_atomically(path, hashlib.sha256(data).hexdigest().encode() + b"\n" + data)


def _read_entry(path: Path, empty: FactAggregates) -> FactAggregates | None:
    """The entry's aggregations, or None when it is missing or damaged (its digest, Parquet or schema)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    digest, body = data[:DIGEST_BYTES], data[DIGEST_BYTES + 1 :]
    if digest != hashlib.sha256(body).hexdigest().encode():
        return None
    try:
        stacked = pl.read_parquet(io.BytesIO(body))
    except (pl.exceptions.PolarsError, OSError):  # the digest matched: only a forged entry gets here
        return None
    frames = [
        stacked.filter(pl.col(AGGREGATION) == index).select(blank.columns)
        for index, blank in enumerate(empty)
        if set(blank.columns) <= set(stacked.columns)
    ]
    if [frame.schema for frame in frames] != [blank.schema for blank in empty]:
        return None
    return FactAggregates(*frames)


def _remove_others(folder: Path, keep: set[str]) -> int:
    """Deletes every entry not in `keep` and killed runs' temporary files; returns entries deleted."""
    removed = 0
    stale = time.time() - STALE_TEMP_SECONDS
    with os.scandir(folder) as paths:
        for path in paths:
            if path.name.endswith(ENTRY_SUFFIX) and path.name not in keep:
                Path(path.path).unlink(missing_ok=True)
                removed += 1
            elif path.name.endswith(TEMP_SUFFIX) and _modified(path) < stale:
                Path(path.path).unlink(missing_ok=True)
    return removed


def _modified(path: os.DirEntry) -> float:
    """When the file was last written (now, if a concurrent run just renamed it away)."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()
