"""The fact's three aggregations for the listening report, and how aggregations of disjoint sets of
plays combine: pure Polars, lazy, no Dagster.

By local day, hour and content type; by platform and content type; by track with its artist, album
and content type, its listens under the listen rule and the first local day it was played. Every
measure is an integer count or sum, or a minimum (`first_date_key`), so the aggregations of a union
of disjoint sets of plays are those of each set added up: exactly, in any order (report_partials.py
keeps them per landing file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from .listens import ListenRule

__all__ = ["AGGREGATION_KEYS", "FactAggregates", "aggregate_fact", "combine_aggregates", "fact_aggregations"]


class FactAggregates(NamedTuple):
    """The fact's three aggregations (see `aggregate_fact`)."""

    by_hour: pl.DataFrame  # date_key, hour, content_type + COUNTS
    by_platform: pl.DataFrame  # platform_key, content_type + COUNTS
    by_track: pl.DataFrame  # track_key, artist_key, album_key, content_type + COUNTS, listens, first_date_key


# the group keys of each aggregation, in FactAggregates order
AGGREGATION_KEYS = (
    ("date_key", "hour", "content_type"),
    ("platform_key", "content_type"),
    ("track_key", "artist_key", "album_key", "content_type"),
)


def fact_aggregations(
    fact: pl.LazyFrame, dim_track: pl.LazyFrame, rule: ListenRule, *, by: tuple[str, ...] = ()
) -> list[pl.LazyFrame]:
    """The queries of `aggregate_fact`, each also grouped by the `by` columns (first)."""
    counts = [
        pl.len().cast(pl.Int64).alias("plays"),
        pl.col("ms_played").sum(),
        pl.col("skipped").sum().cast(pl.Int64).alias("skips"),
        pl.col("shuffle").sum().cast(pl.Int64).alias("shuffles"),
    ]
    hour_keys, platform_keys, track_keys = AGGREGATION_KEYS
    by_hour = fact.group_by(*by, *hour_keys).agg(counts)
    by_platform = fact.group_by(*by, *platform_keys).agg(counts)
    is_listen = rule.polars(pl.col("ms_played"), pl.col("duration_ms"))
    if rule.by_length:  # the join costs ~15 % more CPU on 10 million plays: only when the rule reads lengths
        plays = fact.join(dim_track.select("track_key", "duration_ms"), on="track_key", how="left")
    else:
        plays = fact.with_columns(pl.lit(None, pl.Int64).alias("duration_ms"))
    by_track = plays.group_by(*by, *track_keys).agg(
        *counts,
        is_listen.sum().cast(pl.Int64).alias("listens"),
        pl.col("date_key").min().alias("first_date_key"),
    )
    return [by_hour, by_platform, by_track]


def aggregate_fact(fact: pl.LazyFrame, dim_track: pl.LazyFrame, rule: ListenRule) -> FactAggregates:
    """The fact's three aggregations: by local day, hour and content type; by platform and content
    type; by track with its artist, album and content type, its listens under `rule` and the first
    local day it was played.

    Polars' streaming engine runs them in about a third of the in-memory engine's CPU time on
    10 million rows (see BENCHMARKS.md)."""
    return FactAggregates(*pl.collect_all(fact_aggregations(fact, dim_track, rule), engine="streaming"))


def combine_aggregates(parts: Sequence[FactAggregates], empty: FactAggregates) -> FactAggregates:
    """The aggregations of the union of disjoint sets of plays, from each set's (`parts`): counts
    add up, `first_date_key` is the earliest. `empty` (zero rows) gives the schema when there are no parts."""
    combined = []
    for index, keys in enumerate(AGGREGATION_KEYS):
        frames = [empty[index], *(part[index] for part in parts)]
        measures = [name for name in empty[index].columns if name not in keys]
        combined.append(
            pl.concat(frames)
            .group_by(*keys)
            .agg(pl.col(name).min() if name == "first_date_key" else pl.col(name).sum() for name in measures)
            .select(empty[index].columns)
        )
    return FactAggregates(*combined)
