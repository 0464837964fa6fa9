"""Cleaning one landing file's `raw_plays`: every row ends up valid, filtered, duplicate or rejected.

The verdicts are file-local (a pure function of the file), so two files can be cleaned at once and
re-cleaning a file changes nothing. Copies of a play in other files are decided later, by the
model (`transforms/identity.py`), where a race cannot reach them.

Order of the verdicts (rules and texts in `rules.py`): a row is rejected if any field is unusable
(first reason in `tables.REJECT_REASONS` order); a valid row under 500 ms is filtered; a valid row
equal to a play earlier in the same file is a duplicate; the rest are the file's clean plays.

Two rows are the same play when they have the same `play_key`:
- with a Spotify id (Extended history, Maven CSV): end time, content type and id, ms_played,
  platform, start/end reason and shuffle. Names are not compared, as a CSV and a JSON export of one
  play name it the same way through the id; neither is `skipped`, which an Extended export may
  leave null where the CSV copy of the play says TRUE;
- without an id (basic account data at minute precision; an Extended play of a local file,
  `spotify:local:...`): end time, normalized artist and title, ms_played.

Display names are kept as the export wrote them (leading and trailing white space included; a CSV
line break inside a quoted name is read as `\\n`); only keys normalize them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..tables import CLEAN_PLAYS, PARTITION_COLUMN, RAW_TEXT_FIELDS, REJECTED_PLAYS
from .keys import normalize_name, stable_key
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
from .timestamps import parse_timestamp

CLEAN_COLUMNS = [name for name in CLEAN_PLAYS.column_names if name != PARTITION_COLUMN]
COUNTS = ("rows_read", "valid", "filtered", "duplicate_in_file", "rejected")


@dataclass(frozen=True)
class CleanResult:
    clean: pl.LazyFrame
    rejected: pl.DataFrame
    counts: dict[str, int]  # COUNTS: rows_read = valid + filtered + duplicate_in_file + rejected


def _text(name: str) -> pl.Expr:
    """A raw field trimmed, with empty text as null (computed once in `classified_plays`)."""
    return pl.col(f"_{name}")


def _trimmed(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return pl.when(value != "").then(value).alias(f"_{name}")


def _name(name: str) -> pl.Expr:
    """A display name as written (null when empty or only white space)."""
    return pl.when(_text(name).is_not_null()).then(pl.col(name).str.replace_all("\r\n", "\n", literal=True))


def _boolean(value: pl.Expr) -> pl.Expr:
    lowered = value.str.to_lowercase()
    return pl.when(lowered == "true").then(True).when(lowered == "false").then(False)


def _quoted(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_null()).then(pl.lit(MISSING)).otherwise(pl.format("'{}'", value))


def _bad_booleans() -> dict[str, pl.Expr]:
    return {
        field: _text(field).is_not_null() & pl.col(f"_bool_{field}").is_null() for field in BOOLEAN_FIELDS
    }


def _render(template: str, values: dict[str, pl.Expr]) -> pl.Expr:
    pieces: list[pl.Expr] = []
    for literal, field, quoted in template_parts(template):
        if literal:
            pieces.append(pl.lit(literal))
        if field:
            pieces.append(_quoted(values[field]) if quoted else values[field])
    return pl.concat_str(pieces)


def _reject_messages() -> dict[str, pl.Expr]:
    bad = _bad_booleans()

    def first_bad(values):
        return pl.coalesce(pl.when(bad[field]).then(value) for field, value in values.items())

    values = {
        "parse_error": pl.col("parse_error"),
        "ts": _text("ts"),
        "ms_played": _text("ms_played"),
        "content_uri": pl.col("_content_uri"),
        "boolean_field": first_bad({field: pl.lit(field) for field in BOOLEAN_FIELDS}),
        "boolean_value": first_bad({field: _text(field) for field in BOOLEAN_FIELDS}),
    }
    return {code: _render(template, values) for code, template in REJECT_DETAILS.items()}


def classified_plays(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Raw rows plus parsed `ts_utc`, `ms_value`, `content_type`, `content_id` and, for an
    unusable row, `reject_reason`; the raw text columns are left as read."""
    basic = pl.col("source_format") == BASIC_JSON
    content_type = (
        pl.when(basic)
        .then(
            pl.when(_text("episode_show_name").is_not_null() | _text("episode_name").is_not_null())
            .then(pl.lit("episode"))
            .when(_text("audiobook_title").is_not_null() | _text("audiobook_chapter_title").is_not_null())
            .then(pl.lit("audiobook"))
            .otherwise(pl.lit("track"))
        )
        .when(_text("spotify_track_uri").is_not_null())
        .then(pl.lit("track"))
        .when(_text("spotify_episode_uri").is_not_null())
        .then(pl.lit("episode"))
        .when(_text("_audiobook_uri").is_not_null())
        .then(pl.lit("audiobook"))
    )
    uri_kind = pl.col("_uri_parts").struct.field("kind")
    id_matches_type = (
        uri_kind.is_null()
        | (uri_kind == pl.col("content_type"))
        | ((pl.col("content_type") == "audiobook") & (uri_kind != "track") & (uri_kind != "episode"))
    )
    title = pl.coalesce(_text("track_name"), _text("episode_name"), _text("audiobook_chapter_title"))
    local_file = pl.col("_content_uri").str.starts_with(LOCAL_FILE_URI).fill_null(False)
    verdicts = {  # in REJECT_REASONS order: the first that applies is the reason
        "wrong_column_count": pl.col("parse_error").is_not_null(),
        "bad_timestamp": pl.col("ts_utc").is_null(),
        "ms_played_not_integer": pl.col("ms_value").is_null(),
        "ms_played_negative": pl.col("ms_value") < 0,
        "missing_content_id": ~basic & pl.col("content_type").is_null(),
        "missing_title": basic & title.is_null(),
        "malformed_content_id": ~basic & ~local_file & pl.col("content_id").is_null(),
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
            parse_timestamp(_text("ts"), pl.col("date_order")).alias("ts_utc"),
            pl.when(ms_text.str.contains(r"^-?\d+$"))
            .then(ms_text.cast(pl.Int64, strict=False))
            .alias("ms_value"),
        )
        .with_columns(content_type.alias("content_type"))
        .with_columns(
            pl.when(~basic)
            .then(
                pl.coalesce(_text("spotify_track_uri"), _text("spotify_episode_uri"), _text("_audiobook_uri"))
            )
            .alias("_content_uri"),
        )
        .with_columns(
            pl.col("_content_uri")
            .str.extract_groups(SPOTIFY_URI)
            .struct.rename_fields(["kind", "id"])
            .alias("_uri_parts")
        )
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
        "track": pl.coalesce(_name("track_name"), _name("episode_name"), _name("audiobook_chapter_title")),
        "artist": pl.coalesce(_name("artist_name"), _name("episode_show_name"), _name("audiobook_title")),
        "album": pl.coalesce(_name("album_name"), _name("episode_show_name"), _name("audiobook_title")),
    }
    return {
        "source_file": pl.col("source_file"),
        "source_line": pl.col("source_line"),
        "source_format": pl.col("source_format"),
        "ts_utc": pl.col("ts_utc"),
        "content_type": pl.col("content_type"),
        "content_id": pl.col("content_id"),
        **{f"{kind}_name": names[kind].fill_null(UNKNOWN[kind]) for kind in names},
        "platform": _text("platform").fill_null(UNKNOWN_PLATFORM),
        "reason_start": _text("reason_start").str.to_lowercase().fill_null(UNKNOWN_REASON),
        "reason_end": _text("reason_end").str.to_lowercase().fill_null(UNKNOWN_REASON),
        "ms_played": pl.col("ms_value"),
        **{field: pl.col(f"_bool_{field}").fill_null(False) for field in BOOLEAN_FIELDS},
        "conn_country": _text("conn_country"),
    }


def play_key(typed: dict[str, pl.Expr]) -> pl.Expr:
    """Stable identity of a play (see the module docstring), from `typed_columns()`. Cheap parts
    only (end time in epoch microseconds, lower-cased platform): it is computed for every row."""
    end_us = typed["ts_utc"].dt.epoch("us").cast(pl.String)
    ms_played = typed["ms_played"].cast(pl.String)
    with_id = stable_key(
        end_us,
        typed["content_type"],
        typed["content_id"],
        ms_played,
        typed["platform"].str.to_lowercase(),
        typed["reason_start"],
        typed["reason_end"],
        typed["shuffle"].cast(pl.String),
    )
    by_names = stable_key(
        pl.lit(BASIC_JSON),
        end_us,
        normalize_name(typed["artist_name"]),
        normalize_name(typed["track_name"]),
        ms_played,
    )
    # without an id (basic account data, a local file): by names
    without_id = (typed["source_format"] == BASIC_JSON) | typed["content_id"].is_null()
    return pl.when(without_id).then(by_names).otherwise(with_id)


def raw_text() -> pl.Expr:
    """The record as read: kept text for structural errors, else the fields as a CSV line or JSON."""
    csv_line = pl.concat_str([_csv_field(pl.col(column)) for column in MAVEN_COLUMNS], separator=",")
    extended = pl.struct([pl.col(column).alias(field) for column, field in EXTENDED_FIELDS.items()])
    basic = pl.struct([pl.col(column).alias(field) for column, field in BASIC_FIELDS.items()])
    return pl.coalesce(
        pl.col("raw_text"),
        pl.when(pl.col("source_format") == MAVEN_CSV)
        .then(csv_line)
        .when(pl.col("source_format") == BASIC_JSON)
        .then(basic.struct.json_encode())
        .otherwise(extended.struct.json_encode()),
    )


def _csv_field(value: pl.Expr) -> pl.Expr:
    needs_quotes = value.str.contains(r'[",\r\n]')
    quoted = pl.format('"{}"', value.str.replace_all('"', '""', literal=True))
    return pl.when(needs_quotes).then(quoted).otherwise(value).fill_null("")


def clean_plays(raw: pl.LazyFrame, scratch: Path) -> CleanResult:
    """Split one file's raw rows into its clean plays, its rejects and its counts.

    The raw rows are classified and typed once, streamed into a Parquet file in the folder
    `scratch`; the verdicts are decided on its narrow columns, and `clean` is a lazy scan of it
    (so `scratch` must outlive `clean`) that streams into the lake without sitting in memory.
    """
    valid = pl.col("reject_reason").is_null()
    kept = valid & (pl.col("ms_value") >= MIN_MS_PLAYED)
    position = ["source_file", "source_line"]
    typed_path = scratch / f"typed-{uuid.uuid4()}.parquet"
    typed_exprs = typed_columns()
    classified_plays(raw).select(
        *(expr.alias(name) for name, expr in typed_exprs.items()),
        "reject_reason",
        kept.alias("kept"),
        pl.when(kept).then(play_key(typed_exprs)).alias("play_key"),
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
        repeated.join(positions(repeated["row"]), on="row")
        .sort(position)
        .filter(pl.col("play_key").is_first_distinct())
        .select("row", "play_key")
    )
    survivors = pl.concat([candidates.join(repeated, on="row", how="anti"), first_of_repeated])
    clean = typed.join(survivors.select("row").lazy(), on="row", how="semi").select(CLEAN_COLUMNS)
    counts = {
        "rows_read": rows_read,
        "valid": survivors.height,
        "filtered": rows_read - rejected.height - candidates.height,
        "duplicate_in_file": candidates.height - survivors.height,
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
            "source_file",
            "source_line",
            pl.col("reject_reason").alias("reason"),
            reject_detail().alias("detail"),
            raw_text().alias("raw_text"),
        )
        .sort("source_file", "source_line")
        .collect()
    )
