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
  `SPREADSHEET_STYLES` entry, from `SPREADSHEET_PLAYS` (in `spreadsheets.py`, re-exported here);
- a hostile ZIP, written in a streaming way: `write_zip_bomb`.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

from .hostile import JSON_RECORDS, TRACK_A
from .spreadsheets import (  # noqa: F401  (re-exported: `exports` is the one place for fixtures)
    AMBIGUOUS_PLAYS,
    HEADER,
    SPREADSHEET_PLAYS,
    SPREADSHEET_STYLES,
    TS_FORMS,
    SpreadsheetPlay,
    SpreadsheetStyle,
    expected_ts,
    saved_text,
    write_spreadsheet_csv,
)

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
