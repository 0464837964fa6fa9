"""Reading history files into `raw_plays` rows: every record, values as text, with its position.

Formats are detected from content, not from the file name:
- the Maven Analytics "Spotify Streaming History" CSV,
- Spotify's "Extended Streaming History" JSON (an array of records),
- a ZIP of such JSON files, as Spotify mails it.
Fields that identify a person or device (`ip_addr*`, `user_agent*`, `username`) are never read.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import polars as pl

from ..tables import RAW_PLAYS, RAW_TEXT_FIELDS

MAVEN_COLUMNS = (
    "spotify_track_uri", "ts", "platform", "ms_played", "track_name", "artist_name", "album_name",
    "reason_start", "reason_end", "shuffle", "skipped",
)
# raw_plays column -> Extended Streaming History field
EXTENDED_FIELDS = {
    name: name for name in RAW_TEXT_FIELDS
} | {
    "track_name": "master_metadata_track_name",
    "artist_name": "master_metadata_album_artist_name",
    "album_name": "master_metadata_album_album_name",
}
BASIC_ACCOUNT_FIELDS = ("endTime", "msPlayed")
EXTENDED_MEMBER = re.compile(r"(^|/)(Streaming_History_(Audio|Video)_[^/]*|endsong_\d+)\.json$", re.I)
BASIC_MEMBER = re.compile(r"(^|/)StreamingHistory[^/]*\.json$", re.I)
UTF8_BOM = b"\xef\xbb\xbf"
MAVEN_CSV = "maven_csv"
EXTENDED_JSON = "extended_json"


class NotAHistoryFile(ValueError):
    """The file is not a Spotify history in a supported format; the message says what was expected."""


def read_history(path: Path, display_name: str | None = None) -> pl.DataFrame:
    """All records of one history file as `raw_plays` rows (without the partition column)."""
    name = display_name or path.name
    head = _head(path)
    if head.startswith(b"PK\x03\x04"):
        return _read_zip(path, name)
    text_head = head.removeprefix(UTF8_BOM).lstrip()
    if text_head[:1] in (b"[", b"{"):
        return _read_extended_json(path.read_bytes(), name)
    return _read_maven_csv(path, name, head)


def _head(path: Path, size: int = 65536) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _raw_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every raw_plays column (missing ones null) in table order."""
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in RAW_PLAYS.polars_schema().items()
        if name not in frame.columns and name != "landing_file"
    ]
    columns = [name for name in RAW_PLAYS.column_names if name != "landing_file"]
    return frame.with_columns(missing).select(columns)


# --- Maven Analytics CSV -------------------------------------------------------------------------

def _read_maven_csv(path: Path, name: str, head: bytes) -> pl.DataFrame:
    header = _maven_header(head, name)
    records = _csv_records(path)
    values = _csv_values(path, len(header))
    records, values = _aligned(records, values, name)
    expected = len(header)
    wrong_count = pl.col("field_count") != expected
    frame = pl.concat([records, values], how="horizontal").slice(1)  # the header is record 1
    frame = frame.filter(pl.col("raw_text") != "")
    return _raw_frame(
        frame.with_columns(
            pl.lit(name).alias("source_file"),
            pl.lit(MAVEN_CSV).alias("source_format"),
            pl.when(wrong_count)
            .then(pl.format("wrong column count: expected {} fields, found {}", pl.lit(expected),
                            pl.col("field_count")))
            .alias("parse_error"),
            pl.when(wrong_count).then(pl.col("raw_text")).alias("raw_text"),
        ).rename({f"c{index}": column for index, column in enumerate(header)})
    )


def _maven_header(head: bytes, name: str) -> list[str]:
    try:
        text = head.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        if len(head) < 65536:
            raise NotAHistoryFile(f"{name}: not a text file; expected a Spotify history CSV, JSON or ZIP") from None
        text = head.removeprefix(UTF8_BOM)[:60000].decode("utf-8", errors="ignore")
    first_line = text.split("\n", 1)[0].strip().strip("\r")
    header = [column.strip().strip('"').lower() for column in first_line.split(",")]
    missing = [column for column in MAVEN_COLUMNS if column not in header]
    if missing or len(set(header)) != len(header):
        raise NotAHistoryFile(
            f"{name}: line 1 is not the header of a Spotify history; expected the Maven Analytics CSV "
            f"columns {', '.join(MAVEN_COLUMNS)} (missing: {', '.join(missing) or 'none'}), "
            "or an Extended Streaming History JSON/ZIP"
        )
    return header


def _csv_records(path: Path) -> pl.DataFrame:
    """One row per CSV record: the physical line it starts on, its text and its field count.

    A record spans several lines when a quoted field holds a newline: a line ends a record when
    the quotes seen so far are balanced.
    """
    lines = (
        pl.scan_lines(path, name="text")
        .with_row_index("source_line", offset=1)
        .with_columns(pl.col("text").str.count_matches('"', literal=True).alias("quotes"))
        .with_columns((pl.col("quotes").cum_sum() % 2 == 0).alias("ends_record"))
        .with_columns(
            pl.col("ends_record").shift(1, fill_value=True).cum_sum().alias("record")
        )
        .collect()
    )
    if lines.height == lines["record"].n_unique():
        records = lines.select("source_line", pl.col("text").alias("raw_text"))
    else:
        records = lines.group_by("record", maintain_order=True).agg(
            pl.col("source_line").first(), pl.col("text").str.join("\n").alias("raw_text")
        ).drop("record")
    unquoted = pl.col("raw_text").str.replace_all(r'"[^"]*"', "")
    return records.with_columns(
        (unquoted.str.count_matches(",", literal=True) + 1).cast(pl.Int64).alias("field_count"),
        pl.col("source_line").cast(pl.Int64),
    )


def _csv_values(path: Path, width: int) -> pl.DataFrame:
    """Field values of every record as text, one column more than the header to catch extra fields."""
    schema = {f"c{index}": pl.String for index in range(width + 1)}
    return pl.scan_csv(
        path, has_header=False, schema=schema, truncate_ragged_lines=True,
        missing_columns="insert", encoding="utf8-lossy",
    ).collect().drop(f"c{width}")


def _aligned(records: pl.DataFrame, values: pl.DataFrame, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records and parsed values pair up one to one; trailing blank lines may be read by one side only."""
    if records.height != values.height:
        blank_tail = records.height - _last_non_blank(records) - 1
        records = records.head(records.height - blank_tail)
        values = values.head(records.height)
    if records.height != values.height:
        raise NotAHistoryFile(
            f"{name}: CSV quoting is broken (unbalanced quotes?) so records cannot be told apart; "
            f"found {records.height} records but {values.height} rows"
        )
    return records, values


def _last_non_blank(records: pl.DataFrame) -> int:
    non_blank = records.with_row_index("index").filter(pl.col("raw_text") != "")
    return int(non_blank["index"].max()) if non_blank.height else -1


# --- Extended Streaming History JSON / ZIP -----------------------------------------------------

def _read_extended_json(data: bytes, name: str) -> pl.DataFrame:
    data = data.removeprefix(UTF8_BOM)
    if not data.lstrip().startswith(b"["):
        raise NotAHistoryFile(f"{name}: JSON is not an array of plays; expected Extended Streaming History")
    schema = {field: pl.String for field in (*EXTENDED_FIELDS.values(), *BASIC_ACCOUNT_FIELDS)}
    try:
        records = pl.read_json(io.BytesIO(data), schema=schema)
    except Exception as error:  # polars raises several error types for malformed JSON
        raise NotAHistoryFile(
            f"{name}: not valid JSON ({error.__class__.__name__}: {str(error)[:200]}); "
            "expected an Extended Streaming History array of plays"
        ) from error
    if records.height and records["ts"].null_count() == records.height:
        if records["endTime"].null_count() < records.height:
            raise NotAHistoryFile(
                f"{name}: this is Spotify's basic account data (endTime/msPlayed, no track ids); "
                "request the Extended Streaming History from Spotify instead"
            )
        raise NotAHistoryFile(f"{name}: no record has a `ts` field; expected Extended Streaming History")
    return _raw_frame(
        records.select(pl.col(field).alias(column) for column, field in EXTENDED_FIELDS.items())
        .with_row_index("source_line", offset=1)
        .with_columns(
            pl.col("source_line").cast(pl.Int64),
            pl.lit(name).alias("source_file"),
            pl.lit(EXTENDED_JSON).alias("source_format"),
        )
    )


def _read_zip(path: Path, name: str) -> pl.DataFrame:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise NotAHistoryFile(f"{name}: damaged ZIP ({error}); expected Spotify's history export") from error
    with archive:
        members = sorted(info.filename for info in archive.infolist() if EXTENDED_MEMBER.search(info.filename))
        if not members:
            basic = any(BASIC_MEMBER.search(info.filename) for info in archive.infolist())
            what = "only basic account data (StreamingHistory*.json, no track ids)" if basic else "no history"
            raise NotAHistoryFile(
                f"{name}: ZIP holds {what}; expected Streaming_History_Audio_*.json or endsong_*.json"
            )
        return pl.concat(
            [_read_extended_json(archive.read(member), f"{name}/{member}") for member in members]
        )
