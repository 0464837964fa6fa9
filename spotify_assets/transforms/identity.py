"""Which copy of a play counts: the model's cross-file verdicts, decided by a deterministic winner.

Every landing file's `clean_plays` holds its own distinct plays. The same play can arrive in
several files (two exports of one period, a Maven CSV and the Extended JSON it came from, the
basic and the extended export). One copy is counted (in `fact_streams`); the others are
`duplicate_plays` rows pointing at it:

- `same_play`: copies with the same `play_key`. The winner is the first by `rules.WINNER_ORDER`:
  extended JSON before Maven CSV before basic account data, then the smallest landing file, source
  file and line. The order is a property of the copies, not of when they arrived, so the tables do
  not depend on the order in which files are dropped (or ingested at once).
- `export_overlap`: a basic account-data play (no id, minute precision) whose listening is also in
  an extended or Maven export: the same ms_played, the same normalized artist and title, end times
  at most `rules.OVERLAP_SECONDS` apart. The extended/Maven copy is counted (it has ids, seconds and
  reasons). It points at the copy of the matching play that is counted.

These functions work on any set of copies that holds every copy of each `play_key` it holds; the
model calls them for the whole history (a rebuild) or for the plays a new file touches.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import polars as pl

from ..tables import PARTITION_COLUMN
from .keys import normalize_name, stable_key
from .rules import BASIC_JSON, FORMAT_RANK, OVERLAP_SECONDS, WINNER_ORDER

COPY_COLUMNS = [PARTITION_COLUMN, "play_key", "source_file", "source_line", "source_format"]
MATCH_COLUMNS = ["ts_utc", "ms_played", "artist_name", "track_name"]
LOSER_COLUMNS = [
    PARTITION_COLUMN,
    "play_key",
    "source_file",
    "source_line",
    "kept_play_key",
    "kept_landing_file",
    "rule",
]
LOSER_SCHEMA = pl.Schema(
    {
        PARTITION_COLUMN: pl.String,
        "play_key": pl.Int64,
        "source_file": pl.String,
        "source_line": pl.Int64,
        "kept_play_key": pl.Int64,
        "kept_landing_file": pl.String,
        "rule": pl.String,
    }
)
WINDOW = timedelta(seconds=OVERLAP_SECONDS)


def format_rank() -> pl.Expr:
    return pl.col("source_format").replace_strict(FORMAT_RANK, return_dtype=pl.Int8).alias("format_rank")


def name_key(artist: pl.Expr, title: pl.Expr) -> pl.Expr:
    """stable_key of the normalized artist and title: how plays without ids are told apart."""
    return stable_key(normalize_name(artist), normalize_name(title))


def no_losers() -> pl.DataFrame:
    return pl.DataFrame(schema=LOSER_SCHEMA)


def same_play_verdicts(copies: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(losers, winners) among `copies` (COPY_COLUMNS, every copy of each play_key they hold):
    losers as LOSER_COLUMNS, winners as (play_key, landing_file) for each play_key."""
    ordered = copies.with_columns(format_rank()).sort("play_key", *WINNER_ORDER)
    first = pl.col("play_key").is_first_distinct()
    winners = ordered.filter(first).select("play_key", pl.col(PARTITION_COLUMN).alias("kept_landing_file"))
    losers = (
        ordered.filter(~first)
        .join(winners, on="play_key")
        .select(
            PARTITION_COLUMN,
            "play_key",
            "source_file",
            "source_line",
            pl.col("play_key").alias("kept_play_key"),
            "kept_landing_file",
            pl.lit("same_play").alias("rule"),
        )
    )
    return losers.cast(LOSER_SCHEMA), winners.rename({"kept_landing_file": PARTITION_COLUMN})


def overlap_matches(basic: pl.DataFrame, with_ids: pl.LazyFrame) -> pl.DataFrame:
    """For each basic copy (COPY_COLUMNS + MATCH_COLUMNS) that an extended/Maven copy in `with_ids`
    (a scan of such copies, same columns) also holds, the matching play: (landing_file, play_key,
    source_file, source_line, kept_play_key). The closest end time wins, then WINNER_ORDER."""
    if basic.is_empty():
        return pl.DataFrame(schema={name: LOSER_SCHEMA[name] for name in LOSER_COLUMNS[:5]})
    first, last = cast(datetime, basic["ts_utc"].min()), cast(datetime, basic["ts_utc"].max())
    keyed_basic = basic.with_columns(name_key(pl.col("artist_name"), pl.col("track_name")).alias("name_key"))
    candidates = (
        with_ids.filter(
            pl.col("ms_played").is_in(basic["ms_played"].unique().implode())
            & pl.col("ts_utc").is_between(first - WINDOW, last + WINDOW)
        )
        .select(
            "play_key",
            "ts_utc",
            "ms_played",
            *COPY_COLUMNS[:1],
            "source_file",
            "source_line",
            "source_format",
            name_key(pl.col("artist_name"), pl.col("track_name")).alias("name_key"),
        )
        .collect()
    )
    matches = (
        keyed_basic.join(candidates, on=["ms_played", "name_key"], suffix="_kept")
        .with_columns((pl.col("ts_utc_kept") - pl.col("ts_utc")).abs().alias("distance"))
        .filter(pl.col("distance") <= WINDOW)
    )
    ranked = matches.with_columns(
        pl.col("source_format_kept").replace_strict(FORMAT_RANK, return_dtype=pl.Int8).alias("rank_kept")
    ).sort(
        PARTITION_COLUMN,
        "play_key",
        "distance",
        "rank_kept",
        f"{PARTITION_COLUMN}_kept",
        "source_file_kept",
        "source_line_kept",
    )
    return ranked.filter(pl.struct(PARTITION_COLUMN, "play_key").is_first_distinct()).select(
        PARTITION_COLUMN,
        "play_key",
        "source_file",
        "source_line",
        pl.col("play_key_kept").alias("kept_play_key"),
    )


def decide(copies: pl.DataFrame, with_ids: pl.LazyFrame) -> pl.DataFrame:
    """The losers among `copies` (COPY_COLUMNS + MATCH_COLUMNS, every copy of each play_key held),
    as LOSER_COLUMNS. `with_ids` scans every extended/Maven copy of the history (for overlaps)."""
    same_play, winners = same_play_verdicts(copies.select(COPY_COLUMNS))
    candidates = copies.filter(pl.col("source_format") == BASIC_JSON).join(
        same_play.select(PARTITION_COLUMN, "play_key"), on=[PARTITION_COLUMN, "play_key"], how="anti"
    )
    matches = overlap_matches(candidates, with_ids)
    if matches.is_empty():
        return same_play
    matched = matches.select(pl.col("kept_play_key").alias("play_key")).unique()
    known = winners.join(matched, on="play_key", how="semi")
    unknown = matched.join(known, on="play_key", how="anti")["play_key"]
    if not unknown.is_empty():  # matched plays outside `copies`: find their counted copy
        elsewhere = (
            with_ids.filter(pl.col("play_key").is_in(unknown.implode())).select(COPY_COLUMNS).collect()
        )
        known = pl.concat([known, same_play_verdicts(elsewhere)[1]])
    overlap = matches.join(
        known.rename({PARTITION_COLUMN: "kept_landing_file", "play_key": "kept_play_key"}),
        on="kept_play_key",
    ).with_columns(pl.lit("export_overlap").alias("rule"))
    return pl.concat([same_play, overlap.select(LOSER_COLUMNS).cast(LOSER_SCHEMA)])
