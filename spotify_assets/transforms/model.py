"""The star schema from clean plays: six dimensions and `fact_streams`, with stable keys.

The dimensions come from `members`, one row per distinct combination of natural columns (a few
thousand for a person's history): keys are hashed there, once, and joined back to the plays, so
the SHA-256 work and the dimension builds grow with the catalogue, not with the history.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import polars as pl

from ..tables import FACT_STREAMS, STAR_SCHEMA
from .keys import normalize_name, stable_key

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PLATFORM_FAMILIES = (  # first match wins, on the lower-cased platform string
    ("cast", r"cast|chromecast|sonos|speaker|tv|playstation|xbox"),
    ("android", r"android"),
    ("ios", r"ios|iphone|ipad"),
    ("windows", r"windows"),
    ("macos", r"mac|os x|osx"),
    ("linux", r"linux"),
    ("web", r"web|browser"),
)


def date_key(value: pl.Expr) -> pl.Expr:
    """yyyymmdd as an integer."""
    return (
        value.dt.year().cast(pl.Int32) * 10000 + value.dt.month().cast(pl.Int32) * 100
        + value.dt.day().cast(pl.Int32)
    )


# What a dimension member is made of; one row per distinct combination is all the dims need.
NATURAL_COLUMNS = ["content_type", "content_id", "track_name", "artist_name", "album_name", "platform",
                   "reason_start", "reason_end"]


def members(clean: pl.LazyFrame) -> pl.DataFrame:
    """One row per distinct combination of natural columns, with its surrogate keys and when it was
    first and last played (and in which landing file first)."""
    artist, album = normalize_name(pl.col("artist_name")), normalize_name(pl.col("album_name"))
    per_file = (
        clean.group_by([*NATURAL_COLUMNS, "landing_file"])
        .agg(pl.col("ts_utc").min().alias("first_ts"), pl.col("ts_utc").max().alias("last_ts"))
        .collect(engine="streaming")
    )
    return (
        per_file.sort("first_ts", "landing_file")
        .group_by(NATURAL_COLUMNS, maintain_order=True)
        .agg(
            pl.col("first_ts").first(),
            pl.col("last_ts").max(),
            pl.col("landing_file").first().alias("first_landing_file"),
        )
        .with_columns(
            stable_key(artist).alias("artist_key"),
            stable_key(album, artist).alias("album_key"),
            stable_key(pl.col("content_type"), pl.col("content_id")).alias("track_key"),
            stable_key(normalize_name(pl.col("platform"))).alias("platform_key"),
            stable_key(pl.col("reason_start"), pl.col("reason_end")).alias("reason_key"),
        )
    )


def fact_streams(clean: pl.LazyFrame, keyed_members: pl.DataFrame, timezone: str) -> pl.LazyFrame:
    """One row per clean play with every key, lazily (it streams into the lake)."""
    ts_local = pl.col("ts_utc").dt.convert_time_zone(timezone)
    keys = keyed_members.select(*NATURAL_COLUMNS, "artist_key", "album_key", "track_key", "platform_key", "reason_key")
    return clean.join(keys.lazy(), on=NATURAL_COLUMNS, how="left", nulls_equal=True).with_columns(
        date_key(ts_local).alias("date_key"),
        ts_local.dt.hour().cast(pl.Int16).alias("hour"),
    )


# Ties between members played at the same moment are broken by value, as Spark's max_by/min_by
# over a struct do, so both engines pick the same row.
LATEST_ORDER = ["last_ts", "track_name", "artist_key", "album_key"]
EARLIEST_ORDER = ["first_ts", "first_landing_file"]


def dim_artist(keyed: pl.DataFrame) -> pl.DataFrame:
    return keyed.group_by("artist_key").agg(pl.col("artist_name").min())


def dim_album(keyed: pl.DataFrame) -> pl.DataFrame:
    is_track = pl.col("content_type") == "track"
    return keyed.sort(EARLIEST_ORDER).group_by("album_key", maintain_order=True).agg(
        pl.col("album_name").min(),
        pl.col("artist_key").first(),
        pl.col("content_type").min(),
        pl.coalesce(pl.col("content_id").filter(is_track).min(), pl.col("content_id").min())
        .alias("sample_track_id"),
        pl.col("first_landing_file").first(),
    )


def dim_track(keyed: pl.DataFrame) -> pl.DataFrame:
    return keyed.sort(LATEST_ORDER).group_by("track_key", maintain_order=True).agg(
        pl.col("content_id").first().alias("track_id"),
        pl.format("spotify:{}:{}", pl.col("content_type"), pl.col("content_id")).first().alias("track_uri"),
        pl.col("track_name").last(),
        pl.col("content_type").first(),
        pl.col("artist_key").last(),
        pl.col("album_key").last(),
    )


def dim_platform(keyed: pl.DataFrame) -> pl.DataFrame:
    lowered = pl.col("platform").str.to_lowercase()
    family = pl.lit("other")
    for name, pattern in reversed(PLATFORM_FAMILIES):
        family = pl.when(lowered.str.contains(pattern)).then(pl.lit(name)).otherwise(family)
    return keyed.group_by("platform_key").agg(pl.col("platform").min()).with_columns(
        family.alias("platform_family")
    )


def dim_reason(keyed: pl.DataFrame) -> pl.DataFrame:
    return keyed.group_by("reason_key").agg(pl.col("reason_start").first(), pl.col("reason_end").first())


def dim_date(keyed: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Every day from the first to the last local listening day."""
    if keyed.is_empty():
        return pl.DataFrame(schema={"date": pl.Date})
    first = keyed["first_ts"].min().astimezone(ZoneInfo(timezone)).date()
    last = keyed["last_ts"].max().astimezone(ZoneInfo(timezone)).date()
    date = pl.col("date")
    return pl.DataFrame({"date": pl.date_range(first, last, "1d", eager=True)}).with_columns(
        date_key(date).alias("date_key"),
        date.dt.year().alias("year"),
        date.dt.quarter().alias("quarter"),
        date.dt.month().alias("month"),
        date.dt.month().replace_strict(range(1, 13), MONTH_NAMES, return_dtype=pl.String).alias("month_name"),
        date.dt.day().alias("day"),
        date.dt.weekday().alias("weekday"),
        date.dt.weekday().replace_strict(range(1, 8), WEEKDAY_NAMES, return_dtype=pl.String)
        .alias("weekday_name"),
        date.dt.week().alias("iso_week"),
        (date.dt.weekday() >= 6).alias("is_weekend"),
    )


def star_schema(clean: pl.LazyFrame, timezone: str) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Every star-schema table by name, conformed to its specification: the dimensions as sorted
    DataFrames, `fact_streams` as a LazyFrame over `clean` (it is as large as the history)."""
    keyed = members(clean)
    frames = {
        "dim_artist": dim_artist(keyed),
        "dim_album": dim_album(keyed),
        "dim_track": dim_track(keyed),
        "dim_date": dim_date(keyed, timezone),
        "dim_platform": dim_platform(keyed),
        "dim_reason": dim_reason(keyed),
    }
    tables = {
        spec.name: spec.conform(frames[spec.name]).collect().sort(spec.primary_key)
        for spec in STAR_SCHEMA if spec.name in frames
    }
    tables["fact_streams"] = FACT_STREAMS.conform(fact_streams(clean, keyed, timezone))
    return tables
