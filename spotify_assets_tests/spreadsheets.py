"""The Maven CSV as spreadsheets save it, for any test to reuse (part of `exports`).

`SPREADSHEET_PLAYS` written in every `SPREADSHEET_STYLES` entry by `write_spreadsheet_csv`: the
separators (`,` `;` tab), header cases, BOM and line ends, and the `ts` forms spreadsheets write
(`7/8/2013 2:44`, `08-07-2013 2.44`, `8.7.2013 14:44`, with or without seconds, AM/PM). Names carry
a lost character as `?` and as mojibake, quotes, separators, a CRLF inside quotes, edge white space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from spotify_assets.transforms.parse.common import MAVEN_COLUMNS

from .hostile import TRACK_A, TRACK_B, TRACK_C


@dataclass(frozen=True)
class SpreadsheetPlay:
    ended: datetime
    uri: str
    platform: str
    ms_played: str
    track_name: str
    artist_name: str
    album_name: str
    reason_start: str
    reason_end: str
    shuffle: str
    skipped: str

    def fields(self, ts: str) -> list[str]:
        return [
            self.uri,
            ts,
            self.platform,
            self.ms_played,
            self.track_name,
            self.artist_name,
            self.album_name,
            self.reason_start,
            self.reason_end,
            self.shuffle,
            self.skipped,
        ]


SPREADSHEET_PLAYS = [
    SpreadsheetPlay(
        datetime(2013, 7, 8, 2, 44, 31),
        TRACK_A,
        "android",
        "74465",
        "Classy Girls",
        "Post Malone",
        "Goodbyes, Vol. 1; Deluxe",
        "fwdbtn",
        "endplay",
        "FALSE",
        "FALSE",
    ),
    SpreadsheetPlay(
        datetime(2013, 7, 25, 14, 5, 9),
        TRACK_B,
        "iOS",
        "19050",
        "Mythical Monsters ",
        " De Hofnar",
        'Zonne\r\nstraal "live"',
        "trackdone",
        "fwdbtn",
        "TRUE",
        "TRUE",
    ),
    SpreadsheetPlay(
        datetime(2014, 1, 2, 0, 0, 0),
        TRACK_C,
        "windows",
        "201000",
        "Beyonc?",
        "BeyoncÃ©",
        "B'Day\u00a0",
        "clickrow",
        "trackdone",
        "false",
        "false",
    ),
    SpreadsheetPlay(
        datetime(2014, 12, 31, 23, 59, 59),
        TRACK_C,
        "cast to device",
        "1500",
        "夜に駆ける 🎵",
        "YOASOBI",
        "THE BOOK",
        "",
        "",
        "True",
        "False",
    ),
]
# every day and month at most 12: the values alone cannot tell day-first from month-first
AMBIGUOUS_PLAYS = [
    SpreadsheetPlay(
        datetime(2013, month, day, 9, 30),
        TRACK_A,
        "android",
        "1000",
        "T",
        "A",
        "B",
        "clickrow",
        "trackdone",
        "FALSE",
        "FALSE",
    )
    for month, day in ((7, 8), (1, 12))
]
HEADER = MAVEN_COLUMNS
TS_FORMS = {
    "iso_seconds": lambda d: f"{d:%Y-%m-%d %H:%M:%S}",
    "iso_minutes": lambda d: f"{d:%Y-%m-%d %H:%M}",
    "mdy_slash": lambda d: f"{d.month}/{d.day}/{d.year} {d.hour}:{d.minute:02d}",
    "mdy_slash_seconds_pm": lambda d: f"{d.month}/{d.day}/{d.year} {(d.hour - 1) % 12 + 1}:{d:%M:%S %p}",
    "dmy_slash_seconds": lambda d: f"{d.day}/{d.month}/{d.year} {d.hour}:{d:%M:%S}",
    "dmy_dash_dot": lambda d: f"{d:%d-%m-%Y} {d.hour}.{d:%M}",
    "dmy_dash_colon": lambda d: f"{d:%d-%m-%Y} {d.hour}:{d:%M}",
    "dmy_dots": lambda d: f"{d:%d.%m.%Y %H:%M}",
}


@dataclass(frozen=True)
class SpreadsheetStyle:
    separator: str
    ts_form: str
    date_order: str | None  # what the parser must decide
    seconds: bool  # whether the form keeps seconds
    header_case: str = "lower"  # lower | title | upper
    line_end: str = "\r\n"
    bom: bool = True  # a UTF-8 BOM (UTF-16 always has its own)
    encoding: str = "utf-8"  # cp1252: a Windows "CSV" (a character it lacks is saved as ?); utf-16


SPREADSHEET_STYLES = {
    "us_comma": SpreadsheetStyle(",", "mdy_slash", "mdy", seconds=False),
    "us_pm": SpreadsheetStyle(",", "mdy_slash_seconds_pm", "mdy", seconds=True, bom=False, line_end="\n"),
    "eu_semicolon": SpreadsheetStyle(";", "dmy_dash_dot", "dmy", seconds=False, bom=False),
    "eu_semicolon_colon": SpreadsheetStyle(";", "dmy_dash_colon", "dmy", seconds=False),
    "uk_slash_seconds": SpreadsheetStyle(",", "dmy_slash_seconds", "dmy", seconds=True),
    "de_dots": SpreadsheetStyle(";", "dmy_dots", "dmy", seconds=False, header_case="upper"),
    "tab_capitalised": SpreadsheetStyle(
        "\t", "iso_minutes", None, seconds=False, header_case="title", line_end="\n"
    ),
    "iso_seconds_semicolon": SpreadsheetStyle(";", "iso_seconds", None, seconds=True),
    "windows_ansi": SpreadsheetStyle(",", "mdy_slash", "mdy", seconds=False, bom=False, encoding="cp1252"),
    "unicode_text": SpreadsheetStyle(
        "\t", "dmy_slash_seconds", "dmy", seconds=True, header_case="title", bom=False, encoding="utf-16"
    ),
}


def csv_field(value: str, separator: str) -> str:
    if any(char in value for char in (separator, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_spreadsheet_csv(path: Path, style: str, plays: list[SpreadsheetPlay] = SPREADSHEET_PLAYS) -> Path:
    """`plays` as the Maven CSV saved by a spreadsheet in `style` (SPREADSHEET_STYLES)."""
    shape = SPREADSHEET_STYLES[style]
    header = {"lower": str.lower, "title": str.title, "upper": str.upper}[shape.header_case]
    lines = [shape.separator.join(header(column) for column in HEADER)] + [
        shape.separator.join(
            csv_field(value, shape.separator) for value in play.fields(TS_FORMS[shape.ts_form](play.ended))
        )
        for play in plays
    ]
    body = shape.line_end.join(lines) + shape.line_end
    path.write_bytes((b"\xef\xbb\xbf" if shape.bom else b"") + body.encode(shape.encoding, errors="replace"))
    return path


def saved_text(value: str, style: str) -> str:
    """`value` as the style's encoding keeps it (a character Windows-1252 lacks becomes ?)."""
    encoding = SPREADSHEET_STYLES[style].encoding
    return value.encode(encoding, errors="replace").decode(encoding)


def expected_ts(play: SpreadsheetPlay, style: str) -> datetime:
    """When the play ended as the style can say it (to the minute when it drops seconds)."""
    return play.ended if SPREADSHEET_STYLES[style].seconds else play.ended.replace(second=0)
