"""The Spark twin of `clean.py`: the same file-local verdicts, reasons, details, keys and types in PySpark.

Every rule is documented in `clean.py` and every constant and text comes from `rules.py`; this
module only restates the rules in Spark SQL functions, with the places where Spark and Polars
differ made explicit:

* Polars trims Unicode white space (`str::trim`); Spark's `trim` only strips spaces, so `(?U)\\s`.
* `ts` is read by `spark_timestamps.parse_timestamp`, the twin of `timestamps.parse_timestamp`.
* Spark has no Unicode normalization function: names are NFC-normalized through a small lookup of
  the distinct non-ASCII values that NFC changes, built on the driver (ASCII never changes).
* Spark's `to_json` escapes control characters with upper-case hex (`\\u001F`), Polars with
  lower-case; the raw text of a rejected JSON record is lower-cased there to match.
* Java's `$` also matches before a final line terminator; every value matched is trimmed first.

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
from .clean import COUNTS
from .keys import KEY_SEPARATOR
from .parse import BASIC_FIELDS, EXTENDED_FIELDS, MAVEN_COLUMNS, MAVEN_CSV
from .rules import (
    BASIC_JSON,
    BOOLEAN_FIELDS,
    LOCAL_FILE_URI,
    MIN_MS_PLAYED,
    MISSING,
    REJECT_DETAILS,
    SPOTIFY_URI,
    UNKNOWN,
    UNKNOWN_PLATFORM,
    UNKNOWN_REASON,
    template_parts,
)
from .spark_timestamps import parse_timestamp

# What the transforms need from a session; `date_format` and the timestamp parts depend on the zone.
SESSION_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
SPARK_TYPES = {
    "string": "string",
    "int64": "bigint",
    "int32": "int",
    "int16": "smallint",
    "float64": "double",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp",
}
assert set(SPARK_TYPES) == set(POLARS_TYPES)

WHITE_SPACE_AT_ENDS = r"(?U)^\s+|\s+$"
NON_ASCII = r"[^\x00-\x7F]"
# control characters whose `\\u00XX` escape has letters, e.g. \\u001F (Spark) vs \\u001f (Polars)
HEX_LETTER_CONTROLS = tuple(f"{code:02X}" for code in range(0x20) if f"{code:02X}" != f"{code:02x}")
POSITION = ["source_file", "source_line"]


@dataclass(frozen=True)
class SparkCleanResult:
    clean: DataFrame  # clean_plays rows without the partition column
    rejected: DataFrame  # rejected_plays rows without the partition column, by position
    counts: dict[str, int]  # clean.COUNTS


def require_utc_session(frame: DataFrame) -> None:
    zone = frame.sparkSession.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        raise ValueError(f"the Spark transforms need spark.sql.session.timeZone=UTC, not {zone!r}")


def conform(frame: DataFrame, spec: TableSpec, without: tuple[str, ...] = ()) -> DataFrame:
    """The frame with exactly this table's columns (except `without`), in order, cast to their Spark types."""
    return frame.select(
        *(
            F.col(column.name).cast(SPARK_TYPES[column.type])
            for column in spec.columns
            if column.name not in without
        )
    )


def stable_key(*parts: Column) -> Column:
    """The documented stable key (`keys.stable_key`): Spark's own xxhash64, seed 42."""
    return F.xxhash64(F.concat_ws(KEY_SEPARATOR, *(F.coalesce(part, F.lit("")) for part in parts)))


def with_nfc(frame: DataFrame, column: str, alias: str, among: Column | None = None) -> DataFrame:
    """`frame` plus `alias`, the Unicode NFC form of `column` (looked up only for the values it
    changes, among the rows `among` if given; other rows keep the value as it is)."""
    values = frame if among is None else frame.where(among)
    found = values.select(column).distinct().where(F.col(column).rlike(NON_ASCII)).collect()
    changed = [(row[0], unicodedata.normalize("NFC", row[0])) for row in found]
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
    """A raw field trimmed, with empty text as null (computed once in `classified_plays`)."""
    return F.col(f"_{name}")


def _trimmed(name: str) -> Column:
    value = F.regexp_replace(F.col(name), WHITE_SPACE_AT_ENDS, "")
    return F.when(value != "", value)


def _name(name: str) -> Column:
    """A display name as written (null when empty or only white space)."""
    return F.when(_text(name).isNotNull(), F.replace(F.col(name), F.lit("\r\n"), F.lit("\n")))


def _boolean(value: Column) -> Column:
    lowered = F.lower(value)
    return F.when(lowered == "true", True).when(lowered == "false", False)


def _quoted(value: Column) -> Column:
    return F.when(value.isNull(), F.lit(MISSING)).otherwise(F.concat(F.lit("'"), value, F.lit("'")))


def _bad_booleans() -> dict[str, Column]:
    return {field: _text(field).isNotNull() & F.col(f"_bool_{field}").isNull() for field in BOOLEAN_FIELDS}


def _render(template: str, values: dict[str, Column]) -> Column:
    pieces: list[Column] = []
    for literal, field, quoted in template_parts(template):
        if literal:
            pieces.append(F.lit(literal))
        if field:
            pieces.append(_quoted(values[field]) if quoted else values[field])
    return F.concat(*pieces)


def _reject_messages() -> dict[str, Column]:
    bad = _bad_booleans()

    def first_bad(values: dict[str, Column]) -> Column:
        return F.coalesce(*(F.when(bad[field], value) for field, value in values.items()))

    values = {
        "parse_error": F.col("parse_error"),
        "ts": _text("ts"),
        "ms_played": _text("ms_played"),
        "content_uri": F.col("_content_uri"),
        "boolean_field": first_bad({field: F.lit(field) for field in BOOLEAN_FIELDS}),
        "boolean_value": first_bad({field: _text(field) for field in BOOLEAN_FIELDS}),
    }
    return {code: _render(template, values) for code, template in REJECT_DETAILS.items()}


def classified_plays(raw: DataFrame) -> DataFrame:
    """`clean.classified_plays` in Spark: raw rows plus `ts_utc`, `ms_value`, `content_type`,
    `content_id` and `reject_reason`."""
    basic = F.col("source_format") == BASIC_JSON
    content_type = (
        F.when(
            basic,
            F.when(
                _text("episode_show_name").isNotNull() | _text("episode_name").isNotNull(), F.lit("episode")
            )
            .when(
                _text("audiobook_title").isNotNull() | _text("audiobook_chapter_title").isNotNull(),
                F.lit("audiobook"),
            )
            .otherwise(F.lit("track")),
        )
        .when(_text("spotify_track_uri").isNotNull(), F.lit("track"))
        .when(_text("spotify_episode_uri").isNotNull(), F.lit("episode"))
        .when(_text("_audiobook_uri").isNotNull(), F.lit("audiobook"))
    )
    uri = F.col("_content_uri")
    uri_matches = uri.rlike(SPOTIFY_URI)
    uri_kind = F.when(uri_matches, F.nullif(F.regexp_extract(uri, SPOTIFY_URI, 1), F.lit("")))
    uri_id = F.when(uri_matches, F.regexp_extract(uri, SPOTIFY_URI, 2))
    id_matches_type = (
        uri_kind.isNull()
        | (uri_kind == F.col("content_type"))
        | ((F.col("content_type") == "audiobook") & (uri_kind != "track") & (uri_kind != "episode"))
    )
    title = F.coalesce(_text("track_name"), _text("episode_name"), _text("audiobook_chapter_title"))
    local_file = F.coalesce(uri.startswith(LOCAL_FILE_URI), F.lit(False))
    verdicts = {  # in REJECT_REASONS order: the first that applies is the reason
        "wrong_column_count": F.col("parse_error").isNotNull(),
        "bad_timestamp": F.col("ts_utc").isNull(),
        "ms_played_not_integer": F.col("ms_value").isNull(),
        "ms_played_negative": F.col("ms_value") < 0,
        "missing_content_id": ~basic & F.col("content_type").isNull(),
        "missing_title": basic & title.isNull(),
        "malformed_content_id": ~basic & ~local_file & F.col("content_id").isNull(),
        "bad_boolean": reduce(operator.or_, _bad_booleans().values()),
    }
    reason = F.lit(None).cast("string")
    for code, is_bad in reversed(verdicts.items()):
        reason = F.when(is_bad, F.lit(code)).otherwise(reason)
    ms_text = _text("ms_played")
    return (
        raw.withColumns({f"_{name}": _trimmed(name) for name in RAW_TEXT_FIELDS})
        .withColumns(
            {
                "__audiobook_uri": F.coalesce(_text("audiobook_chapter_uri"), _text("audiobook_uri")),
                **{f"_bool_{field}": _boolean(_text(field)) for field in BOOLEAN_FIELDS},
                "ts_utc": parse_timestamp(_text("ts"), F.col("date_order")),
                "ms_value": F.when(ms_text.rlike(r"^-?[0-9]+$"), ms_text.try_cast("bigint")),
            }
        )
        .withColumn("content_type", content_type)
        .withColumn(
            "_content_uri",
            F.when(
                ~basic,
                F.coalesce(_text("spotify_track_uri"), _text("spotify_episode_uri"), _text("_audiobook_uri")),
            ),
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


def _json_object(fields: dict[str, str]) -> Column:
    """The columns as one JSON object (nulls written), with Polars' lower-case control escapes."""
    encoded = F.to_json(
        F.struct(*(F.col(column).alias(field) for column, field in fields.items())),
        {"ignoreNullFields": "false"},
    )
    for code in HEX_LETTER_CONTROLS:  # an escape is preceded by an even number of backslashes
        escape = rf"(?<!\\)((?:\\\\)*)\\u00{code}"
        encoded = F.regexp_replace(encoded, escape, rf"$1\\u00{code.lower()}")
    return encoded


def raw_text() -> Column:
    """`clean.raw_text`: kept text for structural errors, else the fields as a CSV line or JSON."""
    csv_line = F.concat_ws(",", *(_csv_field(F.col(column)) for column in MAVEN_COLUMNS))
    return F.coalesce(
        F.col("raw_text"),
        F.when(F.col("source_format") == MAVEN_CSV, csv_line)
        .when(F.col("source_format") == BASIC_JSON, _json_object(BASIC_FIELDS))
        .otherwise(_json_object(EXTENDED_FIELDS)),
    )


def _csv_field(value: Column) -> Column:
    quoted = F.concat(F.lit('"'), F.replace(value, F.lit('"'), F.lit('""')), F.lit('"'))
    return F.coalesce(F.when(value.rlike(r'[",\r\n]'), quoted).otherwise(value), F.lit(""))


def typed_columns() -> dict[str, Column]:
    """`clean.typed_columns`: clean_plays values typed from a classified row, nulls replaced."""
    names = {
        "track": F.coalesce(_name("track_name"), _name("episode_name"), _name("audiobook_chapter_title")),
        "artist": F.coalesce(_name("artist_name"), _name("episode_show_name"), _name("audiobook_title")),
        "album": F.coalesce(_name("album_name"), _name("episode_show_name"), _name("audiobook_title")),
    }
    return {
        "source_file": F.col("source_file"),
        "source_line": F.col("source_line"),
        "source_format": F.col("source_format"),
        "ts_utc": F.col("ts_utc"),
        "content_type": F.col("content_type"),
        "content_id": F.col("content_id"),
        **{f"{kind}_name": F.coalesce(names[kind], F.lit(UNKNOWN[kind])) for kind in names},
        "platform": F.coalesce(_text("platform"), F.lit(UNKNOWN_PLATFORM)),
        "reason_start": F.coalesce(F.lower(_text("reason_start")), F.lit(UNKNOWN_REASON)),
        "reason_end": F.coalesce(F.lower(_text("reason_end")), F.lit(UNKNOWN_REASON)),
        "ms_played": F.col("ms_value"),
        **{field: F.coalesce(F.col(f"_bool_{field}"), F.lit(False)) for field in BOOLEAN_FIELDS},
        "conn_country": _text("conn_country"),
    }


def with_play_key(typed: DataFrame) -> DataFrame:
    """`typed` (`typed_columns()` rows with `kept`) plus `clean.play_key` of its kept rows."""
    # without an id (basic account data, a local file): by names
    without_id = (F.col("source_format") == BASIC_JSON) | F.col("content_id").isNull()
    named = typed
    for column in ("artist_name", "track_name"):
        named = with_nfc(named, column, f"_{column}_nfc", among=F.col("kept") & without_id)
    end_us = F.unix_micros("ts_utc").cast("string")
    ms_played = F.col("ms_played").cast("string")
    with_id = stable_key(
        end_us,
        F.col("content_type"),
        F.col("content_id"),
        ms_played,
        F.lower(F.col("platform")),
        F.col("reason_start"),
        F.col("reason_end"),
        F.col("shuffle").cast("string"),
    )
    by_names = stable_key(
        F.lit(BASIC_JSON),
        end_us,
        normalize_name(F.col("_artist_name_nfc")),
        normalize_name(F.col("_track_name_nfc")),
        ms_played,
    )
    key = F.when(F.col("kept"), F.when(without_id, by_names).otherwise(with_id))
    return named.withColumn("play_key", key).drop("_artist_name_nfc", "_track_name_nfc")


def clean_plays(raw: DataFrame) -> SparkCleanResult:
    """`clean.clean_plays` in Spark: one file's clean plays, its rejects and its counts.

    The verdict of every row is computed once (a local checkpoint): the counts and the clean plays
    are read from it; `clean` is checkpointed too, so counting and collecting it do not recompute it.
    """
    require_utc_session(raw)
    classified = classified_plays(raw)
    valid = F.col("reject_reason").isNull()
    kept = valid & (F.col("ms_value") >= MIN_MS_PLAYED)
    typed = classified.select(
        *(expr.alias(name) for name, expr in typed_columns().items()),
        "reject_reason",
        kept.alias("kept"),
    ).localCheckpoint()
    verdicts = with_play_key(typed).localCheckpoint()
    rejected = (
        classified.where(~valid)
        .select(
            *POSITION,
            F.col("reject_reason").alias("reason"),
            reject_detail().alias("detail"),
            raw_text().alias("raw_text"),
        )
        .orderBy(*POSITION)
    )
    totals = verdicts.agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col("reject_reason").isNotNull()).alias("rejected"),
        F.count_if("kept").alias("candidates"),
    ).first()
    assert totals is not None  # a global aggregate has one row
    earliest = Window.partitionBy("play_key").orderBy(*POSITION)
    survivors = (
        verdicts.where("kept")
        .withColumn("_position", F.row_number().over(earliest))
        .where(F.col("_position") == 1)
    )
    clean = conform(survivors, CLEAN_PLAYS, without=(PARTITION_COLUMN,)).localCheckpoint()
    valid_count = clean.count()
    rows_read, rejected_count, candidates = totals["rows_read"], totals["rejected"], totals["candidates"]
    counts = {
        "rows_read": rows_read,
        "valid": valid_count,
        "filtered": rows_read - rejected_count - candidates,
        "duplicate_in_file": candidates - valid_count,
        "rejected": rejected_count,
    }
    assert tuple(counts) == COUNTS
    return SparkCleanResult(clean=clean, rejected=rejected, counts=counts)
