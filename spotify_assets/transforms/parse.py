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
# raw_plays column -> basic account-data field (StreamingHistory*.json)
BASIC_FIELDS = {
    "ts": "endTime", "artist_name": "artistName", "track_name": "trackName", "ms_played": "msPlayed",
    "episode_show_name": "podcastName", "episode_name": "episodeName", "audiobook_title": "audiobookName",
    "audiobook_chapter_title": "chapterName", "author_name": "authorName",
}
BASIC_JSON = "basic_json"
EXTENDED_MEMBER = re.compile(r"(^|/)(Streaming_History_(Audio|Video)_[^/]*|endsong_\d+)\.json$", re.I)
BASIC_MEMBER = re.compile(r"(^|/)StreamingHistory[^/]*\.json$", re.I)
UTF8_BOM = b"\xef\xbb\xbf"
MAVEN_CSV = "maven_csv"
EXTENDED_JSON = "extended_json"


class NotAHistoryFile(ValueError):
    """The file is not a Spotify history in a supported format; the message says what was expected."""


def read_history(path: Path, display_name: str | None = None) -> pl.LazyFrame:
    """All records of one history file as `raw_plays` rows (without the partition column)."""
    name = display_name or path.name
    head = _head(path)
    if head.startswith(b"PK\x03\x04"):
        return _read_zip(path, name)
    text_head = head.removeprefix(UTF8_BOM).lstrip()
    if text_head[:1] in (b"[", b"{"):
        return _read_extended_json(path.read_bytes(), name).lazy()
    return _read_maven_csv(path, name, head)


def _head(path: Path, size: int = 65536) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _raw_frame(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """`frame` with every raw_plays column (missing ones null) in table order."""
    present = frame.collect_schema().names()
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in RAW_PLAYS.polars_schema().items()
        if name not in present and name != "landing_file"
    ]
    columns = [name for name in RAW_PLAYS.column_names if name != "landing_file"]
    return frame.with_columns(missing).select(columns)


# --- Maven Analytics CSV -------------------------------------------------------------------------

def _read_maven_csv(path: Path, name: str, head: bytes) -> pl.LazyFrame:
    """The CSV's records, lazily: field values come from Polars' CSV reader, positions and field
    counts from one pass over the physical lines, so a 10-million-row file never sits in memory."""
    header = _maven_header(head, name)
    records = _csv_records(path)
    values = _csv_values(path, len(header))
    parsed_rows = values.select(pl.len()).collect().item()
    with_blank_tail, records = records.height, _without_blank_tail(records)
    if not records.height <= parsed_rows <= with_blank_tail:
        raise NotAHistoryFile(
            f"{name}: CSV quoting is broken (unbalanced quotes?) so records cannot be told apart; "
            f"found {records.height} records but {parsed_rows} rows"
        )
    expected = len(header)
    wrong_count = pl.col("field_count") != expected
    records = records.with_columns(
        pl.when(wrong_count)
        .then(pl.format("wrong column count: expected {} fields, found {}", pl.lit(expected), pl.col("field_count")))
        .alias("parse_error")
    )
    records = records.join(_record_texts(path, records.filter(wrong_count & ~pl.col("blank"))),
                           on="record", how="left")
    frame = (
        pl.concat([values.head(records.height), records.lazy()], how="horizontal")
        .slice(1)  # the header is record 1
        .filter(~pl.col("blank"))
        .rename({f"c{index}": column for index, column in enumerate(header)})
        .with_columns(pl.lit(name).alias("source_file"), pl.lit(MAVEN_CSV).alias("source_format"))
    )
    return _raw_frame(frame)


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


def _lines(path: Path) -> pl.LazyFrame:
    """Physical lines with the record each belongs to.

    A record spans several lines when a quoted field holds a newline: a line continues the
    previous record when the quotes before it are unbalanced.
    """
    quotes = pl.col("text").str.count_matches('"', literal=True)
    continues = (pl.col("quotes").cum_sum() - pl.col("quotes")) % 2 == 1
    return (
        pl.scan_lines(path, name="text")
        .with_row_index("source_line", offset=1)
        .with_columns(quotes.alias("quotes"))
        .with_columns(continues.alias("continues"))
        .with_columns((~pl.col("continues")).cum_sum().alias("record"))
    )


def _csv_records(path: Path) -> pl.DataFrame:
    """One row per CSV record: its number, the physical line it starts on, its field count and
    whether it is blank. Only narrow integer columns are kept."""
    text = pl.col("text")
    # commas outside quotes; a line that starts inside a quoted field is read as if it opened one
    opened = pl.concat_str(pl.when(pl.col("continues")).then(pl.lit('"')).otherwise(pl.lit("")), text)
    commas = (
        pl.when((pl.col("quotes") == 0) & ~pl.col("continues"))
        .then(text.str.count_matches(",", literal=True))
        .otherwise(opened.str.replace_all(r'"[^"]*("|$)', "").str.count_matches(",", literal=True))
    )
    lines = _lines(path).select(
        "record", "source_line", commas.alias("commas"), ((text == "") & ~pl.col("continues")).alias("blank"),
    ).collect()
    if lines["record"].n_unique() != lines.height:
        lines = lines.group_by("record", maintain_order=True).agg(
            pl.col("source_line").first(), pl.col("commas").sum(), pl.col("blank").all()
        )
    return lines.select(
        "record",
        pl.col("source_line").cast(pl.Int64),
        (pl.col("commas") + 1).cast(pl.Int64).alias("field_count"),
        "blank",
    )


def _record_texts(path: Path, records: pl.DataFrame) -> pl.DataFrame:
    """The raw text of the given records (a few, e.g. those with a wrong field count)."""
    if records.is_empty():
        return pl.DataFrame(schema={"record": pl.UInt32, "raw_text": pl.String})
    return (
        _lines(path)
        .filter(pl.col("record").is_in(records["record"].implode()))
        .group_by("record", maintain_order=True)
        .agg(pl.col("text").str.join("\n").alias("raw_text"))
        .collect()
    )


def _csv_values(path: Path, width: int) -> pl.LazyFrame:
    """Field values of every record as text, one column more than the header to catch extra fields."""
    schema = {f"c{index}": pl.String for index in range(width + 1)}
    return pl.scan_csv(
        path, has_header=False, schema=schema, truncate_ragged_lines=True,
        missing_columns="insert", encoding="utf8-lossy",
    ).drop(f"c{width}")


def _without_blank_tail(records: pl.DataFrame) -> pl.DataFrame:
    """Records without trailing blank lines, which Polars' reader may or may not count as rows."""
    non_blank = records.with_row_index("index").filter(~pl.col("blank"))
    last = int(non_blank["index"].max()) if non_blank.height else -1
    return records.head(last + 1)


# --- Extended Streaming History JSON / ZIP -----------------------------------------------------

def _read_extended_json(data: bytes, name: str) -> pl.DataFrame:
    data = data.removeprefix(UTF8_BOM)
    if not data.lstrip().startswith(b"["):
        raise NotAHistoryFile(f"{name}: JSON is not an array of plays; expected Extended Streaming History")
    schema = {field: pl.String for field in (*EXTENDED_FIELDS.values(), *BASIC_FIELDS.values())}
    try:
        records = pl.read_json(io.BytesIO(data), schema=schema)
    except Exception as error:  # polars raises several error types for malformed JSON
        raise NotAHistoryFile(
            f"{name}: not valid JSON ({error.__class__.__name__}: {str(error)[:200]}); "
            "expected an Extended Streaming History array of plays"
        ) from error
    fields, source_format = EXTENDED_FIELDS, EXTENDED_JSON
    if records.height and records["ts"].null_count() == records.height:
        if records["endTime"].null_count() == records.height:
            raise NotAHistoryFile(f"{name}: no record has a `ts` field; expected Extended Streaming History")
        fields, source_format = BASIC_FIELDS, BASIC_JSON
    return _raw_frame(
        records.select(pl.col(field).alias(column) for column, field in fields.items())
        .with_row_index("source_line", offset=1)
        .with_columns(
            pl.col("source_line").cast(pl.Int64),
            pl.lit(name).alias("source_file"),
            pl.lit(source_format).alias("source_format"),
        )
    )


def _read_zip(path: Path, name: str) -> pl.LazyFrame:
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
        ).lazy()
