"""Every table of the platform, specified once (the machinery is in `table_spec.py`).

Each `TableSpec` below names a table's columns, logical types, primary key, foreign keys and
indexes: the Delta schema, the warehouse DDL, the asset checks and the UI's column schema all come
from here. Table names are asset names: the same in the lake, the warehouse and the UI.
"""

from __future__ import annotations

from .table_spec import PARTITION_COLUMN as PARTITION_COLUMN
from .table_spec import POLARS_TYPES as POLARS_TYPES
from .table_spec import Column, TableSpec, check_foreign_keys


def _col(name: str, type_: str, description: str, **options) -> Column:
    return Column(name, type_, description, **options)


LANDING_FILE = _col(
    PARTITION_COLUMN,
    "string",
    "Partition key: landing file stem plus a short content hash.",
    nullable=False,
    max_length=200,
)
SOURCE_FILE = _col(
    "source_file",
    "string",
    "File the row came from (for a ZIP: archive/member).",
    nullable=False,
    max_length=400,
)
SOURCE_LINE = _col(
    "source_line",
    "int64",
    "CSV: physical line where the record starts (header is line 1). JSON: record number, from 1.",
    nullable=False,
)

RAW_TEXT_FIELDS = (
    "ts",
    "platform",
    "ms_played",
    "spotify_track_uri",
    "track_name",
    "artist_name",
    "album_name",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "incognito_mode",
    "conn_country",
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
    "author_name",
)
SOURCE_FORMATS = ("extended_json", "maven_csv", "basic_json")  # also the order in which copies win
DATE_ORDERS = ("dmy", "mdy")

RAW_PLAYS = TableSpec(
    name="raw_plays",
    description="One row per record read from a landing file, values as text exactly as they came.",
    columns=(
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col("source_format", "string", "maven_csv, extended_json or basic_json.", nullable=False),
        _col(
            "date_order",
            "string",
            "How the file writes year-last dates: dmy or mdy (decided per CSV file from its values), "
            "else null.",
        ),
        _col("parse_error", "string", "Structural problem found while reading (e.g. wrong column count)."),
        _col("raw_text", "string", "The record as read, kept for rows with a parse error."),
        *(_col(name, "string", f"`{name}` as read from the file.") for name in RAW_TEXT_FIELDS),
    ),
    primary_key=(PARTITION_COLUMN, "source_file", "source_line"),
    partitioned=True,
)

CONTENT_TYPES = ("track", "episode", "audiobook")

CLEAN_PLAYS = TableSpec(
    name="clean_plays",
    description="One row per distinct valid play of at least 500 ms in a landing file, typed. Copies of a "
    "play inside the file are counted once; copies in other files are decided by the model.",
    columns=(
        _col("play_key", "int64", "Stable key of the play (see keys.play_key).", nullable=False),
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col(
            "source_format",
            "string",
            "maven_csv, extended_json or basic_json.",
            nullable=False,
            max_length=16,
        ),
        _col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False),
        _col(
            "content_id",
            "string",
            "Spotify id (22 base62 characters) of the track/episode/chapter; null in basic account data.",
        ),
        _col(
            "track_name", "string", "Track, episode or chapter title, as the export wrote it.", nullable=False
        ),
        _col(
            "artist_name", "string", "Artist; for podcasts the show; for audiobooks the book.", nullable=False
        ),
        _col(
            "album_name", "string", "Album; for podcasts the show; for audiobooks the book.", nullable=False
        ),
        _col("platform", "string", "Device/platform as reported.", nullable=False),
        _col("reason_start", "string", "Why the play started (unknown when missing).", nullable=False),
        _col("reason_end", "string", "Why the play ended (unknown when missing).", nullable=False),
        _col("ms_played", "int64", "Milliseconds played.", nullable=False),
        _col("shuffle", "bool", "Shuffle was on.", nullable=False),
        _col("skipped", "bool", "The listener skipped to the next item.", nullable=False),
        _col("offline", "bool", "Played offline (Extended history only).", nullable=False),
        _col("incognito_mode", "bool", "Private session (Extended history only).", nullable=False),
        _col("conn_country", "string", "Country code of the connection (Extended history only)."),
    ),
    primary_key=(PARTITION_COLUMN, "play_key"),
    partitioned=True,
)

REJECT_REASONS = {
    "wrong_column_count": "the record does not have as many fields as the header",
    "bad_timestamp": "ts is missing or not a timestamp",
    "ms_played_not_integer": "ms_played is missing or not a whole number",
    "ms_played_negative": "ms_played is negative",
    "missing_content_id": "no track, episode or audiobook URI",
    "missing_title": "a basic account-data record names no track, episode or chapter",
    "malformed_content_id": "the URI is not a 22-character base62 id or spotify:<type>:<id>",
    "bad_boolean": "shuffle/skipped/offline/incognito_mode is not true or false",
}

REJECTED_PLAYS = TableSpec(
    name="rejected_plays",
    description="One row per record that could not be used, with where it was and why.",
    columns=(
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        _col(
            "reason",
            "string",
            f"Reason code, one of: {', '.join(REJECT_REASONS)}.",
            nullable=False,
            max_length=64,
        ),
        _col("detail", "string", "Human-readable explanation naming the bad value.", nullable=False),
        _col("raw_text", "string", "The record as read (CSV line or JSON object).", nullable=False),
    ),
    primary_key=(PARTITION_COLUMN, "source_file", "source_line"),
    indexes=(("reason",),),
    partitioned=True,
)

FILE_FORMATS = (*SOURCE_FORMATS, "mixed", "empty")

# What both per-file tables say of a landing file: its name, bytes, format and the file-local counts.
FILE_COLUMNS = (
    LANDING_FILE,
    _col("file_name", "string", "Name of the landing file.", nullable=False),
    _col(
        "content_hash",
        "string",
        "The first 12 hex digits of the xxh3-64 of the file's bytes.",
        nullable=False,
    ),
    _col("source_format", "string", f"One of {', '.join(FILE_FORMATS)}.", nullable=False, max_length=16),
    _col("rows_read", "int64", "Records read (blank lines excluded).", nullable=False),
)
FILTERED = _col("filtered", "int64", "Valid rows under 500 ms.", nullable=False)
REJECTED = _col("rejected", "int64", "Rows sent to rejected_plays.", nullable=False)
DUPLICATE_IN_FILE = _col(
    "duplicate_in_file", "int64", "Repeats of a play earlier in the same file.", nullable=False
)

FILE_READS = TableSpec(
    name="file_reads",
    description="One row per ingested landing file: what its ingest read and decided on its own "
    "(rows read = valid + filtered + duplicate_in_file + rejected).",
    columns=(
        *FILE_COLUMNS,
        _col(
            "valid",
            "int64",
            "Distinct valid plays of at least 500 ms (its clean_plays rows).",
            nullable=False,
        ),
        FILTERED,
        DUPLICATE_IN_FILE,
        REJECTED,
        _col(
            "ingest_id",
            "string",
            "Fingerprint of what the ingest kept (rules, counts, plays): the model "
            "notices a new one; the same file ingested again gets the same.",
            nullable=False,
            max_length=64,
        ),
    ),
    primary_key=(PARTITION_COLUMN,),
    partitioned=True,
)

FILE_ACCOUNTING = TableSpec(
    name="file_accounting",
    description="One row per landing file: every row read is counted as clean, filtered, duplicate or "
    "rejected.",
    columns=(
        *FILE_COLUMNS,
        _col("clean", "int64", "Plays of this file counted in fact_streams.", nullable=False),
        FILTERED,
        _col(
            "duplicate",
            "int64",
            "Copies of a play counted once: duplicate_in_file + duplicate_across_files.",
            nullable=False,
        ),
        REJECTED,
        DUPLICATE_IN_FILE,
        _col(
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
        _col("play_key", "int64", "The play's key in this file.", nullable=False),
        SOURCE_FILE,
        SOURCE_LINE,
        _col("kept_play_key", "int64", "Key of the copy that is counted.", nullable=False),
        _col(
            "kept_landing_file",
            "string",
            "Landing file of the copy that is counted.",
            nullable=False,
            max_length=200,
        ),
        _col("rule", "string", f"Why: {' or '.join(DUPLICATE_RULES)}.", nullable=False, max_length=16),
    ),
    primary_key=(PARTITION_COLUMN, "play_key"),
    partitioned=True,
)

KEY = {"nullable": False}

DIM_ARTIST = TableSpec(
    name="dim_artist",
    description="One row per artist (podcast show, audiobook) heard.",
    columns=(
        _col("artist_key", "int64", "Stable key: stable_key(lower(trim(artist_name))).", **KEY),
        _col("artist_name", "string", "Artist name as shown.", nullable=False, max_length=512),
    ),
    primary_key=("artist_key",),
    indexes=(("artist_name",),),
)

DIM_ALBUM = TableSpec(
    name="dim_album",
    description="One row per album, an album being its name plus its artist.",
    columns=(
        _col("album_key", "int64", "Stable key: stable_key(album name, artist name).", **KEY),
        _col("album_name", "string", "Album name as shown.", nullable=False),
        _col("artist_key", "int64", "The album's artist.", **KEY),
        _col("content_type", "string", "track (music album), episode (show) or audiobook.", nullable=False),
        _col(
            "sample_track_id",
            "string",
            "One track of the album (smallest id), used to look up its cover; null when no track id is "
            "known.",
            max_length=64,
        ),
        _col(
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
        _col(
            "track_key",
            "int64",
            "Stable key: stable_key(content_type, content_id); a track known only by name (basic account "
            "data): stable_key(content_type, artist name, title).",
            **KEY,
        ),
        _col("track_id", "string", "Spotify id; null for a track known only by name.", max_length=64),
        _col(
            "track_uri", "string", "spotify:<type>:<id>; null for a track known only by name.", max_length=96
        ),
        _col("track_name", "string", "Title as last seen.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        _col("artist_key", "int64", "Artist (show, book) as last seen.", **KEY),
        _col("album_key", "int64", "Album (show, book) as last seen.", **KEY),
        _col(
            "recording_key",
            "int64",
            "The recording (dim_recording) the track is a release of: all track ids "
            "sharing an ISRC are one recording; a track without a known ISRC is its own.",
            **KEY,
        ),
        _col(
            "isrc",
            "string",
            "ISRC from the Spotify Web API (track_metadata); null until looked up or when "
            "Spotify knows none.",
            max_length=16,
        ),
        _col("duration_ms", "int64", "Track length from the Spotify Web API; null until looked up."),
        _col("explicit", "bool", "Explicit lyrics, from the Spotify Web API; null until looked up."),
        _col(
            "release_date",
            "date",
            "Release date of the track's album (first day of the year or month when "
            "release_date_precision says so); null until looked up.",
        ),
        _col("release_date_precision", "string", "year, month or day.", max_length=8),
        _col("artist_ids", "string", "Spotify ids of the track's artists, comma-separated in credit order."),
    ),
    primary_key=("track_key",),
    foreign_keys={"artist_key": "dim_artist", "album_key": "dim_album", "recording_key": "dim_recording"},
)

DIM_RECORDING = TableSpec(
    name="dim_recording",
    description="One row per recording: the track ids that share an ISRC (album, single, compilation "
    "releases of one recording) count as one; a track without a known ISRC is its own recording.",
    columns=(
        _col(
            "recording_key",
            "int64",
            "Stable key: stable_key('isrc', ISRC), or the track_key of a track without a known ISRC.",
            **KEY,
        ),
        _col("isrc", "string", "The recording's ISRC; null for a track without one.", max_length=16),
        _col("recording_name", "string", "Title of its most-played track.", nullable=False),
        _col("artist_key", "int64", "Artist of its most-played track.", **KEY),
        _col("sample_track_key", "int64", "Its most-played track.", **KEY),
        _col("track_ids", "int64", "How many track ids (releases) it merges.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
    ),
    primary_key=("recording_key",),
    foreign_keys={"artist_key": "dim_artist"},
)

DIM_DATE = TableSpec(
    name="dim_date",
    description="One row per calendar day from the first to the last local listening day.",
    columns=(
        _col("date_key", "int32", "yyyymmdd.", **KEY),
        _col("date", "date", "The day.", nullable=False),
        _col("year", "int16", "Year.", nullable=False),
        _col("quarter", "int16", "Quarter 1-4.", nullable=False),
        _col("month", "int16", "Month 1-12.", nullable=False),
        _col("month_name", "string", "January ... December.", nullable=False),
        _col("day", "int16", "Day of month.", nullable=False),
        _col("weekday", "int16", "ISO weekday, Monday = 1.", nullable=False),
        _col("weekday_name", "string", "Monday ... Sunday.", nullable=False),
        _col("iso_week", "int16", "ISO week number.", nullable=False),
        _col("is_weekend", "bool", "Saturday or Sunday.", nullable=False),
    ),
    primary_key=("date_key",),
)

DIM_PLATFORM = TableSpec(
    name="dim_platform",
    description="One row per platform string reported by Spotify.",
    columns=(
        _col("platform_key", "int64", "Stable key: stable_key(lower(trim(platform))).", **KEY),
        _col("platform", "string", "Platform as reported.", nullable=False),
        _col(
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
        _col("reason_key", "int64", "Stable key: stable_key(reason_start, reason_end).", **KEY),
        _col("reason_start", "string", "Why plays started.", nullable=False, max_length=64),
        _col("reason_end", "string", "Why plays ended.", nullable=False, max_length=64),
    ),
    primary_key=("reason_key",),
)

FACT_STREAMS = TableSpec(
    name="fact_streams",
    description="One row per clean play, with foreign keys to every dimension.",
    columns=(
        _col("play_key", "int64", "Stable key of the play.", **KEY),
        _col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        _col("date_key", "int32", "Local date (SPOTIFY_TIMEZONE), yyyymmdd.", **KEY),
        _col("hour", "int16", "Local hour 0-23.", nullable=False),
        _col("track_key", "int64", "Track, episode or chapter.", **KEY),
        _col("artist_key", "int64", "Artist, show or book.", **KEY),
        _col("album_key", "int64", "Album, show or book.", **KEY),
        _col("platform_key", "int64", "Platform.", **KEY),
        _col("reason_key", "int64", "Start/end reason pair.", **KEY),
        _col("ms_played", "int64", "Milliseconds played.", nullable=False),
        _col("shuffle", "bool", "Shuffle was on.", nullable=False),
        _col("skipped", "bool", "Skipped.", nullable=False),
        _col("offline", "bool", "Played offline.", nullable=False),
        _col("incognito_mode", "bool", "Private session.", nullable=False),
        _col("content_type", "string", "track, episode or audiobook.", nullable=False, max_length=16),
        _col("source_file", "string", "File the play came from.", nullable=False),
        _col(
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

ALBUM_ART_STATUSES = ("found", "not_found", "pending")

ALBUM_ART = TableSpec(
    name="album_art",
    description="One row per album introduced by a landing file: its cover art from the Spotify Web API.",
    columns=(
        _col("album_key", "int64", "The album.", **KEY),
        LANDING_FILE,
        _col("album_id", "string", "Spotify album id.", max_length=64),
        _col("image_url_large", "string", "Largest cover image URL."),
        _col("image_url_medium", "string", "Middle-sized cover image URL."),
        _col("image_url_small", "string", "Smallest cover image URL."),
        _col("status", "string", "found, not_found or pending.", nullable=False, max_length=16),
        _col("fetched_at", "datetime", "When the API last answered for this album."),
    ),
    primary_key=("album_key",),
    foreign_keys={"album_key": "dim_album"},
    partitioned=True,
)

RELEASE_DATE_PRECISIONS = ("year", "month", "day")
TRACK_METADATA = TableSpec(
    name="track_metadata",
    description=(
        "One row per Spotify track id played: what GET /v1/tracks/{id} answered (raw JSON and parsed "
        "fields) and its lookup status."
    ),
    columns=(
        _col(
            "track_id",
            "string",
            "Spotify track id (22 base62 characters): the key looked up.",
            max_length=64,
            nullable=False,
        ),
        _col("track_key", "int64", "The track in dim_track.", nullable=False),
        LANDING_FILE,
        _col(
            "status",
            "string",
            f"{', '.join(ALBUM_ART_STATUSES)}: found, a real 404, or not answered yet.",
            max_length=16,
            nullable=False,
        ),
        _col("fetched_at", "datetime", "When the API last answered for this track; null while pending."),
        _col(
            "raw_json",
            "string",
            "The track object the API returned (compact JSON, every field); null unless found.",
        ),
        _col(
            "isrc",
            "string",
            "International Standard Recording Code (external_ids.isrc): one recording "
            "across its releases; null when Spotify knows none.",
            max_length=16,
        ),
        _col("duration_ms", "int64", "Track length in milliseconds."),
        _col("explicit", "bool", "Explicit lyrics."),
        _col(
            "release_date",
            "date",
            "The album's release date; the first day of the year or month when "
            "release_date_precision is year or month; null when Spotify gives none (or 0000).",
        ),
        _col(
            "release_date_precision",
            "string",
            f"{', '.join(RELEASE_DATE_PRECISIONS)}: how much of release_date is known.",
            max_length=8,
        ),
        _col("album_type", "string", "album, single or compilation.", max_length=16),
        _col("album_id", "string", "Spotify album id of this track's release.", max_length=64),
        _col("artist_ids", "string", "Spotify ids of the track's artists in credit order, comma-separated."),
        _col("image_url_large", "string", "Largest cover image URL of the album."),
        _col("image_url_medium", "string", "Middle-sized cover image URL."),
        _col("image_url_small", "string", "Smallest cover image URL."),
    ),
    primary_key=("track_id",),
    foreign_keys={"track_key": "dim_track"},
    indexes=(("isrc",), ("track_key",)),
    partitioned=True,
)

RESOLUTION_STATUSES = ("matched", "pinned", "ambiguous", "unmatched")

TRACK_RESOLUTION = TableSpec(
    name="track_resolution",
    description="One row per (artist, title) pair heard without a Spotify id (basic account data): the track "
    "it was matched to from the listener's own exports or the overrides file, or why not.",
    columns=(
        _col("name_key", "int64", "Stable key: stable_key(artist name, title), both normalized.", **KEY),
        _col("artist_name", "string", "Artist (show, book) as last heard.", nullable=False),
        _col("track_name", "string", "Title as last heard.", nullable=False),
        _col(
            "content_type",
            "string",
            "What the basic export called it: track, episode or audiobook.",
            nullable=False,
            max_length=16,
        ),
        _col("status", "string", f"One of {', '.join(RESOLUTION_STATUSES)}.", nullable=False, max_length=16),
        _col(
            "track_id",
            "string",
            "The Spotify id the pair resolved to (null unless matched or pinned).",
            max_length=64,
        ),
        _col("track_key", "int64", "The dim_track row its plays count for.", **KEY),
        _col(
            "candidate_ids",
            "int64",
            "Distinct Spotify ids the listener's exports know for this pair.",
            nullable=False,
        ),
        _col("plays", "int64", "Counted plays of the pair in basic account data.", nullable=False),
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
        _col("member_key", "int64", "stable_key of kind and values.", nullable=False),
        _col(
            "kind", "string", f"One of {', '.join(MEMBER_KINDS)}: which values the row holds.", nullable=False
        ),
        _col("content_type", "string", "As in clean_plays (track rows)."),
        _col("content_id", "string", "As in clean_plays (track rows)."),
        _col("track_name", "string", "As in clean_plays (track rows)."),
        _col("artist_name", "string", "As in clean_plays (track rows)."),
        _col("album_name", "string", "As in clean_plays (track rows)."),
        _col("platform", "string", "As in clean_plays (platform rows)."),
        _col("reason_start", "string", "As in clean_plays (reason rows)."),
        _col("reason_end", "string", "As in clean_plays (reason rows)."),
        _col("plays", "int64", "Counted plays.", nullable=False),
        _col("first_ts", "datetime", "Earliest counted play.", nullable=False),
        _col("last_ts", "datetime", "Latest counted play.", nullable=False),
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
        _col("ingest_id", "string", "file_reads.ingest_id the model last applied.", nullable=False),
        _col(
            "settings_key",
            "string",
            "Model version, time zone and overrides the tables were built with.",
            nullable=False,
        ),
        _col(
            "catalogue_key",
            "string",
            "Digest of the Web API answers (track_metadata) the dimensions include.",
            nullable=False,
        ),
        _col(
            "complete",
            "bool",
            "False while an update is being written (a crash then forces a rebuild).",
            nullable=False,
        ),
    ),
    primary_key=(PARTITION_COLUMN,),
)

LAKE_TABLES = (
    RAW_PLAYS,
    CLEAN_PLAYS,
    REJECTED_PLAYS,
    FILE_READS,
    FILE_ACCOUNTING,
    DUPLICATE_PLAYS,
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
    TRACK_RESOLUTION,
    ALBUM_ART,
    TRACK_METADATA,
)
BOOKKEEPING_TABLES = (MODEL_MEMBERS, MODEL_STATE)
# Published to the warehouse, dimensions before the fact so foreign keys resolve.
WAREHOUSE_TABLES = (
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
    ALBUM_ART,
    REJECTED_PLAYS,
    FILE_ACCOUNTING,
    TRACK_RESOLUTION,
)
STAR_SCHEMA = (
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
)
TABLES = {spec.name: spec for spec in (*LAKE_TABLES, *BOOKKEEPING_TABLES)}
check_foreign_keys(TABLES)
