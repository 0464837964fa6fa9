"""Spotify's JSON histories: an array of play records, Extended Streaming History or basic account data.

The kind is decided by the records, not the file name: a record with `ts` makes the file Extended
Streaming History (`extended_json`); otherwise records with `endTime` and `msPlayed` make it basic
account data (`basic_json`: `StreamingHistory<n>.json`, `StreamingHistory_music_<n>.json`,
`_podcast_`, `_audiobook_`). An empty array is a history with no plays. Every field is read as text,
names exactly as written; fields that identify a person or device (`ip_addr*`, `user_agent*`,
`username`) are never read.

The file is parsed whole by Polars from the path (no copy of it in Python), so a file past
`MAX_MEMBER_BYTES` is refused before it is read.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .common import (
    BASIC_FIELDS,
    BASIC_JSON,
    EXTENDED_FIELDS,
    EXTENDED_JSON,
    MAX_MEMBER_BYTES,
    NotAHistoryFile,
    raw_frame,
    size_text,
)

JSON_FIELDS = tuple(dict.fromkeys((*EXTENDED_FIELDS.values(), *BASIC_FIELDS.values())))
EXPECTED = (
    "expected Spotify's Extended Streaming History (records with `ts`) or account data "
    "(records with `endTime` and `msPlayed`)"
)


def read_json_history(path: Path, name: str, head: bytes) -> pl.LazyFrame:
    """The records of one JSON history file as raw_plays rows (`source_line` = record number)."""
    size = path.stat().st_size
    if size > MAX_MEMBER_BYTES:
        raise NotAHistoryFile(
            f"{name}: {size_text(size)} of JSON, more than the {size_text(MAX_MEMBER_BYTES)} a history file "
            "may have; not read (Spotify's history files are at most ~15 MB each: use those)"
        )
    if not head.lstrip().startswith(b"["):
        raise NotAHistoryFile(f"{name}: JSON is not an array of plays; {EXPECTED}")
    try:
        records = pl.read_json(path, schema=dict.fromkeys(JSON_FIELDS, pl.String))
    except Exception as error:  # polars raises several error types for malformed JSON
        raise NotAHistoryFile(
            f"{name}: not valid JSON or not an array of play records ({error.__class__.__name__}: "
            f"{str(error)[:200]}); {EXPECTED}"
        ) from error
    if records["ts"].null_count() < records.height or records.height == 0:
        fields, source_format = EXTENDED_FIELDS, EXTENDED_JSON
    elif all(records[field].null_count() < records.height for field in ("endTime", "msPlayed")):
        fields, source_format = BASIC_FIELDS, BASIC_JSON
    else:
        raise NotAHistoryFile(f"{name}: no record has `ts`, or `endTime` and `msPlayed`; {EXPECTED}")
    return raw_frame(
        records.lazy()
        .select(pl.col(field).alias(column) for column, field in fields.items())
        .with_row_index("source_line", offset=1)
        .with_columns(
            pl.col("source_line").cast(pl.Int64),
            pl.lit(name).alias("source_file"),
            pl.lit(source_format).alias("source_format"),
        )
    )
