"""The model tables the Spotify lookup reads (dim_album, dim_track, fact_streams), from a short
description of who played what where, for tests and benchmarks.

    listening = pl.DataFrame({"track_id": [...], "album_key": [...], "landing_file": [...],
                              "plays": [...], "first_minute": [...]})

One row per (track, landing file): `plays` plays in that file, the first `first_minute` minutes
after 2024-01-01 00:00 UTC and one a minute after that. A null track_id is a basic-history play whose
id was not resolved; `content_type` (default "track") makes podcast episodes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from spotify_assets.tables import DIM_ALBUM, DIM_TRACK, FACT_STREAMS

START = datetime(2024, 1, 1, tzinfo=UTC)
ARTIST_KEY = 7


def model_tables(listening: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """dim_album, dim_track and fact_streams (conformed to their specs) for `listening`."""
    frame = listening.lazy()
    if "content_type" not in listening.columns:
        frame = frame.with_columns(content_type=pl.lit(None, pl.String))
    frame = frame.with_columns(
        pl.col("content_type").fill_null("track"),
        pl.coalesce("track_id", pl.format("nameonly-{}", "album_key")).alias("_member"),
    ).with_columns(pl.col("_member").rank("dense").cast(pl.Int64).alias("track_key"))
    plays = (
        frame.with_columns(pl.int_ranges(0, "plays").alias("n"))
        .explode("n")
        .with_columns(
            (pl.lit(START) + pl.duration(minutes=pl.col("first_minute") + pl.col("n"))).alias("ts_utc"),
        )
        .with_row_index("play_key")
    )
    fact = plays.select(
        pl.col("play_key").cast(pl.Int64),
        "ts_utc",
        pl.col("ts_utc").dt.strftime("%Y%m%d").cast(pl.Int32).alias("date_key"),
        pl.col("ts_utc").dt.hour().cast(pl.Int16).alias("hour"),
        "track_key",
        pl.lit(ARTIST_KEY).alias("artist_key"),
        "album_key",
        pl.lit(1).alias("platform_key"),
        pl.lit(1).alias("reason_key"),
        pl.lit(200_000).alias("ms_played"),
        *(pl.lit(False).alias(flag) for flag in ("shuffle", "skipped", "offline", "incognito_mode")),
        "content_type",
        pl.lit("history.json").alias("source_file"),
        pl.lit("extended_json").alias("source_format"),
        "landing_file",
    )
    earliest = plays.sort("ts_utc", "landing_file")
    dim_track = (
        earliest.group_by("track_key", maintain_order=True)
        .agg(
            pl.col("track_id", "album_key", "content_type").first(),
        )
        .select(
            "track_key",
            "track_id",
            pl.format("spotify:{}:{}", "content_type", "track_id").alias("track_uri"),
            pl.format("Track {}", "track_key").alias("track_name"),
            "content_type",
            pl.lit(ARTIST_KEY).alias("artist_key"),
            "album_key",
            pl.col("track_key").alias("recording_key"),
        )
    )
    dim_album = (
        earliest.group_by("album_key", maintain_order=True)
        .agg(
            pl.format("Album {}", "album_key").first().alias("album_name"),
            pl.col("content_type").first(),
            pl.col("track_id").min().alias("sample_track_id"),
            pl.col("landing_file").first().alias("first_landing_file"),
        )
        .with_columns(pl.lit(ARTIST_KEY).alias("artist_key"))
    )
    return {
        DIM_ALBUM.name: DIM_ALBUM.conform(dim_album).collect(),
        DIM_TRACK.name: DIM_TRACK.conform(
            pl.concat([DIM_TRACK.empty().lazy(), dim_track], how="diagonal_relaxed")
        ).collect(),
        FACT_STREAMS.name: FACT_STREAMS.conform(fact).collect(),
    }


def one_album_per_track(
    catalog: dict[str, str], landing_file: str, *, first_album_key: int = 0, plays: int = 1
) -> pl.DataFrame:
    """`listening` rows for a fake catalog: each track on its own album, all in `landing_file`."""
    count = len(catalog)
    return pl.DataFrame(
        {
            "track_id": list(catalog),
            "album_key": range(first_album_key, first_album_key + count),
            "landing_file": [landing_file] * count,
            "plays": [plays] * count,
            "first_minute": range(count),
        },
        schema_overrides={"album_key": pl.Int64, "plays": pl.Int64, "first_minute": pl.Int64},
    )
