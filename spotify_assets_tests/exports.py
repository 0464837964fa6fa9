"""Small handwritten exports in every format a listener actually holds, for any test to reuse.

Written from the field lists in /work/shared/FORMATS.md; no real listener's data. Names carry what
real exports carry: trailing spaces and U+00A0, a leading space, quotes, commas and semicolons,
emoji and CJK, a lost character as `?` and as mojibake.

- basic "Account data": `BASIC_MUSIC`, `BASIC_PODCAST`, `BASIC_AUDIOBOOK` records,
  `write_basic_json`, the mailed ZIP `write_account_data_zip` (history beside Userdata, Playlist,
  SearchQueries, Marquee, a PDF) and its older shape `write_old_account_data_zip`;
- Extended Streaming History: `write_extended_export_zip` (audio, video, an `endsong.json`
  without a number and the ReadMe PDF);
- the Maven CSV as spreadsheets save it: `write_spreadsheet_csv(path, style)` for every
  `SPREADSHEET_STYLES` entry, from `SPREADSHEET_PLAYS`;
- a hostile ZIP, written in a streaming way: `write_zip_bomb`.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .hostile import JSON_RECORDS, TRACK_A, TRACK_B, TRACK_C

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)

# --- basic "Account data" ------------------------------------------------------------------------

BASIC_MUSIC = [
    {
        "endTime": "2024-03-01 17:04",
        "artistName": "Post Malone",
        "trackName": "Classy Girls",
        "msPlayed": 74465,
    },
    {
        "endTime": "2024-03-01 17:09",
        "artistName": "De Hofnar",
        "trackName": "Mythical Monsters ",
        "msPlayed": 201000,
    },
    {"endTime": "2024-03-01 17:12", "artistName": "YOASOBI", "trackName": "夜に駆ける 🎵", "msPlayed": 0},
    {
        "endTime": "2024-03-02 08:00",
        "artistName": "Sigur Rós\u00a0",
        "trackName": "Hoppípolla",
        "msPlayed": 268000,
    },
    # older exports list podcasts in the music files: the show as artist, the episode as track
    {
        "endTime": "2024-03-02 08:35",
        "artistName": "The Daily",
        "trackName": "Monday: The Election, Explained",
        "msPlayed": 1800000,
    },
    {
        "endTime": "2024-03-02 08:36",
        "artistName": " Beyonc?",
        "trackName": 'BeyoncÃ© "Halo"; live',
        "msPlayed": 1000,
    },
]
BASIC_PODCAST = [
    {
        "endTime": "2024-03-03 07:30",
        "podcastName": "The Daily",
        "episodeName": "Monday: The Election, Explained",
        "msPlayed": 1500000,
    },
    {
        "endTime": "2024-03-03 19:00",
        "podcastName": "Radiolab ",
        "episodeName": "Episode 1: «Naïve» beginnings\u00a0",
        "msPlayed": 300,
    },
]
BASIC_AUDIOBOOK = [
    {
        "endTime": "2024-03-04 21:00",
        "audiobookName": "Pride and Prejudice",
        "chapterName": "Chapter 1",
        "authorName": "Jane Austen",
        "msPlayed": 1727957,
    },
    {
        "endTime": "2024-03-04 21:30",
        "audiobookName": "吾輩は猫である",
        "chapterName": "一",
        "authorName": "夏目漱石 ",
        "msPlayed": 60000,
    },
]
ACCOUNT_DATA_FOLDER = "Spotify Account Data"
# member -> records, in the order the parser reads members (sorted by name)
ACCOUNT_DATA_HISTORY = {
    "StreamingHistory_audiobook_0.json": BASIC_AUDIOBOOK,
    "StreamingHistory_music_0.json": BASIC_MUSIC[:4],
    "StreamingHistory_music_1.json": BASIC_MUSIC[4:],
    "StreamingHistory_podcast_0.json": BASIC_PODCAST,
}
ACCOUNT_DATA_OTHERS: dict[str, bytes] = {
    "Follow.json": json.dumps(
        {"followerCount": 3, "followingUsersCount": 1, "dismissingUsersCount": 0}
    ).encode(),
    "Marquee.json": json.dumps(
        [{"artistName": "Post Malone", "segment": "Previously Active Listeners"}]
    ).encode(),
    "Playlist1.json": json.dumps(
        {
            "playlists": [
                {
                    "name": "Road trip ",
                    "lastModifiedDate": "2024-03-01",
                    "items": [
                        {
                            "track": {
                                "trackName": "Classy Girls",
                                "artistName": "Post Malone",
                                "albumName": "Goodbyes",
                                "trackUri": f"spotify:track:{TRACK_A}",
                            },
                            "episode": None,
                            "addedDate": "2024-03-01",
                        }
                    ],
                }
            ]
        }
    ).encode(),
    "Read_Me_First.pdf": PDF,
    "SearchQueries.json": json.dumps(
        [
            {
                "platform": "ANDROID",
                "searchTime": "2024-03-01T17:00:00.000Z[UTC]",
                "searchQuery": "post malone",
                "searchInteractionURIs": [],
            }
        ]
    ).encode(),
    "Userdata.json": json.dumps(
        {
            "username": "sample-listener",
            "email": "listener@example.com",
            "country": "DE",
            "birthdate": "1990-01-01",
        }
    ).encode(),
}


def basic_json(records: list[dict]) -> bytes:
    """A basic history file's bytes: a JSON array, pretty-printed as Spotify writes it."""
    return json.dumps(records, indent=2, ensure_ascii=False).encode("utf-8")


def write_basic_json(path: Path, records: list[dict]) -> Path:
    path.write_bytes(basic_json(records))
    return path


def write_account_data_zip(path: Path, folder: str = ACCOUNT_DATA_FOLDER) -> Path:
    """`my_spotify_data.zip` as mailed: four history members beside six that are not history."""
    members = {
        name: basic_json(records) for name, records in ACCOUNT_DATA_HISTORY.items()
    } | ACCOUNT_DATA_OTHERS
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members, key=str.lower, reverse=True):  # stored out of order on purpose
            archive.writestr(f"{folder}/{name}", members[name])
    return path


def write_old_account_data_zip(path: Path) -> Path:
    """The older shape: folder `MyData/`, `StreamingHistory0.json`, `StreamingHistory1.json`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MyData/StreamingHistory0.json", basic_json(BASIC_MUSIC[:3]))
        archive.writestr("MyData/StreamingHistory1.json", basic_json(BASIC_MUSIC[3:]))
        archive.writestr("MyData/Userdata.json", ACCOUNT_DATA_OTHERS["Userdata.json"])
    return path


# --- Extended Streaming History ------------------------------------------------------------------

EXTENDED_FOLDER = "Spotify Extended Streaming History"
VIDEO_RECORD = JSON_RECORDS[1] | {"ts": "2022-05-02T11:00:00Z", "episode_name": "Episode 2 (video)"}
# member -> records, in the order the parser reads them
EXTENDED_HISTORY = {
    f"{EXTENDED_FOLDER}/Streaming_History_Audio_2022_0.json": JSON_RECORDS[:3],
    f"{EXTENDED_FOLDER}/Streaming_History_Video_2022.json": [VIDEO_RECORD],
    f"{EXTENDED_FOLDER}/endsong.json": JSON_RECORDS[3:],
}
EXTENDED_OTHERS = {f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf": PDF}


def write_extended_export_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in EXTENDED_OTHERS.items():
            archive.writestr(name, content)
        for name, records in reversed(EXTENDED_HISTORY.items()):
            archive.writestr(name, json.dumps(records, ensure_ascii=False))
    return path


# --- the Maven CSV after a spreadsheet saved it ---------------------------------------------------


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
HEADER = (
    "spotify_track_uri",
    "ts",
    "platform",
    "ms_played",
    "track_name",
    "artist_name",
    "album_name",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
)
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
    bom: bool = True


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
    path.write_bytes((b"\xef\xbb\xbf" if shape.bom else b"") + body.encode("utf-8"))
    return path


def expected_ts(play: SpreadsheetPlay, style: str) -> datetime:
    """When the play ended as the style can say it (to the minute when it drops seconds)."""
    return play.ended if SPREADSHEET_STYLES[style].seconds else play.ended.replace(second=0)


# --- a hostile ZIP -------------------------------------------------------------------------------

BLOCK_BYTES = 1 << 20


def write_zip_bomb(path: Path, member: str, inflated_bytes: int, declared_bytes: int | None = None) -> Path:
    """A ZIP whose one member inflates to `inflated_bytes` of spaces, written without ever holding
    them: one deflated MiB of spaces (a full-flush block, ~1 KiB) is repeated. The central directory
    declares `declared_bytes` (default: the truth); the CRC is computed only when it is the truth."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = squeezer.compress(b" " * BLOCK_BYTES) + squeezer.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(inflated_bytes, BLOCK_BYTES)
    closing = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = closing.compress(b" " * rest) + closing.flush()
    compressed = len(block) * blocks + len(tail)
    declared = inflated_bytes if declared_bytes is None else declared_bytes
    crc = 0
    if declared_bytes is None:
        for _ in range(blocks):
            crc = zlib.crc32(b" " * BLOCK_BYTES, crc)
        crc = zlib.crc32(b" " * rest, crc)
    name = member.encode()
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5821, crc, compressed, declared, len(name), 0
    )
    with path.open("wb") as handle:
        handle.write(local + name)
        for _ in range(blocks):
            handle.write(block)
        handle.write(tail)
        directory_at = handle.tell()
        central = (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x5821,
                crc,
                compressed,
                declared,
                len(name),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                0,
            )
            + name
        )
        handle.write(central)
        handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), directory_at, 0))
    return path
