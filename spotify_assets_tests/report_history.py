"""A small handwritten history as the lake holds it, for the report's tests: every expected number
in test_report.py and test_report_page.py is computed by hand from the rows below.

Two music tracks are releases of one recording (101 on an album, 106 as a single: one ISRC), 102 is
a recording of its own, 103 was not looked up yet (no ISRC, length or release date); 104 is a
podcast episode and 105 an audiobook chapter. `star_schema(enriched=False)` is the same history
before any Spotify lookup: every track is its own recording and no release date is known.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from spotify_assets.assets.report import REPORT_INPUTS
from spotify_assets.tables import TABLES
from spotify_assets.transforms.model import dim_date

# the report's sections (element ids), in page order: what the page and browser tests expect
SECTIONS = (
    "totals",
    "months",
    "heatmap",
    "top-artists",
    "top-albums",
    "top-tracks",
    "top-recordings",
    "decades",
    "skips",
    "discovery",
    "podcasts",
    "audiobooks",
)
ARTIST_A = 'Ωmega <b>&"Quotes"</b> | pipe'
ARTIST_B = "坂本龍一 🎹"
SHOW, BOOK = "Talk & Co", "Book <One>"
ARTISTS = {1: ARTIST_A, 2: ARTIST_B, 3: SHOW, 4: BOOK}
SINGLE = "Single <1>"
# album_key: (name, artist_key, content_type)
ALBUMS = {
    11: ("A1 <first>", 1, "track"),
    12: ("A2", 1, "track"),
    13: ("Merry Christmas 🎄", 2, "track"),
    14: (SHOW, 3, "episode"),
    15: (BOOK, 4, "audiobook"),
    16: (SINGLE, 1, "track"),
}
SONG, TWO, MERRY = 'Song <1> & "quoted"', "Two", "戦場のメリークリスマス 🎄"
# track_key: (name, artist_key, album_key, content_type)
TRACKS = {
    101: (SONG, 1, 11, "track"),
    102: (TWO, 1, 12, "track"),
    103: (MERRY, 2, 13, "track"),
    104: ("Episode 1", 3, 14, "episode"),
    105: ("Chapter 1", 4, 15, "audiobook"),
    106: ("Song <1> (single edit)", 1, 16, "track"),
}
SONG_ISRC, TWO_ISRC = "QZABC8300001", "QZABC2400002"
SONG_RECORDING, TWO_RECORDING = 9001, 9002
# What the Web API answered: track_key: (isrc, duration_ms, release_date, precision, recording_key)
LOOKED_UP = {
    101: (SONG_ISRC, 200_000, date(1983, 5, 1), "month", SONG_RECORDING),
    106: (SONG_ISRC, 250_000, date(1999, 1, 1), "year", SONG_RECORDING),
    102: (TWO_ISRC, 45_000, date(2024, 1, 12), "day", TWO_RECORDING),
}
# recording_key: (isrc, name, artist_key, sample track, track ids, content_type), as the model names them
RECORDINGS = {
    SONG_RECORDING: (SONG_ISRC, SONG, 1, 101, 2, "track"),
    TWO_RECORDING: (TWO_ISRC, TWO, 1, 102, 1, "track"),
    103: (None, MERRY, 2, 103, 1, "track"),
    104: (None, "Episode 1", 3, 104, 1, "episode"),
    105: (None, "Chapter 1", 4, 105, 1, "audiobook"),
}
ANDROID, WEB = 201, 202
# date_key, local hour, track_key, ms_played, shuffle, skipped, platform_key
PLAYS = [
    (20231231, 23, 101, 180_000, True, False, ANDROID),  # Sunday
    (20240101, 8, 101, 120_000, False, True, ANDROID),  # Monday
    (20240101, 8, 103, 240_000, True, False, WEB),
    (20240115, 20, 102, 60_000, False, True, WEB),  # Monday
    (20240301, 8, 103, 300_000, True, False, ANDROID),  # Friday
    (20240301, 9, 104, 1_800_000, False, False, ANDROID),  # podcast
    (20240102, 9, 104, 600_000, False, False, WEB),  # Tuesday, podcast
    (20231231, 22, 105, 915_000, False, False, ANDROID),  # audiobook: 15.25 min
    (20240102, 21, 106, 20_000, False, True, WEB),  # Tuesday: under 30 s
    (20240115, 21, 106, 100_000, False, False, ANDROID),  # Monday: 30 s, not half of 250 s
    (20240115, 21, 102, 25_000, False, True, ANDROID),  # under 30 s, more than half of 45 s
]
B1_MEDIUM, A1_LARGE = "https://i.scdn.co/image/b1-medium", "https://i.scdn.co/image/a1-large"


def _dim_track(enriched: bool) -> pl.DataFrame:
    answers = LOOKED_UP if enriched else {}
    answer = lambda key, field: answers[key][field] if key in answers else None  # noqa: E731
    return pl.DataFrame(
        {
            "track_key": list(TRACKS),
            "track_id": [f"id{key}" for key in TRACKS],
            "track_uri": [f"spotify:{kind}:id{key}" for key, (_, _, _, kind) in TRACKS.items()],
            "track_name": [name for name, _, _, _ in TRACKS.values()],
            "content_type": [kind for _, _, _, kind in TRACKS.values()],
            "artist_key": [artist for _, artist, _, _ in TRACKS.values()],
            "album_key": [album for _, _, album, _ in TRACKS.values()],
            "recording_key": [answer(key, 4) or key for key in TRACKS],
            "isrc": [answer(key, 0) for key in TRACKS],
            "duration_ms": [answer(key, 1) for key in TRACKS],
            "explicit": [False if key in answers else None for key in TRACKS],
            "release_date": [answer(key, 2) for key in TRACKS],
            "release_date_precision": [answer(key, 3) for key in TRACKS],
            "artist_ids": [f"artist{TRACKS[key][1]}" if key in answers else None for key in TRACKS],
        },
        schema_overrides={
            "isrc": pl.String,
            "duration_ms": pl.Int64,
            "release_date": pl.Date,
            "release_date_precision": pl.String,
            "artist_ids": pl.String,
            "explicit": pl.Boolean,
        },
    )


def _dim_recording(enriched: bool) -> pl.DataFrame:
    if enriched:
        recordings = RECORDINGS
    else:  # every track its own recording, named after itself
        recordings = {
            key: (None, name, artist, key, 1, kind) for key, (name, artist, _, kind) in TRACKS.items()
        }
    isrc, name, artist, sample, ids, kind = map(list, zip(*recordings.values(), strict=True))
    return pl.DataFrame(
        {
            "recording_key": list(recordings),
            "isrc": isrc,
            "recording_name": name,
            "artist_key": artist,
            "sample_track_key": sample,
            "track_ids": ids,
            "content_type": kind,
        },
        schema_overrides={"isrc": pl.String},
    )


def star_schema(*, enriched: bool = True) -> dict[str, pl.LazyFrame]:
    """The star schema, album_art and dim_recording of the history above, in REPORT_INPUTS order."""
    date_key, hour, track_key, ms_played, shuffle, skipped, platform_key = map(list, zip(*PLAYS, strict=True))
    plays = len(PLAYS)
    fact = pl.DataFrame(
        {
            "play_key": range(plays),
            "ts_utc": [datetime(2024, 1, 1, tzinfo=UTC)] * plays,
            "date_key": date_key,
            "hour": hour,
            "track_key": track_key,
            "artist_key": [TRACKS[key][1] for key in track_key],
            "album_key": [TRACKS[key][2] for key in track_key],
            "platform_key": platform_key,
            "reason_key": [0] * plays,
            "ms_played": ms_played,
            "shuffle": shuffle,
            "skipped": skipped,
            "offline": [False] * plays,
            "incognito_mode": [False] * plays,
            "content_type": [TRACKS[key][3] for key in track_key],
            "source_file": ["history.json"] * plays,
            "source_format": ["extended_json"] * plays,
            "landing_file": ["history-0"] * plays,
        }
    )
    days = dim_date(
        pl.DataFrame(
            {
                "first_ts": [datetime(2023, 12, 31, 12, tzinfo=UTC)],
                "last_ts": [datetime(2024, 3, 1, 12, tzinfo=UTC)],
            }
        ),
        "UTC",
    )
    frames = {
        "fact_streams": fact,
        "dim_date": days,
        "dim_artist": pl.DataFrame({"artist_key": list(ARTISTS), "artist_name": list(ARTISTS.values())}),
        "dim_album": pl.DataFrame(
            {
                "album_key": list(ALBUMS),
                "album_name": [name for name, _, _ in ALBUMS.values()],
                "artist_key": [artist for _, artist, _ in ALBUMS.values()],
                "content_type": [kind for _, _, kind in ALBUMS.values()],
                "sample_track_id": [f"id{key}" for key in ALBUMS],
                "first_landing_file": ["history-0"] * len(ALBUMS),
            }
        ),
        "dim_track": _dim_track(enriched),
        "dim_platform": pl.DataFrame(
            {
                "platform_key": [ANDROID, WEB],
                "platform": ["Android OS 14", "web_player"],
                "platform_family": ["android", "web"],
            }
        ),
        "album_art": pl.DataFrame(
            {
                "album_key": [11, 12, 13, 14],
                "landing_file": ["history-0"] * 4,
                "album_id": ["a1", None, "b1", None],
                "image_url_large": [A1_LARGE, None, "https://i.scdn.co/image/b1-large", None],
                "image_url_medium": [None, None, B1_MEDIUM, None],
                "image_url_small": [None, None, None, None],
                "status": ["found", "not_found", "found", "pending"],
                "fetched_at": [datetime(2024, 3, 2, tzinfo=UTC)] * 4,
            }
        ),
        "dim_recording": _dim_recording(enriched),
    }
    return {name: TABLES[name].conform(frames[name]) for name in REPORT_INPUTS}
