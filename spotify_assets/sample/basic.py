"""The basic "Account data" export: the last year of the Extended Streaming History as Spotify mails it.

``generate_basic`` keeps the last ``days`` (a year) of ``generate_extended(rows, seed)``, minute
precision and no ids, one frame per kind; ``write_basic_json`` writes one
``StreamingHistory_<kind>_<n>.json`` file, ``write_account_data_zip`` the whole ``my_spotify_data.zip``
with its members that are not listening history. A basic and an extended export of the same
``(rows, seed)`` overlap the way a listener's two exports do.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl

from .extended import PDF_PLACEHOLDER, add_member, generate_extended, json_array
from .listener import catalog_csv

ACCOUNT_DATA_FOLDER = "Spotify Account Data"
BASIC_KINDS = ("music", "podcast", "audiobook")
BASIC_DAYS = 365  # the basic export holds about the last year
BASIC_FILE_RECORDS = 10_000  # records per StreamingHistory_<kind>_<n>.json


def generate_basic(
    rows: int,
    seed: int = 0,
    *,
    episodes: int | None = None,
    audiobooks: int | None = None,
    days: int = BASIC_DAYS,
) -> dict[str, pl.DataFrame]:
    """The basic "Account data" records of the last ``days`` days of ``generate_extended(rows, seed,
    episodes=..., audiobooks=...)``, one frame per kind (``music``, ``podcast``, ``audiobook``) in the
    export's fields: ``endTime`` (UTC, the minute the play ended, ``YYYY-MM-DD HH:MM``), names,
    ``msPlayed``; no ids, album, platform or reasons. Plays of 0 ms are kept, as Spotify does."""
    extended = generate_extended(rows, seed, episodes=episodes, audiobooks=audiobooks)
    ended = pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="ms")
    recent = extended.filter(ended > ended.max() - pl.duration(days=days)) if extended.height else extended
    end_time = ended.dt.strftime("%Y-%m-%d %H:%M").alias("endTime")
    ms_played = pl.col("ms_played").alias("msPlayed")
    authors = catalog_csv("audiobooks").select("audiobook_title", "author_name").unique()
    return {
        "music": recent.filter(pl.col("spotify_track_uri").is_not_null()).select(
            end_time,
            pl.col("master_metadata_album_artist_name").alias("artistName"),
            pl.col("master_metadata_track_name").alias("trackName"),
            ms_played,
        ),
        "podcast": recent.filter(pl.col("spotify_episode_uri").is_not_null()).select(
            end_time,
            pl.col("episode_show_name").alias("podcastName"),
            pl.col("episode_name").alias("episodeName"),
            ms_played,
        ),
        "audiobook": recent.filter(pl.col("audiobook_uri").is_not_null())
        .join(authors, on="audiobook_title", how="left", maintain_order="left")
        .select(
            end_time,
            pl.col("audiobook_title").alias("audiobookName"),
            pl.col("audiobook_chapter_title").alias("chapterName"),
            pl.col("author_name").alias("authorName"),
            ms_played,
        ),
    }


def write_basic_json(
    path: str | Path, rows: int, seed: int = 0, kind: str = "music", *, days: int = BASIC_DAYS
) -> Path:
    """Write one basic history file (``StreamingHistory_<kind>_<n>.json``-style JSON array) holding
    every ``kind`` record of ``generate_basic(rows, seed, days=days)``; return the path."""
    if kind not in BASIC_KINDS:
        raise ValueError(f"kind must be one of {', '.join(BASIC_KINDS)}, got {kind!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json_array(generate_basic(rows, seed, days=days)[kind]))
    return path


def write_account_data_zip(path: str | Path, rows: int, seed: int = 0, *, days: int = BASIC_DAYS) -> Path:
    """Write ``my_spotify_data.zip`` as Spotify mails the basic export; return the path.

    Members, all under ``Spotify Account Data/``: ``StreamingHistory_music_<n>.json``,
    ``StreamingHistory_podcast_<n>.json`` and ``StreamingHistory_audiobook_<n>.json`` (at most
    BASIC_FILE_RECORDS records each, at least one file per kind) from ``generate_basic(rows, seed,
    days=days)``, beside members that are not listening history: ``Userdata.json``,
    ``Playlist1.json``, ``SearchQueries.json``, ``Marquee.json`` (an array with ``artistName`` but no
    plays) and ``Read_Me_First.pdf``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = generate_basic(rows, seed, days=days)
    music = records["music"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        add_member(archive, f"{ACCOUNT_DATA_FOLDER}/Read_Me_First.pdf", PDF_PLACEHOLDER)
        for name, content in _account_data_extras(music).items():
            add_member(archive, f"{ACCOUNT_DATA_FOLDER}/{name}", content)
        for kind, frame in records.items():
            for n in range(max(1, -(-frame.height // BASIC_FILE_RECORDS))):
                chunk = frame.slice(n * BASIC_FILE_RECORDS, BASIC_FILE_RECORDS)
                member = f"{ACCOUNT_DATA_FOLDER}/StreamingHistory_{kind}_{n}.json"
                add_member(archive, member, json_array(chunk))
    return path


def _account_data_extras(music: pl.DataFrame) -> dict[str, bytes]:
    """The account-data members that are not listening history (made-up account, no real person)."""
    artists = music["artistName"].unique(maintain_order=True).head(5).to_list()
    tracks = music.select("artistName", "trackName").unique(maintain_order=True).head(3).rows()
    return {
        "Userdata.json": json.dumps(
            {
                "username": "sample-listener",
                "email": "listener@example.com",
                "country": "US",
                "createdFromFacebook": False,
                "birthdate": "1990-01-01",
                "gender": "neutral",
            },
            indent=2,
        ).encode(),
        "Playlist1.json": json.dumps(
            {
                "playlists": [
                    {
                        "name": "Sample favourites",
                        "lastModifiedDate": "2024-06-01",
                        "items": [
                            {
                                "track": {
                                    "trackName": track,
                                    "artistName": artist,
                                    "albumName": "",
                                    "trackUri": "",
                                },
                                "episode": None,
                                "localTrack": None,
                                "addedDate": "2024-06-01",
                            }
                            for artist, track in tracks
                        ],
                        "description": None,
                        "numberOfFollowers": 0,
                    }
                ]
            },
            indent=2,
            ensure_ascii=False,
        ).encode(),
        "SearchQueries.json": json.dumps(
            [
                {
                    "platform": "ANDROID",
                    "searchTime": "2024-06-01T10:00:00.000Z[UTC]",
                    "searchQuery": artist.lower(),
                    "searchInteractionURIs": [],
                }
                for artist in artists
            ],
            indent=2,
            ensure_ascii=False,
        ).encode(),
        "Marquee.json": json.dumps(
            [{"artistName": artist, "segment": "Previously Active Listeners"} for artist in artists],
            indent=2,
            ensure_ascii=False,
        ).encode(),
    }
