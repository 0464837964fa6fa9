"""Reading history files into `raw_plays` rows: every record, values as text, with its position.

Formats are detected from content, never from the file name:
- the Maven Analytics "Spotify Streaming History" CSV, also as spreadsheets save it (`maven_csv`),
- Spotify's "Extended Streaming History" JSON, an array of records with `ts` (`extended_json`),
- Spotify's basic "Account data" JSON (`StreamingHistory*.json`: `endTime`, `msPlayed`, names;
  `basic_json`),
- a ZIP of any of these, as Spotify mails it, members sniffed one by one (`archive`).
Fields that identify a person or device (`ip_addr*`, `user_agent*`, `username`) are never read.
Names are stored exactly as written. Memory stays bounded whatever a file declares (`archive`,
MAX_MEMBER_BYTES); the parser never reads the environment: the one setting it knows,
`SPOTIFY_CSV_DATE_ORDER`, comes in as the `date_order` argument.

Modules: `detect` (which format), `maven_csv`, `json_history`, `archive` (ZIP), `sniff` (cheap
checks of big files for the landing sensor), `common` (fields, limits, errors, `HistoryRead`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .archive import read_zip
from .common import (
    BASIC_FIELDS,
    BASIC_JSON,
    EXTENDED_FIELDS,
    EXTENDED_JSON,
    MAVEN_COLUMNS,
    MAVEN_CSV,
    MAX_ARCHIVE_BYTES,
    MAX_MEMBER_BYTES,
    UTF8_BOM,
    DateOrderUnknown,
    HistoryRead,
    NotAHistoryFile,
)
from .detect import head_of, is_zip, read_member
from .sniff import check_large_history

__all__ = [
    "BASIC_FIELDS",
    "BASIC_JSON",
    "EXTENDED_FIELDS",
    "EXTENDED_JSON",
    "MAVEN_COLUMNS",
    "MAVEN_CSV",
    "MAX_ARCHIVE_BYTES",
    "MAX_MEMBER_BYTES",
    "UTF8_BOM",
    "DateOrderUnknown",
    "HistoryRead",
    "NotAHistoryFile",
    "check_large_history",
    "read_history",
    "read_history_file",
]


def read_history_file(
    path: Path, display_name: str | None = None, *, date_order: str | None = None
) -> HistoryRead:
    """All records of one history file as `raw_plays` rows (without the partition column), and for a
    ZIP which members were read and which skipped (`HistoryRead.metadata()` for the asset).

    `date_order` (`dmy`/`mdy`, from `SPOTIFY_CSV_DATE_ORDER`) settles CSVs whose dates cannot say.
    Raises NotAHistoryFile (one line: the file, what was expected, what to do) for anything else.
    """
    name = display_name or path.name
    head = head_of(path)
    if is_zip(head):
        return read_zip(path, name, date_order)
    return HistoryRead(read_member(path, name, head, date_order))


def read_history(
    path: Path, display_name: str | None = None, *, date_order: str | None = None
) -> pl.LazyFrame:
    """`read_history_file(...).plays`: the raw_plays rows only."""
    return read_history_file(path, display_name, date_order=date_order).plays
