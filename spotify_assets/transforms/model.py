"""The star schema from clean plays: six dimensions and `fact_streams`, with stable keys.

Keys are computed once per distinct natural key (not per play) and joined back, so the SHA-256
work grows with the catalogue, not with the history.
"""

from __future__ import annotations

import polars as pl

from ..tables import STAR_SCHEMA
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


def _keyed(plays: pl.DataFrame, key: str, natural: list[pl.Expr]) -> pl.DataFrame:
    """`plays` with column `key` = stable_key(natural), hashed once per distinct natural key."""
    names = [f"__natural_{index}" for index in range(len(natural))]
    with_natural = plays.with_columns(expr.alias(name) for expr, name in zip(natural, names))
    keys = with_natural.select(names).unique().with_columns(stable_key(*map(pl.col, names)).alias(key))
    return with_natural.join(keys, on=names, how="left", nulls_equal=True).drop(names)


def keyed_plays(clean: pl.LazyFrame, timezone: str) -> pl.DataFrame:
    """Clean plays with every surrogate key and the local date key and hour."""
    plays = clean.with_columns(
        pl.col("ts_utc").dt.convert_time_zone(timezone).dt.replace_time_zone(None).alias("ts_local"),
    ).with_columns(
        date_key(pl.col("ts_local")).alias("date_key"),
        pl.col("ts_local").dt.hour().cast(pl.Int16).alias("hour"),
        pl.col("ts_local").dt.date().alias("local_date"),
    ).collect()
    artist, album = normalize_name(pl.col("artist_name")), normalize_name(pl.col("album_name"))
    plays = _keyed(plays, "artist_key", [artist])
    plays = _keyed(plays, "album_key", [album, artist])
    plays = _keyed(plays, "track_key", [pl.col("content_type"), pl.col("content_id")])
    plays = _keyed(plays, "platform_key", [normalize_name(pl.col("platform"))])
    return _keyed(plays, "reason_key", [pl.col("reason_start"), pl.col("reason_end")])


def _latest(column: str) -> pl.Expr:
    """The value of `column` on the group's latest play."""
    return pl.col(column).get(pl.col("ts_utc").arg_max())


def dim_artist(plays: pl.DataFrame) -> pl.DataFrame:
    return plays.group_by("artist_key").agg(pl.col("artist_name").min())


def dim_album(plays: pl.DataFrame) -> pl.DataFrame:
    is_track = pl.col("content_type") == "track"
    return plays.group_by("album_key").agg(
        pl.col("album_name").min(),
        pl.col("artist_key").first(),
        pl.col("content_type").min(),
        pl.coalesce(pl.col("content_id").filter(is_track).min(), pl.col("content_id").min())
        .alias("sample_track_id"),
        pl.col("landing_file").get(pl.col("ts_utc").arg_min()).alias("first_landing_file"),
    )


def dim_track(plays: pl.DataFrame) -> pl.DataFrame:
    return plays.group_by("track_key").agg(
        pl.col("content_id").first().alias("track_id"),
        pl.format("spotify:{}:{}", pl.col("content_type"), pl.col("content_id")).first().alias("track_uri"),
        _latest("track_name"),
        pl.col("content_type").first(),
        _latest("artist_key"),
        _latest("album_key"),
    )


def dim_platform(plays: pl.DataFrame) -> pl.DataFrame:
    lowered = pl.col("platform").str.to_lowercase()
    family = pl.lit("other")
    for name, pattern in reversed(PLATFORM_FAMILIES):
        family = pl.when(lowered.str.contains(pattern)).then(pl.lit(name)).otherwise(family)
    return plays.group_by("platform_key").agg(pl.col("platform").min()).with_columns(
        family.alias("platform_family")
    )


def dim_reason(plays: pl.DataFrame) -> pl.DataFrame:
    return plays.group_by("reason_key").agg(pl.col("reason_start").first(), pl.col("reason_end").first())


def dim_date(plays: pl.DataFrame) -> pl.DataFrame:
    """Every day from the first to the last local listening day."""
    if plays.is_empty():
        return pl.DataFrame(schema={"date": pl.Date})
    days = pl.date_range(plays["local_date"].min(), plays["local_date"].max(), "1d", eager=True)
    date = pl.col("date")
    return pl.DataFrame({"date": days}).with_columns(
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


def star_schema(clean: pl.LazyFrame, timezone: str) -> dict[str, pl.DataFrame]:
    """Every star-schema table, keyed by table name, conformed to its specification."""
    plays = keyed_plays(clean, timezone)
    frames = {
        "dim_artist": dim_artist(plays),
        "dim_album": dim_album(plays),
        "dim_track": dim_track(plays),
        "dim_date": dim_date(plays),
        "dim_platform": dim_platform(plays),
        "dim_reason": dim_reason(plays),
        "fact_streams": plays,
    }
    return {
        spec.name: spec.conform(frames[spec.name]).collect().sort(spec.primary_key)
        for spec in STAR_SCHEMA
    }
