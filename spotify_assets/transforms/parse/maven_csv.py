"""The Maven Analytics CSV, as published and as spreadsheets save it.

Columns are matched by header name: trimmed, without quotes or a BOM, case-insensitive, inner
white space read as `_` (`Spotify Track URI` is `spotify_track_uri`). The separator is the one of
`,`, `;` or tab that makes line 1 such a header. Values are text exactly as written (names are
never trimmed; a quoted newline, CRLF included, stays in the value); a record's position is the
physical line it starts on.

Year-last dates (`7/8/2013 2:44`) do not say whether they are day-first or month-first: the file
decides (`date_order_of`). A first number from 13 to 31 proves day-first, a second one proves
month-first; the decision is the raw_plays column `date_order`. A file whose values prove neither
(or both) is read the way the setting `SPOTIFY_CSV_DATE_ORDER` says, or refused naming the two
readings of an example value.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ...tables import DATE_ORDERS, RAW_TEXT_FIELDS
from ..timestamps import DAY_ONLY, parse_timestamp, year_last_numbers
from .common import MAVEN_COLUMNS, MAVEN_CSV, UTF8_BOM, DateOrderUnknown, NotAHistoryFile, raw_frame

SEPARATORS = (",", ";", "\t")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SETTING = "SPOTIFY_CSV_DATE_ORDER"
READING_FORMAT = "%-d %B %Y %H:%M"


def read_maven_csv(path: Path, name: str, head: bytes, date_order: str | None) -> pl.LazyFrame:
    """The CSV's records, lazily: field values come from Polars' CSV reader, positions and field
    counts from one pass over the physical lines, so a 10-million-row file never sits in memory.

    `date_order` (`dmy`/`mdy`, the setting) is used only when the file's values cannot decide."""
    header, separator = maven_header(head, name)
    records = _csv_records(path, separator)
    values = _csv_values(path, len(header), separator)
    stats = _value_stats(values, f"c{header.index('ts')}")
    with_blank_tail, records = records.height, _without_blank_tail(records)
    if not records.height <= stats["rows"] <= with_blank_tail:
        raise NotAHistoryFile(
            f"{name}: CSV quoting is broken (unbalanced quotes?) so records cannot be told apart; "
            f"found {records.height} records but {stats['rows']} rows"
        )
    order = date_order_of(name, stats, records["source_line"], date_order)
    expected = len(header)
    wrong_count = pl.col("field_count") != expected
    records = records.with_columns(
        pl.when(wrong_count)
        .then(
            pl.format(
                "wrong column count: expected {} fields, found {}", pl.lit(expected), pl.col("field_count")
            )
        )
        .alias("parse_error")
    )
    records = records.join(
        _record_texts(path, records.filter(wrong_count & ~pl.col("blank"))), on="record", how="left"
    )
    frame = (
        pl.concat([values.head(records.height), records.lazy()], how="horizontal")
        .slice(1)  # the header is record 1
        .filter(~pl.col("blank"))
        .rename({f"c{index}": column for index, column in enumerate(header)})
        .with_columns(
            pl.lit(name).alias("source_file"),
            pl.lit(MAVEN_CSV).alias("source_format"),
            pl.lit(order, pl.String).alias("date_order"),
        )
    )
    return raw_frame(frame)


def maven_header(head: bytes, name: str) -> tuple[list[str], str]:
    """The column names of line 1 (normalized; other columns renamed `_column_<n>`) and the separator."""
    try:
        text = head.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        if len(head) < 65536:
            raise NotAHistoryFile(
                f"{name}: not a text file; expected a Spotify history CSV, JSON or ZIP"
            ) from None
        text = head.removeprefix(UTF8_BOM)[:60000].decode("utf-8", errors="ignore")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    tried = []
    for separator in SEPARATORS:
        names = [_header_name(field) for field in first_line.split(separator)]
        missing = [column for column in MAVEN_COLUMNS if column not in names]
        known = [column for column in names if column in RAW_TEXT_FIELDS]
        repeated = sorted({column for column in known if known.count(column) > 1})
        if not missing and not repeated:
            return [
                column if column in RAW_TEXT_FIELDS else f"_column_{index}"
                for index, column in enumerate(names)
            ], separator
        tried.append((len(missing) + len(repeated), missing, repeated))
    _, missing, repeated = min(tried, key=lambda attempt: attempt[0])
    problem = f"missing: {', '.join(missing)}" if missing else f"repeated: {', '.join(repeated)}"
    raise NotAHistoryFile(
        f"{name}: line 1 is not the header of a Spotify history; expected the Maven Analytics CSV "
        f"columns {', '.join(MAVEN_COLUMNS)} separated by commas, semicolons or tabs ({problem}), "
        "or a Spotify history JSON/ZIP"
    )


def _header_name(field: str) -> str:
    return re.sub(r"\s+", "_", field.strip().strip('"').strip().lstrip("\ufeff").lower())


# --- day-first or month-first --------------------------------------------------------------------

PROOFS = {
    "example": pl.col("a").is_not_null(),
    "day_first": pl.col("a").is_between(*DAY_ONLY),
    "month_first": pl.col("b").is_between(*DAY_ONLY),
}


def _value_stats(values: pl.LazyFrame, ts_column: str) -> dict:
    """One pass over the `ts` values: the row count, how many are year-last, and the first row (and
    its text) that is year-last / proves day-first / proves month-first."""
    return (
        values.select(pl.col(ts_column).alias("ts"))
        .with_row_index("row")
        .with_columns(year_last_numbers(pl.col("ts")))
        .select(
            pl.len().alias("rows"),
            PROOFS["example"].sum().alias("year_last"),
            *(pl.col("row").filter(proof).first().alias(f"{kind}_row") for kind, proof in PROOFS.items()),
            *(pl.col("ts").filter(proof).first().alias(f"{kind}_text") for kind, proof in PROOFS.items()),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )


def date_order_of(name: str, stats: dict, lines: pl.Series, setting: str | None) -> str | None:
    """`dmy`, `mdy` or None (no year-last values) for a file, from `_value_stats`; `setting` decides
    only when the values do not; else the file is refused. `lines[row]` is the line of a value's row."""
    if not stats["year_last"]:
        return None
    day_first, month_first = stats["day_first_row"] is not None, stats["month_first_row"] is not None
    if day_first != month_first:
        return "dmy" if day_first else "mdy"
    if setting in DATE_ORDERS:
        return setting
    choice = f"set {SETTING}=dmy (day first) or {SETTING}=mdy (month first) and run again"
    if day_first:
        raise NotAHistoryFile(
            f"{name}: dates are written both ways: line {lines[stats['day_first_row']]} has "
            f"'{stats['day_first_text']}' (day first only) and line {lines[stats['month_first_row']]} has "
            f"'{stats['month_first_text']}' (month first only); {choice} (dates that do not fit are rejected)"
        )
    example = stats["example_text"]
    dmy, mdy = _readings(example)
    raise DateOrderUnknown(
        f"{name}: cannot tell whether dates are day-first or month-first (no day above 12): line "
        f"{lines[stats['example_row']]} '{example}' reads as {dmy} (dmy) or {mdy} (mdy); {choice}"
    )


def _readings(text: str) -> tuple[str, str]:
    read = (
        pl.DataFrame({"text": [text, text], "order": ["dmy", "mdy"]})
        .select(
            parse_timestamp(pl.col("text"), pl.col("order")).dt.strftime(READING_FORMAT).fill_null("no date")
        )
        .to_series()
    )
    return read[0], read[1]


# --- records and values --------------------------------------------------------------------------


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


def _csv_records(path: Path, separator: str) -> pl.DataFrame:
    """One row per CSV record: its number, the physical line it starts on, its field count and
    whether it is blank. Only narrow integer columns are kept."""
    text = pl.col("text")
    # separators outside quotes; a line that starts inside a quoted field is read as if it opened one
    opened = pl.concat_str(pl.when(pl.col("continues")).then(pl.lit('"')).otherwise(pl.lit("")), text)
    separators = (
        pl.when((pl.col("quotes") == 0) & ~pl.col("continues"))
        .then(text.str.count_matches(separator, literal=True))
        .otherwise(opened.str.replace_all(r'"[^"]*("|$)', "").str.count_matches(separator, literal=True))
    )
    lines = (
        _lines(path)
        .select(
            "record",
            "source_line",
            separators.alias("separators"),
            ((text == "") & ~pl.col("continues")).alias("blank"),
        )
        .collect()
    )
    if lines["record"].n_unique() != lines.height:
        lines = lines.group_by("record", maintain_order=True).agg(
            pl.col("source_line").first(), pl.col("separators").sum(), pl.col("blank").all()
        )
    return lines.select(
        "record",
        pl.col("source_line").cast(pl.Int64),
        (pl.col("separators") + 1).cast(pl.Int64).alias("field_count"),
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


def _csv_values(path: Path, width: int, separator: str) -> pl.LazyFrame:
    """Field values of every record as text, one column more than the header to catch extra fields."""
    schema = {f"c{index}": pl.String for index in range(width + 1)}
    return pl.scan_csv(
        path,
        has_header=False,
        schema=schema,
        separator=separator,
        truncate_ragged_lines=True,
        missing_columns="insert",
        encoding="utf8-lossy",
    ).drop(f"c{width}")


def _without_blank_tail(records: pl.DataFrame) -> pl.DataFrame:
    """Records without trailing blank lines, which Polars' reader may or may not count as rows."""
    kept = records.with_row_index("index").filter(~pl.col("blank"))["index"].tail(1).to_list()
    return records.head(kept[0] + 1 if kept else 0)
