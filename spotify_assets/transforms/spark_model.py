"""The Spark twin of `model.py`: the same six dimensions and `fact_streams`, with the same keys.

Where Polars picks "the value on the member played first/last", ties (two members with the same
timestamp) are broken by the smaller / larger value, so the result never depends on row order.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..tables import STAR_SCHEMA
from .model import MONTH_NAMES, NATURAL_COLUMNS, PLATFORM_FAMILIES, WEEKDAY_NAMES
from .spark_clean import conform, normalize_name, require_utc_session, stable_key, with_nfc

KEYS = ["artist_key", "album_key", "track_key", "platform_key", "reason_key"]


def date_key(value: Column) -> Column:
    """yyyymmdd as an integer."""
    return F.year(value) * 10000 + F.month(value) * 100 + F.dayofmonth(value)


def members(clean: DataFrame) -> DataFrame:
    """`model.members`: one row per distinct combination of natural columns, with its keys."""
    grouped = clean.groupBy(*NATURAL_COLUMNS).agg(
        F.min("ts_utc").alias("first_ts"),
        F.max("ts_utc").alias("last_ts"),
        F.min_by("landing_file", F.struct("ts_utc", "landing_file")).alias("first_landing_file"),
    )
    for column in ("artist_name", "album_name", "platform"):
        grouped = with_nfc(grouped, column, f"_{column}_nfc")
    artist, album = normalize_name(F.col("_artist_name_nfc")), normalize_name(F.col("_album_name_nfc"))
    return grouped.withColumns({
        "artist_key": stable_key(artist),
        "album_key": stable_key(album, artist),
        "track_key": stable_key(F.col("content_type"), F.col("content_id")),
        "platform_key": stable_key(normalize_name(F.col("_platform_nfc"))),
        "reason_key": stable_key(F.col("reason_start"), F.col("reason_end")),
    }).drop("_artist_name_nfc", "_album_name_nfc", "_platform_nfc")


def fact_streams(clean: DataFrame, keyed: DataFrame, timezone: str) -> DataFrame:
    """One row per clean play with every key, the local date key and hour."""
    local = F.from_utc_timestamp("ts_utc", timezone)
    return clean.join(keyed.select(*NATURAL_COLUMNS, *KEYS), on=NATURAL_COLUMNS, how="left").withColumns({
        "date_key": date_key(local),
        "hour": F.hour(local),
    })


def dim_artist(keyed: DataFrame) -> DataFrame:
    return keyed.groupBy("artist_key").agg(F.min("artist_name").alias("artist_name"))


def dim_album(keyed: DataFrame) -> DataFrame:
    track_id = F.when(F.col("content_type") == "track", F.col("content_id"))
    return keyed.groupBy("album_key").agg(
        F.min("album_name").alias("album_name"),
        F.min("artist_key").alias("artist_key"),
        F.min("content_type").alias("content_type"),
        F.coalesce(F.min(track_id), F.min("content_id")).alias("sample_track_id"),
        F.min_by("first_landing_file", F.struct("first_ts", "first_landing_file"))
        .alias("first_landing_file"),
    )


def dim_track(keyed: DataFrame) -> DataFrame:
    latest = F.max_by(F.struct("track_name", "artist_key", "album_key"),
                      F.struct("last_ts", "track_name", "artist_key", "album_key"))
    return keyed.groupBy("track_key").agg(
        F.min("content_id").alias("track_id"),
        F.min(F.concat(F.lit("spotify:"), F.col("content_type"), F.lit(":"), F.col("content_id")))
        .alias("track_uri"),
        F.min("content_type").alias("content_type"),
        latest.alias("latest"),
    ).select("*", "latest.*").drop("latest")


def dim_platform(keyed: DataFrame) -> DataFrame:
    lowered = F.lower(F.col("platform"))
    family = F.lit("other")
    for name, pattern in reversed(PLATFORM_FAMILIES):
        family = F.when(lowered.rlike(pattern), F.lit(name)).otherwise(family)
    return keyed.groupBy("platform_key").agg(F.min("platform").alias("platform")).withColumn(
        "platform_family", family
    )


def dim_reason(keyed: DataFrame) -> DataFrame:
    return keyed.groupBy("reason_key").agg(
        F.min("reason_start").alias("reason_start"), F.min("reason_end").alias("reason_end")
    )


def _name_of(names: tuple[str, ...], number: Column) -> Column:
    return F.element_at(F.array(*map(F.lit, names)), number)


def dim_date(keyed: DataFrame, timezone: str) -> DataFrame:
    """Every day from the first to the last local listening day."""
    first = F.to_date(F.from_utc_timestamp(F.min("first_ts"), timezone))
    last = F.to_date(F.from_utc_timestamp(F.max("last_ts"), timezone))
    days = keyed.agg(F.sequence(first, last, F.expr("interval 1 day")).alias("days"))
    days = days.where("days is not null")
    date = F.col("date")
    weekday = F.weekday(date) + 1
    return days.select(F.explode("days").alias("date")).withColumns({
        "date_key": date_key(date),
        "year": F.year(date),
        "quarter": F.quarter(date),
        "month": F.month(date),
        "month_name": _name_of(MONTH_NAMES, F.month(date)),
        "day": F.dayofmonth(date),
        "weekday": weekday,
        "weekday_name": _name_of(WEEKDAY_NAMES, weekday),
        "iso_week": F.weekofyear(date),
        "is_weekend": weekday >= 6,
    })


def star_schema(clean: DataFrame, timezone: str) -> dict[str, DataFrame]:
    """Every star-schema table by name, conformed to its specification (`model.star_schema`).

    `clean` needs `landing_file`. The members are checkpointed: every table reads them.
    """
    require_utc_session(clean)
    keyed = members(clean).localCheckpoint()
    frames = {
        "dim_artist": dim_artist(keyed),
        "dim_album": dim_album(keyed),
        "dim_track": dim_track(keyed),
        "dim_date": dim_date(keyed, timezone),
        "dim_platform": dim_platform(keyed),
        "dim_reason": dim_reason(keyed),
        "fact_streams": fact_streams(clean, keyed, timezone),
    }
    return {spec.name: conform(frames[spec.name], spec) for spec in STAR_SCHEMA}
