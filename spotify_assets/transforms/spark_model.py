"""The Spark twin of the model's per-play work (`model_update.PlayTransforms`): `model.file_members`
and `model.fact_rows` in PySpark, with the same keys.

Only the work that reads every play runs here. The cross-file verdicts (`verdicts.py`) and the
catalogue (`model.catalogue`: dimensions, name resolution, the keys a track member's plays count
under) read members and the few plays a change touches, so they run in Polars for every engine:
the dimensions are computed once, the same way, whichever engine reads the plays.

Both twins are deterministic by the same rules: members are aggregates (count, min, max) of a
group, never "the first row"; the fact's join to the catalogue's track keys is null-safe on both
sides (`nulls_equal` in Polars, `<=>` here), since plays without an id have a null content_id.
"""

from __future__ import annotations

import operator
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..tables import FACT_STREAMS, MODEL_MEMBERS, PARTITION_COLUMN
from .model import MEMBER_COLUMNS, MEMBER_GROUPS, TRACK_COLUMNS, TRACK_KEY_COLUMNS
from .spark_clean import conform, normalize_name, require_utc_session, stable_key, with_nfc


def date_key(value: Column) -> Column:
    """yyyymmdd as an integer."""
    return F.year(value) * 10000 + F.month(value) * 100 + F.dayofmonth(value)


def file_members(winners: DataFrame) -> DataFrame:
    """`model.file_members`: one file's counted plays grouped by each kind's columns, as one frame
    of MODEL_MEMBERS rows without landing_file."""
    queries = []
    for kind, columns in MEMBER_GROUPS.items():
        absent = [name for group in MEMBER_GROUPS.values() for name in group if name not in columns]
        queries.append(
            winners.groupBy(*columns)
            .agg(
                F.count(F.lit(1)).alias("plays"),
                F.min("ts_utc").alias("first_ts"),
                F.max("ts_utc").alias("last_ts"),
            )
            .withColumns(
                {
                    "kind": F.lit(kind),
                    "member_key": stable_key(F.lit(kind), *(F.col(name) for name in columns)),
                    **{name: F.lit(None).cast("string") for name in absent},
                }
            )
            .select(MEMBER_COLUMNS)
        )
    return conform(reduce(DataFrame.unionByName, queries), MODEL_MEMBERS, without=(PARTITION_COLUMN,))


def fact_rows(winners: DataFrame, track_keys: DataFrame, timezone: str) -> DataFrame:
    """`model.fact_rows`: fact_streams rows for counted plays (clean_plays rows with landing_file);
    track, artist and album keys from the catalogue's `track_keys`, platform and reason keys hashed."""
    require_utc_session(winners)
    plays, keys = winners.alias("play"), track_keys.alias("keys")
    same_track = reduce(
        operator.and_, (F.col(f"play.{name}").eqNullSafe(F.col(f"keys.{name}")) for name in TRACK_COLUMNS)
    )
    joined = plays.join(keys, same_track, how="left").select(
        "play.*", *(F.col(f"keys.{name}") for name in TRACK_KEY_COLUMNS)
    )
    joined = with_nfc(joined, "platform", "_platform_nfc")
    local = F.from_utc_timestamp("ts_utc", timezone)
    return conform(
        joined.withColumns(
            {
                "date_key": date_key(local),
                "hour": F.hour(local),
                "content_type": F.col("fact_content_type"),
                "platform_key": stable_key(normalize_name(F.col("_platform_nfc"))),
                "reason_key": stable_key(F.col("reason_start"), F.col("reason_end")),
            }
        ),
        FACT_STREAMS,
    )
