"""What every reader shares: the formats, the field maps, the limits and the error."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ...tables import PARTITION_COLUMN, RAW_PLAYS, RAW_TEXT_FIELDS

MAVEN_CSV = "maven_csv"
EXTENDED_JSON = "extended_json"
BASIC_JSON = "basic_json"

MAVEN_COLUMNS = (
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
# raw_plays column -> Extended Streaming History field
EXTENDED_FIELDS = {name: name for name in RAW_TEXT_FIELDS if name != "author_name"} | {
    "track_name": "master_metadata_track_name",
    "artist_name": "master_metadata_album_artist_name",
    "album_name": "master_metadata_album_album_name",
}
# raw_plays column -> basic "Account data" field (music, podcast and audiobook files)
BASIC_FIELDS = {  # in the export's own order
    "ts": "endTime",
    "artist_name": "artistName",
    "track_name": "trackName",
    "ms_played": "msPlayed",
    "episode_show_name": "podcastName",
    "episode_name": "episodeName",
    "audiobook_title": "audiobookName",
    "audiobook_chapter_title": "chapterName",
    "author_name": "authorName",
}
UTF8_BOM = b"\xef\xbb\xbf"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's directory end

# Real history files are at most ~15 MB each. A JSON file or ZIP member is parsed whole, and
# Polars' JSON reader peaks at ~8.5 times the file's size (measured: 103 MB of Extended history,
# 0.87 GB), so a larger one is refused before it is read: this bounds a read at ~2.2 GB. A ZIP
# member's size is checked as declared and again while it inflates. CSV files stream: no limit.
MAX_MEMBER_BYTES = 256 << 20
MAX_ARCHIVE_BYTES = 4 << 30  # all members of one ZIP together, uncompressed (read one at a time)
HEAD_BYTES = 64 << 10


class NotAHistoryFile(ValueError):
    """The file is not a Spotify history in a supported format; the message says what was expected."""


class DateOrderUnknown(NotAHistoryFile):
    """A CSV whose year-last dates could be day-first or month-first, and no setting says which."""


@dataclass(frozen=True)
class HistoryRead:
    """One landing file read: its plays (raw_plays rows, lazily) and, for a ZIP, which members were
    read as histories and which were skipped (member name, why) because they are not histories."""

    plays: pl.LazyFrame
    members_read: tuple[str, ...] = ()
    members_skipped: tuple[tuple[str, str], ...] = ()

    def metadata(self) -> dict[str, int | str]:
        """What an ingest records about the read: member counts and the skipped members."""
        notes: dict[str, int | str] = {
            "members_read": len(self.members_read),
            "members_skipped": len(self.members_skipped),
        }
        if self.members_skipped:
            notes["skipped_members"] = "\n".join(f"{member}: {why}" for member, why in self.members_skipped)
        return notes


def short_reason(error: NotAHistoryFile, name: str) -> str:
    """The first clause of a refusal, without the leading `name: `."""
    return str(error).removeprefix(f"{name}: ").split("; ")[0]


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def raw_frame(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`frame` with every raw_plays column (missing ones null) in table order, without the partition."""
    present = frame.collect_schema().names()
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in RAW_PLAYS.polars_schema().items()
        if name not in present and name != PARTITION_COLUMN
    ]
    columns = [name for name in RAW_PLAYS.column_names if name != PARTITION_COLUMN]
    return frame.with_columns(missing).select(columns)
