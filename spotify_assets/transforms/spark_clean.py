"""The Spark twin of `clean.py`: the same verdicts, reasons, details, keys and types in PySpark.

Every rule is documented in `clean.py`; this module only restates it in Spark SQL functions, with
the places where Spark and Polars differ made explicit:

* Polars trims Unicode white space (`str::trim`); Spark's `trim` only strips spaces, so `(?U)\\s`.
* Polars parses `ts` with chrono (`%Y-%m-%d %H:%M:%S%.f`: one- or two-digit fields, an optional
  `+` on the year, a leap second rolling into the next minute, fractions truncated to
  microseconds); Spark gets the same grammar as a regular expression and `try_make_timestamp`.
* Spark has no Unicode normalization function: names are NFC-normalized through a small lookup of
  the distinct non-ASCII values that NFC changes, built on the driver (ASCII never changes).
* Spark's `to_json` escapes control characters with upper-case hex (`\\u001F`), Polars with
  lower-case; the raw text of a rejected JSON record is lower-cased there to match.

The session must run in UTC (`spark.sql.session.timeZone`), see `SESSION_CONFIG`.
"""

from __future__ import annotations

import operator
import unicodedata
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ..tables import CLEAN_PLAYS, PARTITION_COLUMN, POLARS_TYPES, RAW_TEXT_FIELDS, TableSpec
from .clean import BOOLEAN_FIELDS, MIN_MS_PLAYED, SPOTIFY_URI, UNKNOWN
from .keys import KEY_SEPARATOR
from .parse import EXTENDED_FIELDS, MAVEN_COLUMNS, MAVEN_CSV

# What the transforms need from a session; `date_format` and the timestamp parts depend on the zone.
SESSION_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
SPARK_TYPES = {
    "string": "string", "int64": "bigint", "int32": "int", "int16": "smallint", "float64": "double",
    "bool": "boolean", "date": "date", "datetime": "timestamp",
}
assert set(SPARK_TYPES) == set(POLARS_TYPES)

WHITE_SPACE_AT_ENDS = r"(?U)^\s+|\s+$"
# chrono's reading of `%Y-%m-%d %H:%M:%S%.f` (after `T` -> space and without a trailing `Z`)
TIMESTAMP_PATTERN = r"^\+?(\d{1,4})-(\d{1,2})-(\d{1,2})\s*(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$"
NON_ASCII = r"[^\x00-\x7F]"
# control characters whose `\\u00XX` escape has letters, e.g. \\u001F (Spark) vs \\u001f (Polars)
HEX_LETTER_CONTROLS = tuple(f"{code:02X}" for code in range(0x20) if f"{code:02X}" != f"{code:02x}")
POSITION = ["source_file", "source_line"]


@dataclass(frozen=True)
class SparkCleanResult:
    clean: DataFrame
    rejected: DataFrame
    counts: dict[str, int]  # rows_read, clean, filtered, duplicate, rejected


def require_utc_session(frame: DataFrame) -> None:
    zone = frame.sparkSession.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        raise ValueError(f"the Spark transforms need spark.sql.session.timeZone=UTC, not {zone!r}")


def conform(frame: DataFrame, spec: TableSpec, without: tuple[str, ...] = ()) -> DataFrame:
    """The frame with exactly this table's columns (except `without`), in order, cast to their Spark types."""
    return frame.select(*(
        F.col(column.name).cast(SPARK_TYPES[column.type])
        for column in spec.columns if column.name not in without
    ))


def stable_key(*parts: Column) -> Column:
    """The documented stable key (`keys.stable_key`): Spark's own xxhash64, seed 42."""
    return F.xxhash64(F.concat_ws(KEY_SEPARATOR, *(F.coalesce(part, F.lit("")) for part in parts)))


def with_nfc(frame: DataFrame, column: str, alias: str) -> DataFrame:
    """`frame` plus `alias`, the Unicode NFC form of `column` (looked up only for values it changes)."""
    values = frame.select(column).distinct().where(F.col(column).rlike(NON_ASCII)).collect()
    changed = [(row[0], unicodedata.normalize("NFC", row[0])) for row in values]
    changed = [(value, normal) for value, normal in changed if value != normal]
    if not changed:
        return frame.withColumn(alias, F.col(column))
    lookup = frame.sparkSession.createDataFrame(changed, f"`{column}` string, `{alias}` string")
    return frame.join(F.broadcast(lookup), on=column, how="left").withColumn(
        alias, F.coalesce(F.col(alias), F.col(column))
    )


def normalize_name(column: Column) -> Column:
    """`keys.normalize_name` after NFC (see `with_nfc`): trimmed, lower case."""
    return F.lower(F.regexp_replace(column, WHITE_SPACE_AT_ENDS, ""))


def _text(name: str) -> Column:
    return F.col(f"_{name}")


def _trimmed(name: str) -> Column:
    value = F.regexp_replace(F.col(name), WHITE_SPACE_AT_ENDS, "")
    return F.when(value != "", value)


def _boolean(value: Column) -> Column:
    lowered = F.lower(value)
    return F.when(lowered == "true", True).when(lowered == "false", False)


def _quoted(value: Column) -> Column:
    return F.when(value.isNull(), F.lit("(missing)")).otherwise(F.concat(F.lit("'"), value, F.lit("'")))


def _timestamp(text: Column) -> Column:
    """chrono's `%Y-%m-%d %H:%M:%S%.f` as UTC, null when it does not parse (second 60 is the next
    minute's first, as in chrono)."""
    iso = F.regexp_replace(F.regexp_replace(text, "^([^T]*)T", "$1 "), "Z$", "")
    parts = [F.regexp_extract(iso, TIMESTAMP_PATTERN, group) for group in range(1, 8)]
    year, month, day, hour, minute, second = (part.try_cast("int") for part in parts[:6])
    micros = F.rpad(F.substring(parts[6], 1, 6), 6, "0").try_cast("bigint")
    minute_start = F.try_make_timestamp(year, month, day, hour, minute, F.lit(0), F.lit("UTC"))
    stamp = F.timestamp_micros(F.unix_micros(minute_start) + second * 1_000_000 + micros)
    return F.when(iso.rlike(TIMESTAMP_PATTERN) & (second <= 60), stamp)


def _bad_booleans() -> dict[str, Column]:
    return {field: _text(field).isNotNull() & F.col(f"_bool_{field}").isNull() for field in BOOLEAN_FIELDS}


def _reject_messages() -> dict[str, Column]:
    first_bad_boolean = F.coalesce(*(
        F.when(is_bad, F.concat(F.lit(f"{field} "), _quoted(_text(field)), F.lit(" is not true or false")))
        for field, is_bad in _bad_booleans().items()
    ))
    return {
        "wrong_column_count": F.col("parse_error"),
        "bad_timestamp": F.concat(F.lit("ts "), _quoted(_text("ts")), F.lit(" is not a timestamp")),
        "ms_played_not_integer": F.concat(
            F.lit("ms_played "), _quoted(_text("ms_played")), F.lit(" is not a whole number")),
        "ms_played_negative": F.concat(F.lit("ms_played "), _text("ms_played"), F.lit(" is negative")),
        "missing_content_id": F.lit("no spotify_track_uri, spotify_episode_uri or audiobook URI"),
        "malformed_content_id": F.concat(
            _quoted(F.col("_content_uri")), F.lit(" is not a 22-character Spotify id or URI")),
        "bad_boolean": first_bad_boolean,
    }


def classified_plays(raw: DataFrame) -> DataFrame:
    """`clean.classified_plays` in Spark: raw rows plus `ts_utc`, `ms_value`, `content_type`,
    `content_id` and `reject_reason`."""
    content_type = (
        F.when(_text("spotify_track_uri").isNotNull(), F.lit("track"))
        .when(_text("spotify_episode_uri").isNotNull(), F.lit("episode"))
        .when(_text("_audiobook_uri").isNotNull(), F.lit("audiobook"))
    )
    uri = F.col("_content_uri")
    uri_matches = uri.rlike(SPOTIFY_URI)
    uri_kind = F.when(uri_matches, F.nullif(F.regexp_extract(uri, SPOTIFY_URI, 1), F.lit("")))
    uri_id = F.when(uri_matches, F.regexp_extract(uri, SPOTIFY_URI, 2))
    id_matches_type = uri_kind.isNull() | (uri_kind == F.col("content_type")) | (
        (F.col("content_type") == "audiobook") & (uri_kind != "track") & (uri_kind != "episode")
    )
    verdicts = {  # in REJECT_REASONS order: the first that applies is the reason
        "wrong_column_count": F.col("parse_error").isNotNull(),
        "bad_timestamp": F.col("ts_utc").isNull(),
        "ms_played_not_integer": F.col("ms_value").isNull(),
        "ms_played_negative": F.col("ms_value") < 0,
        "missing_content_id": F.col("content_type").isNull(),
        "malformed_content_id": F.col("content_id").isNull(),
        "bad_boolean": reduce(operator.or_, _bad_booleans().values()),
    }
    reason = F.lit(None).cast("string")
    for code, is_bad in reversed(verdicts.items()):
        reason = F.when(is_bad, F.lit(code)).otherwise(reason)
    ms_text = _text("ms_played")
    return (
        raw.withColumns({f"_{name}": _trimmed(name) for name in RAW_TEXT_FIELDS})
        .withColumns({
            "__audiobook_uri": F.coalesce(_text("audiobook_chapter_uri"), _text("audiobook_uri")),
            **{f"_bool_{field}": _boolean(_text(field)) for field in BOOLEAN_FIELDS},
            "ts_utc": _timestamp(_text("ts")),
            "ms_value": F.when(ms_text.rlike(r"^-?[0-9]+$"), ms_text.try_cast("bigint")),
        })
        .withColumn("content_type", content_type)
        .withColumn(
            "_content_uri",
            F.coalesce(_text("spotify_track_uri"), _text("spotify_episode_uri"), _text("_audiobook_uri")),
        )
        .withColumn("content_id", F.when(id_matches_type, uri_id))
        .withColumn("reject_reason", reason)
    )


def reject_detail() -> Column:
    """`clean.reject_detail`: the file, the line and the bad value."""
    detail = F.lit(None).cast("string")
    for code, message in reversed(_reject_messages().items()):
        detail = F.when(F.col("reject_reason") == code, message).otherwise(detail)
    where = [F.col("source_file"), F.lit(" line "), F.col("source_line").cast("string"), F.lit(": ")]
    return F.concat(*where, detail)


def raw_text() -> Column:
    """`clean.raw_text`: kept text for structural errors, else the fields as a CSV line or JSON."""
    csv_line = F.concat_ws(",", *(_csv_field(F.col(column)) for column in MAVEN_COLUMNS))
    json_object = F.to_json(
        F.struct(*(F.col(column).alias(field) for column, field in EXTENDED_FIELDS.items())),
        {"ignoreNullFields": "false"},
    )
    for code in HEX_LETTER_CONTROLS:  # an escape is preceded by an even number of backslashes
        escape = rf"(?<!\\)((?:\\\\)*)\\u00{code}"
        json_object = F.regexp_replace(json_object, escape, rf"$1\\u00{code.lower()}")
    return F.coalesce(
        F.col("raw_text"),
        F.when(F.col("source_format") == MAVEN_CSV, csv_line).otherwise(json_object),
    )


def _csv_field(value: Column) -> Column:
    quoted = F.concat(F.lit('"'), F.replace(value, F.lit('"'), F.lit('""')), F.lit('"'))
    return F.coalesce(F.when(value.rlike(r'[",\r\n]'), quoted).otherwise(value), F.lit(""))


def _name(value: Column) -> Column:
    return F.replace(value, F.lit("\r\n"), F.lit("\n"))


def typed_columns() -> dict[str, Column]:
    """`clean.typed_columns`: clean_plays values typed from a classified row, nulls replaced."""
    names = {
        "track": F.coalesce(_text("track_name"), _text("episode_name"), _text("audiobook_chapter_title")),
        "artist": F.coalesce(_text("artist_name"), _text("episode_show_name"), _text("audiobook_title")),
        "album": F.coalesce(_text("album_name"), _text("episode_show_name"), _text("audiobook_title")),
    }
    return {
        "source_file": F.col("source_file"),
        "source_line": F.col("source_line"),
        "ts_utc": F.col("ts_utc"),
        "content_type": F.col("content_type"),
        "content_id": F.col("content_id"),
        **{f"{kind}_name": F.coalesce(_name(names[kind]), F.lit(UNKNOWN[kind])) for kind in names},
        "platform": F.coalesce(_text("platform"), F.lit("unknown")),
        "reason_start": F.coalesce(F.lower(_text("reason_start")), F.lit("unknown")),
        "reason_end": F.coalesce(F.lower(_text("reason_end")), F.lit("unknown")),
        "ms_played": F.col("ms_value"),
        **{field: F.coalesce(F.col(f"_bool_{field}"), F.lit(False)) for field in BOOLEAN_FIELDS},
        "conn_country": _text("conn_country"),
    }


def play_key() -> Column:
    """`clean.play_key` of a typed row."""
    return stable_key(
        F.unix_micros("ts_utc").cast("string"),
        F.col("content_type"),
        F.col("content_id"),
        F.col("ms_played").cast("string"),
        F.lower(F.col("platform")),
        F.col("reason_start"),
        F.col("reason_end"),
        F.col("shuffle").cast("string"),
        F.col("skipped").cast("string"),
    )


def clean_plays(raw: DataFrame, kept_elsewhere: DataFrame) -> SparkCleanResult:
    """`clean.clean_plays` in Spark: clean plays, rejects and the per-file accounting.

    `kept_elsewhere` holds the `play_key` of plays already kept from other landing files. The
    verdict of every row is computed once (a local checkpoint): the counts and the clean plays are
    read from it; `clean` is checkpointed too, so counting and collecting it do not recompute it.
    """
    require_utc_session(raw)
    classified = classified_plays(raw)
    valid = F.col("reject_reason").isNull()
    kept = valid & (F.col("ms_value") >= MIN_MS_PLAYED)
    verdicts = classified.select(
        *(expr.alias(name) for name, expr in typed_columns().items()), "reject_reason", kept.alias("kept"),
    ).withColumn("play_key", F.when(F.col("kept"), play_key())).localCheckpoint()
    rejected = classified.where(~valid).select(
        *POSITION, F.col("reject_reason").alias("reason"), reject_detail().alias("detail"),
        raw_text().alias("raw_text"),
    ).orderBy(*POSITION)
    totals = verdicts.agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col("reject_reason").isNotNull()).alias("rejected"),
        F.count_if("kept").alias("candidates"),
    ).first()
    earliest = Window.partitionBy("play_key").orderBy(*POSITION)
    survivors = (
        verdicts.where("kept")
        .withColumn("_position", F.row_number().over(earliest))
        .where(F.col("_position") == 1)
        .join(kept_elsewhere.select("play_key").distinct(), on="play_key", how="left_anti")
    )
    clean = conform(survivors, CLEAN_PLAYS, without=(PARTITION_COLUMN,)).localCheckpoint()
    clean_count = clean.count()
    counts = {
        "rows_read": totals["rows_read"],
        "clean": clean_count,
        "filtered": totals["rows_read"] - totals["rejected"] - totals["candidates"],
        "duplicate": totals["candidates"] - clean_count,
        "rejected": totals["rejected"],
    }
    return SparkCleanResult(clean=clean, rejected=rejected, counts=counts)
