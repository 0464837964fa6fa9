"""The model layer's tables: the star schema (`dim_*`, `fact_streams`), `file_accounting`,
`duplicate_plays`, `track_resolution`, and the bookkeeping the model step keeps for itself.

Declarations only; `spotify_assets.tables` is the index the rest of the code imports from.
"""

from __future__ import annotations

from ..table_spec import PARTITION_COLUMN, TableSpec
from .columns import (
    DUPLICATE_IN_FILE,
    FILE_COLUMNS,
    FILTERED,
    KEY,
    LANDING_FILE,
    REJECTED,
    SOURCE_FILE,
    SOURCE_LINE,
    col,
)

FILE_ACCOUNTING = TableSpec(
    name="file_accounting",
    description="One row per landing file: every row read is counted as clean, filtered, duplicate or "
    "rejected.",
    columns=(
        *FILE_COLUMNS,
        col("clean", "int64", "Plays of this file counted in fact_streams.", nullable=False),
        FILTERED,
        col(
            "duplicate",
            "int64",
            "Copies of a play counted once: duplicate_in_file + duplicate_across_files.",
            nullable=False,
        ),
        REJECTED,
        DUPLICATE_IN_FILE,
        col(
            "duplicate_across_files",
            "int64",
            "Valid plays whose copy in another file (or export) is the one counted (see duplicate_plays).",
            nullable=False,
        ),
    ),
    primary_key=(PARTITION_COLUMN,),
)

DUPLICATE_RULES = ("same_play", "export_overlap")

DUPLICATE_PLAYS = TableSpec(
    name="duplicate_plays",
    description="One row per valid play of a file that is not counted because another copy of it is: the "
    "same play in another file, or an extended/Maven play of a basic one.",
    columns=(
        LANDING_FILE,
        col("play_key", "int64", "The play's key in this file.", nullable=False),
        SOURCE_FILE,
        SOURCE_LINE,
        col("kept_play_key", "int64", "Key of the copy that is counted.", nullable=False),
        col(
            "kept_landing_file",
            "string",
            "Landing file of the copy that is counted.",
            nullable=False,
            max_length=200,
        ),
        col("rule", "string", f"Why: {' or '.join(DUPLICATE_RULES)}.", nullable=False, max_length=16),
    ),
    primary_key=(PARTITION_COLUMN, "play_key"),
    partitioned=True,
)

DIM_ARTIST = TableSpec(
    name="dim_artist",
    description="One row per artist (podcast show, audiobook) heard.",
    columns=(
        col("artist_key", "int64", "Stable key: stable_key(lower(trim(artist_name))).", **KEY),
        col("artist_name", "string", "Artist name as shown.", nullable=False, max_length=512),
    ),
    primary_key=("artist_key",),
    indexes=(("artist_name",),),
)

DIM_ALBUM = TableSpec(
    name="dim_album",
    description="One row per album, an album being its name plus its artist.",
    columns=(
        col("album_key", "int64", "Stable key: stable_key(album name, artist name).", **KEY),
        col("album_name", "string", "Album name as shown.", nullable=False),
        col("artist_key", "int64", "The album's artist.", **KEY),
        col("content_type", "string", "track (music album), episode (show) or audiobook.", nullable=False),
        col(
            "sample_track_id",
            "string",
            "One track of the album (smallest id), used to look up its cover; null when no track id is "
            "known.",
            max_length=64,
        ),
        col(
            "first_landing_file",
            "string",
            "Landing file of the album's earliest play: the album_art partition that looks it up.",
            nullable=False,
            max_length=200,
        ),
    ),
    primary_key=("album_key",),
    foreign_keys={"artist_key": "dim_artist"},
)

DIM_TRACK = TableSpec(
    name="dim_track",
    description="One row per track, podcast episode or audiobook chapter played.",
    columns=(
        col(
            "track_key",
            "int64",
            "Stable key: stable_key(content_type, content_id); a track known only by name (basic account "
            "data): stable_key(content_type, artist name, title).",
            **KEY,
        ),
        col("track_id", "string", "Spotify id; null for a track known only by name.", max_length=64),
        col(
            "track_uri", "string", "spotify:<type>:<id>; null for a track known only by name.", max_length=96
        ),
        col("track_name", "string", "Title as last seen.", nullable=False),
        col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        col("artist_key", "int64", "Artist (show, book) as last seen.", **KEY),
        col("album_key", "int64", "Album (show, book) as last seen.", **KEY),
        col(
            "recording_key",
            "int64",
            "The recording (dim_recording) the track is a release of: all track ids "
            "sharing an ISRC are one recording; a track without a known ISRC is its own.",
            **KEY,
        ),
        col(
            "isrc",
            "string",
            "ISRC from the Spotify Web API (track_metadata); null until looked up or when "
            "Spotify knows none.",
            max_length=16,
        ),
        col("duration_ms", "int64", "Track length from the Spotify Web API; null until looked up."),
        col("explicit", "bool", "Explicit lyrics, from the Spotify Web API; null until looked up."),
        col(
            "release_date",
            "date",
            "Release date of the track's album (first day of the year or month when "
            "release_date_precision says so); null until looked up.",
        ),
        col("release_date_precision", "string", "year, month or day.", max_length=8),
        col("artist_ids", "string", "Spotify ids of the track's artists, comma-separated in credit order."),
    ),
    primary_key=("track_key",),
    foreign_keys={"artist_key": "dim_artist", "album_key": "dim_album", "recording_key": "dim_recording"},
)

DIM_RECORDING = TableSpec(
    name="dim_recording",
    description="One row per recording: the track ids that share an ISRC (album, single, compilation "
    "releases of one recording) count as one; a track without a known ISRC is its own recording.",
    columns=(
        col(
            "recording_key",
            "int64",
            "Stable key: stable_key('isrc', ISRC), or the track_key of a track without a known ISRC.",
            **KEY,
        ),
        col("isrc", "string", "The recording's ISRC; null for a track without one.", max_length=16),
        col("recording_name", "string", "Title of its most-played track.", nullable=False),
        col("artist_key", "int64", "Artist of its most-played track.", **KEY),
        col("sample_track_key", "int64", "Its most-played track.", **KEY),
        col("track_ids", "int64", "How many track ids (releases) it merges.", nullable=False),
        col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
    ),
    primary_key=("recording_key",),
    foreign_keys={"artist_key": "dim_artist"},
)

DIM_DATE = TableSpec(
    name="dim_date",
    description="One row per calendar day from the first to the last local listening day.",
    columns=(
        col("date_key", "int32", "yyyymmdd.", **KEY),
        col("date", "date", "The day.", nullable=False),
        col("year", "int16", "Year.", nullable=False),
        col("quarter", "int16", "Quarter 1-4.", nullable=False),
        col("month", "int16", "Month 1-12.", nullable=False),
        col("month_name", "string", "January ... December.", nullable=False),
        col("day", "int16", "Day of month.", nullable=False),
        col("weekday", "int16", "ISO weekday, Monday = 1.", nullable=False),
        col("weekday_name", "string", "Monday ... Sunday.", nullable=False),
        col("iso_week", "int16", "ISO week number.", nullable=False),
        col("is_weekend", "bool", "Saturday or Sunday.", nullable=False),
    ),
    primary_key=("date_key",),
)

DIM_PLATFORM = TableSpec(
    name="dim_platform",
    description="One row per platform string reported by Spotify.",
    columns=(
        col("platform_key", "int64", "Stable key: stable_key(lower(trim(platform))).", **KEY),
        col("platform", "string", "Platform as reported.", nullable=False),
        col(
            "platform_family",
            "string",
            "android, ios, windows, macos, linux, web, cast, other.",
            nullable=False,
            max_length=32,
        ),
    ),
    primary_key=("platform_key",),
)

DIM_REASON = TableSpec(
    name="dim_reason",
    description="One row per (reason_start, reason_end) pair seen.",
    columns=(
        col("reason_key", "int64", "Stable key: stable_key(reason_start, reason_end).", **KEY),
        col("reason_start", "string", "Why plays started.", nullable=False, max_length=64),
        col("reason_end", "string", "Why plays ended.", nullable=False, max_length=64),
    ),
    primary_key=("reason_key",),
)

FACT_STREAMS = TableSpec(
    name="fact_streams",
    description="One row per clean play, with foreign keys to every dimension.",
    columns=(
        col("play_key", "int64", "Stable key of the play.", **KEY),
        col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        col("date_key", "int32", "Local date (SPOTIFY_TIMEZONE), yyyymmdd.", **KEY),
        col("hour", "int16", "Local hour 0-23.", nullable=False),
        col("track_key", "int64", "Track, episode or chapter.", **KEY),
        col("artist_key", "int64", "Artist, show or book.", **KEY),
        col("album_key", "int64", "Album, show or book.", **KEY),
        col("platform_key", "int64", "Platform.", **KEY),
        col("reason_key", "int64", "Start/end reason pair.", **KEY),
        col("ms_played", "int64", "Milliseconds played.", nullable=False),
        col("shuffle", "bool", "Shuffle was on.", nullable=False),
        col("skipped", "bool", "Skipped.", nullable=False),
        col("offline", "bool", "Played offline.", nullable=False),
        col("incognito_mode", "bool", "Private session.", nullable=False),
        col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        col("source_file", "string", "File the play came from.", nullable=False),
        col(
            "source_format",
            "string",
            "Export the counted copy came from: extended_json, maven_csv or basic_json.",
            nullable=False,
            max_length=16,
        ),
        LANDING_FILE,
    ),
    primary_key=("play_key",),
    partitioned=True,
    foreign_keys={
        "date_key": "dim_date",
        "track_key": "dim_track",
        "artist_key": "dim_artist",
        "album_key": "dim_album",
        "platform_key": "dim_platform",
        "reason_key": "dim_reason",
    },
    indexes=(("date_key",), ("track_key",), ("artist_key",)),
)

RESOLUTION_STATUSES = ("matched", "pinned", "ambiguous", "unmatched")

TRACK_RESOLUTION = TableSpec(
    name="track_resolution",
    description="One row per (artist, title) pair heard without a Spotify id (basic account data): the track "
    "it was matched to from the listener's own exports or the overrides file, or why not.",
    columns=(
        col("name_key", "int64", "Stable key: stable_key(artist name, title), both normalized.", **KEY),
        col("artist_name", "string", "Artist (show, book) as last heard.", nullable=False),
        col("track_name", "string", "Title as last heard.", nullable=False),
        col(
            "content_type",
            "string",
            "What the basic export called it: track, episode or audiobook.",
            nullable=False,
            max_length=16,
        ),
        col("status", "string", f"One of {', '.join(RESOLUTION_STATUSES)}.", nullable=False, max_length=16),
        col(
            "track_id",
            "string",
            "The Spotify id the pair resolved to (null unless matched or pinned).",
            max_length=64,
        ),
        col("track_key", "int64", "The dim_track row its plays count for.", **KEY),
        col(
            "candidate_ids",
            "int64",
            "Distinct Spotify ids the listener's exports know for this pair.",
            nullable=False,
        ),
        col("plays", "int64", "Counted plays of the pair in basic account data.", nullable=False),
    ),
    primary_key=("name_key",),
    foreign_keys={"track_key": "dim_track"},
)

# Model bookkeeping: lake tables the model step keeps for itself (not assets, not published).
MEMBER_KINDS = ("track", "platform", "reason")

MODEL_MEMBERS = TableSpec(
    name="model_members",
    description="One row per landing file and distinct track (content type, id, names), platform or reason "
    "pair of its counted plays, with how often and when they were played.",
    columns=(
        LANDING_FILE,
        col("member_key", "int64", "stable_key of kind and values.", nullable=False),
        col(
            "kind", "string", f"One of {', '.join(MEMBER_KINDS)}: which values the row holds.", nullable=False
        ),
        col("content_type", "string", "As in clean_plays (track rows)."),
        col("content_id", "string", "As in clean_plays (track rows)."),
        col("track_name", "string", "As in clean_plays (track rows)."),
        col("artist_name", "string", "As in clean_plays (track rows)."),
        col("album_name", "string", "As in clean_plays (track rows)."),
        col("platform", "string", "As in clean_plays (platform rows)."),
        col("reason_start", "string", "As in clean_plays (reason rows)."),
        col("reason_end", "string", "As in clean_plays (reason rows)."),
        col("plays", "int64", "Counted plays.", nullable=False),
        col("first_ts", "datetime", "Earliest counted play.", nullable=False),
        col("last_ts", "datetime", "Latest counted play.", nullable=False),
    ),
    primary_key=(PARTITION_COLUMN, "member_key"),
    partitioned=True,
)

MODEL_STATE = TableSpec(
    name="model_state",
    description="One row per landing file the star schema reflects: which ingest of it, under which "
    "settings.",
    columns=(
        LANDING_FILE,
        col("ingest_id", "string", "file_reads.ingest_id the model last applied.", nullable=False),
        col(
            "settings_key",
            "string",
            "Model version, time zone and overrides the tables were built with.",
            nullable=False,
        ),
        col(
            "catalogue_key",
            "string",
            "Digest of the Web API answers (track_metadata) the dimensions include.",
            nullable=False,
        ),
        col(
            "complete",
            "bool",
            "False while an update is being written (a crash then forces a rebuild).",
            nullable=False,
        ),
    ),
    primary_key=(PARTITION_COLUMN,),
)
