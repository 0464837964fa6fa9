"""Cleaning `raw_plays`: every row ends up clean, filtered, duplicate or rejected (with a reason).

Order of the verdicts: a row is rejected if any field is unusable (first reason in
`tables.REJECT_REASONS` order); a valid row under 500 ms is filtered; a valid row equal to a play
already kept (earlier in the file, or in another file's clean plays) is a duplicate; the rest are clean.

Two rows are the same play when they agree on when it ended, what played, for how long, on which
platform, why it started and ended, shuffle and skipped (`play_key`): names are not compared, as a
CSV and a JSON export of the same play name it the same way through the id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..tables import CLEAN_PLAYS, RAW_TEXT_FIELDS, REJECTED_PLAYS
from .parse import EXTENDED_FIELDS, MAVEN_COLUMNS, MAVEN_CSV
from .keys import stable_key

MIN_MS_PLAYED = 500
# Maven `2019-09-20 14:40:30`, Extended `2019-09-20T14:40:30Z`, with or without fractions of a second
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
BOOLEAN_FIELDS = ("shuffle", "skipped", "offline", "incognito_mode")
SPOTIFY_URI = r"^(?:spotify:([a-z]+):)?([0-9A-Za-z]{22})$"
UNKNOWN = {"track": "(unknown title)", "artist": "(unknown artist)", "album": "(unknown album)"}


@dataclass(frozen=True)
class CleanResult:
    clean: pl.LazyFrame
    rejected: pl.DataFrame
    counts: dict[str, int]  # rows_read, clean, filtered, duplicate, rejected


def _text(name: str) -> pl.Expr:
    """A raw field trimmed, with empty text as null (computed once in `classified_plays`)."""
    return pl.col(f"_{name}")


def _trimmed(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return pl.when(value != "").then(value).alias(f"_{name}")


def _boolean(value: pl.Expr) -> pl.Expr:
    lowered = value.str.to_lowercase()
    return pl.when(lowered == "true").then(True).when(lowered == "false").then(False)


def _name(value: pl.Expr) -> pl.Expr:
    return value.str.replace_all("\r\n", "\n", literal=True)


def _bad_booleans() -> dict[str, pl.Expr]:
    return {field: _text(field).is_not_null() & pl.col(f"_bool_{field}").is_null() for field in BOOLEAN_FIELDS}


def _reject_messages() -> dict[str, pl.Expr]:
    first_bad_boolean = pl.coalesce(
        pl.when(is_bad).then(pl.format(f"{field} {{}} is not true or false", _quoted(_text(field))))
        for field, is_bad in _bad_booleans().items()
    )
    return {
        "wrong_column_count": pl.col("parse_error"),
        "bad_timestamp": pl.format("ts {} is not a timestamp", _quoted(_text("ts"))),
        "ms_played_not_integer": pl.format("ms_played {} is not a whole number", _quoted(_text("ms_played"))),
        "ms_played_negative": pl.format("ms_played {} is negative", _text("ms_played")),
        "missing_content_id": pl.lit("no spotify_track_uri, spotify_episode_uri or audiobook URI"),
        "malformed_content_id": pl.format("{} is not a 22-character Spotify id or URI", _quoted(pl.col("_content_uri"))),
        "bad_boolean": first_bad_boolean,
    }


def classified_plays(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Raw rows plus parsed `ts_utc`, `ms_value`, `content_type`, `content_id` and, for an
    unusable row, `reject_reason`; the raw text columns are left as read."""
    content_type = (
        pl.when(_text("spotify_track_uri").is_not_null()).then(pl.lit("track"))
        .when(_text("spotify_episode_uri").is_not_null()).then(pl.lit("episode"))
        .when(_text("_audiobook_uri").is_not_null()).then(pl.lit("audiobook"))
    )
    uri_kind = pl.col("_uri_parts").struct.field("kind")
    id_matches_type = uri_kind.is_null() | (uri_kind == pl.col("content_type")) | (
        (pl.col("content_type") == "audiobook") & (uri_kind != "track") & (uri_kind != "episode")
    )
    verdicts = {  # in REJECT_REASONS order: the first that applies is the reason
        "wrong_column_count": pl.col("parse_error").is_not_null(),
        "bad_timestamp": pl.col("ts_utc").is_null(),
        "ms_played_not_integer": pl.col("ms_value").is_null(),
        "ms_played_negative": pl.col("ms_value") < 0,
        "missing_content_id": pl.col("content_type").is_null(),
        "malformed_content_id": pl.col("content_id").is_null(),
        "bad_boolean": pl.any_horizontal(_bad_booleans().values()),
    }
    reason = pl.lit(None, pl.String)
    for code, is_bad in reversed(verdicts.items()):
        reason = pl.when(is_bad).then(pl.lit(code)).otherwise(reason)
    ms_text = _text("ms_played")
    return (
        raw.with_columns(_trimmed(name) for name in RAW_TEXT_FIELDS)
        .with_columns(
            pl.coalesce(_text("audiobook_chapter_uri"), _text("audiobook_uri")).alias("__audiobook_uri"),
            *(_boolean(_text(field)).alias(f"_bool_{field}") for field in BOOLEAN_FIELDS),
            _text("ts").str.replace("T", " ", literal=True).str.strip_suffix("Z")
            .str.to_datetime(TIMESTAMP_FORMAT, strict=False, time_unit="us")
            .dt.replace_time_zone("UTC").alias("ts_utc"),
            pl.when(ms_text.str.contains(r"^-?\d+$")).then(ms_text.cast(pl.Int64, strict=False)).alias("ms_value"),
        )
        .with_columns(content_type.alias("content_type"))
        .with_columns(
            pl.coalesce(_text("spotify_track_uri"), _text("spotify_episode_uri"), _text("_audiobook_uri"))
            .alias("_content_uri"),
        )
        .with_columns(pl.col("_content_uri").str.extract_groups(SPOTIFY_URI).struct.rename_fields(["kind", "id"])
                      .alias("_uri_parts"))
        .with_columns(
            pl.when(id_matches_type).then(pl.col("_uri_parts").struct.field("id")).alias("content_id"),
        )
        .with_columns(reason.alias("reject_reason"))
    )


def reject_detail() -> pl.Expr:
    """A readable sentence naming the file, the line and the bad value (for rejected rows)."""
    where = pl.format("{} line {}: ", pl.col("source_file"), pl.col("source_line"))
    detail = pl.lit(None, pl.String)
    for code, message in reversed(_reject_messages().items()):
        detail = pl.when(pl.col("reject_reason") == code).then(message).otherwise(detail)
    return pl.concat_str(where, detail)


def typed_columns() -> dict[str, pl.Expr]:
    """clean_plays values typed from a classified row, nulls replaced (meaningful for valid rows)."""
    names = {
        "track": pl.coalesce(_text("track_name"), _text("episode_name"), _text("audiobook_chapter_title")),
        "artist": pl.coalesce(_text("artist_name"), _text("episode_show_name"), _text("audiobook_title")),
        "album": pl.coalesce(_text("album_name"), _text("episode_show_name"), _text("audiobook_title")),
    }
    return {
        "source_file": pl.col("source_file"),
        "source_line": pl.col("source_line"),
        "ts_utc": pl.col("ts_utc"),
        "content_type": pl.col("content_type"),
        "content_id": pl.col("content_id"),
        **{f"{kind}_name": _name(names[kind]).fill_null(UNKNOWN[kind]) for kind in names},
        "platform": _text("platform").fill_null("unknown"),
        "reason_start": _text("reason_start").str.to_lowercase().fill_null("unknown"),
        "reason_end": _text("reason_end").str.to_lowercase().fill_null("unknown"),
        "ms_played": pl.col("ms_value"),
        **{field: pl.col(f"_bool_{field}").fill_null(False) for field in BOOLEAN_FIELDS},
        "conn_country": _text("conn_country"),
    }


def _quoted(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_null()).then(pl.lit("(missing)")).otherwise(pl.format("'{}'", value))


def play_key() -> pl.Expr:
    """Stable identity of a play, from a classified row: stable_key of the end time in epoch
    microseconds, content type and id, ms_played, lower-cased platform, the two reasons, shuffle
    and skipped (booleans as true/false). Cheap parts only: it is computed for every row."""
    typed = typed_columns()
    return stable_key(
        typed["ts_utc"].dt.epoch("us").cast(pl.String),
        typed["content_type"],
        typed["content_id"],
        typed["ms_played"].cast(pl.String),
        typed["platform"].str.to_lowercase(),
        typed["reason_start"],
        typed["reason_end"],
        typed["shuffle"].cast(pl.String),
        typed["skipped"].cast(pl.String),
    )


def raw_text() -> pl.Expr:
    """The record as read: kept text for structural errors, else the fields as a CSV line or JSON."""
    csv_line = pl.concat_str(
        [_csv_field(pl.col(column)) for column in MAVEN_COLUMNS], separator=","
    )
    json_object = pl.struct(
        [pl.col(column).alias(field) for column, field in EXTENDED_FIELDS.items()]
    ).struct.json_encode()
    return pl.coalesce(
        pl.col("raw_text"),
        pl.when(pl.col("source_format") == MAVEN_CSV).then(csv_line).otherwise(json_object),
    )


def _csv_field(value: pl.Expr) -> pl.Expr:
    needs_quotes = value.str.contains(r'[",\r\n]')
    quoted = pl.format('"{}"', value.str.replace_all('"', '""', literal=True))
    return pl.when(needs_quotes).then(quoted).otherwise(value).fill_null("")


def clean_plays(raw: pl.LazyFrame, kept_elsewhere: pl.LazyFrame, scratch: Path) -> CleanResult:
    """Split raw rows into clean plays, rejects and the per-file accounting.

    `kept_elsewhere` holds the `play_key` of plays already kept from other landing files.
    The raw rows are classified and typed once, streamed into a Parquet file in the folder
    `scratch`; the verdicts are decided on its narrow columns, and `clean` is a lazy scan of it
    (so `scratch` must outlive `clean`) that streams into the lake without sitting in memory.
    """
    valid = pl.col("reject_reason").is_null()
    kept = valid & (pl.col("ms_value") >= MIN_MS_PLAYED)
    position = ["source_file", "source_line"]
    typed_path = scratch / f"typed-{uuid.uuid4()}.parquet"
    classified_plays(raw).select(
        *(expr.alias(name) for name, expr in typed_columns().items()),
        "reject_reason",
        kept.alias("kept"),
        pl.when(kept).then(play_key()).alias("play_key"),
    ).sink_parquet(typed_path)
    typed = pl.scan_parquet(typed_path).with_row_index("row")
    verdicts = typed.select("row", "reject_reason", "kept", "play_key").collect()

    def positions(rows: pl.Series) -> pl.DataFrame:
        """Where the given scratch rows came from (looked up only for the few that need it)."""
        return typed.filter(pl.col("row").is_in(rows.implode())).select("row", *position).collect()

    rejected = _rejected_rows(raw, positions(verdicts.filter(~valid)["row"]).select(position))
    candidates = verdicts.filter("kept").select("row", "play_key")
    rows_read = verdicts.height
    del verdicts
    repeated = candidates.filter(pl.col("play_key").is_duplicated())
    # duplicates are rare: only their rows are sorted by position to keep the earliest of each
    first_of_repeated = (
        repeated.join(positions(repeated["row"]), on="row").sort(position)
        .filter(pl.col("play_key").is_first_distinct()).select("row", "play_key")
    )
    survivors = pl.concat([candidates.join(repeated, on="row", how="anti"), first_of_repeated])
    elsewhere = kept_elsewhere.select("play_key").unique().collect()
    if not elsewhere.is_empty():
        survivors = survivors.join(elsewhere, on="play_key", how="anti")
    clean = typed.join(survivors.select("row").lazy(), on="row", how="semi").select(
        name for name in CLEAN_PLAYS.column_names if name != "landing_file"
    )
    counts = {
        "rows_read": rows_read,
        "clean": survivors.height,
        "filtered": rows_read - rejected.height - candidates.height,
        "duplicate": candidates.height - survivors.height,
        "rejected": rejected.height,
    }
    return CleanResult(clean=clean, rejected=rejected, counts=counts)


def _rejected_rows(raw: pl.LazyFrame, positions: pl.DataFrame) -> pl.DataFrame:
    """rejected_plays rows for the raw rows at `positions` (usually few: only they are re-read)."""
    columns = ["source_file", "source_line", "reason", "detail", "raw_text"]
    if positions.is_empty():
        return pl.DataFrame(schema={name: REJECTED_PLAYS.polars_schema()[name] for name in columns})
    return (
        classified_plays(raw.join(positions.lazy(), on=list(positions.columns), how="semi"))
        .select(
            "source_file", "source_line", pl.col("reject_reason").alias("reason"),
            reject_detail().alias("detail"), raw_text().alias("raw_text"),
        )
        .sort("source_file", "source_line")
        .collect()
    )
