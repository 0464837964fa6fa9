"""Small listening histories in every export format, with the overlaps real exports have.

One listener's plays (`Play`) are rendered as an Extended Streaming History JSON, a Maven CSV or a
basic account-data JSON (end time cut to the minute, no ids), so tests can drop the same listening
as several files. The catalogue has the traps identity resolution must survive: one (artist, title)
released under two ids, names that differ only in case or trailing white space, a podcast episode.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spotify_assets.transforms.parse.common import MAVEN_COLUMNS


@dataclass(frozen=True)
class Track:
    track_id: str
    title: str
    artist: str
    album: str
    content_type: str = "track"


CATALOGUE = (
    Track("3ZzlzIJ5iH3WXCP6bX8Vp5", "Classy Girls", "Post Malone", "Goodbyes"),
    Track("49x8Zp5wDjoquBE1THLLCV", "Sweet Disposition", "De Hofnar", "Zonnestraal"),
    Track("6t1ahr2f1t9iSjjNFwFb4C", "Jungle", "David Bisbal", "Romances"),
    # the same recording on an album and a single: (artist, title) is ambiguous
    Track("0VjIjW4GlUZAMYd2vXMi3b", "Blinding Lights", "The Weeknd", "After Hours"),
    Track("0sf12qNH5qcw8qpgymFOqD", "Blinding Lights", "The Weeknd", "Blinding Lights"),
    Track("1v5ZcJcWbc6cyzm1xSvO2b", "Mythical Monsters ", "Tales", "Tales Vol. 1"),
    Track("7iHfbu1YPACw6oZPAFJtqe", "Dreams", "Fleetwood Mac", "Rumours"),
    Track("0Zrgl3gAZCvkBP3Iyc9vHh", "Episode 12: Naïve", "The Show", "The Show", "episode"),
)
# a name the basic export spells differently (case, trailing no-break space): same normalized names
SPELLINGS = {"Dreams": "DREAMS\u00a0", "Post Malone": "post malone"}
PLATFORMS = ("android", "iOS", "Windows 10 (10.0.19045; x64)", "cast to device")
REASONS = ("trackdone", "fwdbtn", "clickrow", "endplay")
START = datetime(2021, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Play:
    track: Track
    ended: datetime
    ms_played: int
    platform: str = "android"
    reason_start: str = "trackdone"
    reason_end: str = "trackdone"
    shuffle: bool = False
    skipped: bool = False


def plays(count: int, *, offset_minutes: int = 0, spacing_minutes: int = 7, seed: int = 0) -> list[Play]:
    """`count` plays a few minutes apart, cycling through the catalogue deterministically."""
    result = []
    for number in range(count):
        index = (number * 7 + seed) % len(CATALOGUE)
        ended = START + timedelta(
            minutes=offset_minutes + number * spacing_minutes, seconds=(number * 13 + seed) % 60
        )
        result.append(
            Play(
                track=CATALOGUE[index],
                ended=ended,
                ms_played=30_000 + ((number * 7919 + seed * 104729) % 200_000),
                platform=PLATFORMS[(number + seed) % len(PLATFORMS)],
                reason_start=REASONS[number % len(REASONS)],
                reason_end=REASONS[(number + seed) % len(REASONS)],
                shuffle=bool((number + seed) % 2),
                skipped=bool(number % 5 == 0),
            )
        )
    return result


def _uri(track: Track) -> str:
    return f"spotify:{track.content_type}:{track.track_id}"


def extended_json(path: Path, history: list[Play]) -> Path:
    records = []
    for play in history:
        track, is_episode = play.track, play.track.content_type == "episode"
        records.append(
            {
                "ts": play.ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "platform": play.platform,
                "ms_played": play.ms_played,
                "conn_country": "DE",
                "ip_addr": "203.0.113.7",
                "master_metadata_track_name": None if is_episode else track.title,
                "master_metadata_album_artist_name": None if is_episode else track.artist,
                "master_metadata_album_album_name": None if is_episode else track.album,
                "spotify_track_uri": None if is_episode else _uri(track),
                "episode_name": track.title if is_episode else None,
                "episode_show_name": track.artist if is_episode else None,
                "spotify_episode_uri": _uri(track) if is_episode else None,
                "reason_start": play.reason_start,
                "reason_end": play.reason_end,
                "shuffle": play.shuffle,
                "skipped": play.skipped,
                "offline": False,
                "offline_timestamp": None,
                "incognito_mode": False,
            }
        )
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def maven_csv(path: Path, history: list[Play]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MAVEN_COLUMNS)
    for play in (play for play in history if play.track.content_type == "track"):
        writer.writerow(
            [
                play.track.track_id,
                play.ended.strftime("%Y-%m-%d %H:%M:%S"),
                play.platform,
                play.ms_played,
                play.track.title,
                play.track.artist,
                play.track.album,
                play.reason_start,
                play.reason_end,
                str(play.shuffle).upper(),
                str(play.skipped).upper(),
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def basic_json(path: Path, history: list[Play]) -> Path:
    """StreamingHistory_*.json records: end time cut to the minute, the basic export's spellings."""
    records = []
    for play in history:
        track, ended = play.track, play.ended.strftime("%Y-%m-%d %H:%M")
        if track.content_type == "episode":
            records.append(
                {
                    "endTime": ended,
                    "podcastName": track.artist,
                    "episodeName": track.title,
                    "msPlayed": play.ms_played,
                }
            )
        else:
            records.append(
                {
                    "endTime": ended,
                    "artistName": SPELLINGS.get(track.artist, track.artist),
                    "trackName": SPELLINGS.get(track.title, track.title),
                    "msPlayed": play.ms_played,
                }
            )
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


WRITERS = {"extended_json": extended_json, "maven_csv": maven_csv, "basic_json": basic_json}
SUFFIXES = {"extended_json": "json", "maven_csv": "csv", "basic_json": "json"}
FILE_NAMES = {
    "extended_json": "Streaming_History_Audio_{n}.json",
    "maven_csv": "history_{n}.csv",
    "basic_json": "StreamingHistory_music_{n}.json",
}


def write_export(folder: Path, source_format: str, number: int, history: list[Play]) -> Path:
    return WRITERS[source_format](folder / FILE_NAMES[source_format].format(n=number), history)


def with_platform_case(history: list[Play]) -> list[Play]:
    """The same plays as another export spells its platform strings (upper case)."""
    return [replace(play, platform=play.platform.upper()) for play in history]
