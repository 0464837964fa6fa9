"""The ingest layer's tables: `raw_plays`, `clean_plays`, `rejected_plays`, `file_reads`, with
the values their columns may hold.

Declarations only; `spotify_assets.tables` is the index the rest of the code imports from.
"""

from __future__ import annotations

from ..table_spec import PARTITION_COLUMN, TableSpec
from .columns import (
    DUPLICATE_IN_FILE,
    FILE_COLUMNS,
    FILTERED,
    LANDING_FILE,
    REJECTED,
    SOURCE_FILE,
    SOURCE_LINE,
    col,
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
DATE_ORDERS = ("dmy", "mdy")

RAW_PLAYS = TableSpec(
    name="raw_plays",
    description="One row per record read from a landing file, values as text exactly as they came.",
    columns=(
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        col("source_format", "string", "maven_csv, extended_json or basic_json.", nullable=False),
        col(
            "date_order",
            "string",
            "How the file writes year-last dates: dmy or mdy (decided per CSV file from its values), "
            "else null.",
        ),
        col("parse_error", "string", "Structural problem found while reading (e.g. wrong column count)."),
        col("raw_text", "string", "The record as read, kept for rows with a parse error."),
        *(col(name, "string", f"`{name}` as read from the file.") for name in RAW_TEXT_FIELDS),
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
        col("play_key", "int64", "Stable key of the play (see keys.play_key).", nullable=False),
        LANDING_FILE,
        SOURCE_FILE,
        SOURCE_LINE,
        col(
            "source_format",
            "string",
            "maven_csv, extended_json or basic_json.",
            nullable=False,
            max_length=16,
        ),
        col("ts_utc", "datetime", "When the play ended, UTC.", nullable=False),
        col("content_type", "string", "track, episode or audiobook.", nullable=False),
        col(
            "content_id",
            "string",
            "Spotify id (22 base62 characters) of the track/episode/chapter; null in basic account data.",
        ),
        col(
            "track_name", "string", "Track, episode or chapter title, as the export wrote it.", nullable=False
        ),
        col(
            "artist_name", "string", "Artist; for podcasts the show; for audiobooks the book.", nullable=False
        ),
        col("album_name", "string", "Album; for podcasts the show; for audiobooks the book.", nullable=False),
        col("platform", "string", "Device/platform as reported.", nullable=False),
        col("reason_start", "string", "Why the play started (unknown when missing).", nullable=False),
        col("reason_end", "string", "Why the play ended (unknown when missing).", nullable=False),
        col("ms_played", "int64", "Milliseconds played.", nullable=False),
        col("shuffle", "bool", "Shuffle was on.", nullable=False),
        col("skipped", "bool", "The listener skipped to the next item.", nullable=False),
        col("offline", "bool", "Played offline (Extended history only).", nullable=False),
        col("incognito_mode", "bool", "Private session (Extended history only).", nullable=False),
        col("conn_country", "string", "Country code of the connection (Extended history only)."),
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
        col(
            "reason",
            "string",
            f"Reason code, one of: {', '.join(REJECT_REASONS)}.",
            nullable=False,
            max_length=64,
        ),
        col("detail", "string", "Human-readable explanation naming the bad value.", nullable=False),
        col("raw_text", "string", "The record as read (CSV line or JSON object).", nullable=False),
    ),
    primary_key=(PARTITION_COLUMN, "source_file", "source_line"),
    indexes=(("reason",),),
    partitioned=True,
)

FILE_READS = TableSpec(
    name="file_reads",
    description="One row per ingested landing file: what its ingest read and decided on its own "
    "(rows read = valid + filtered + duplicate_in_file + rejected).",
    columns=(
        *FILE_COLUMNS,
        col(
            "valid",
            "int64",
            "Distinct valid plays of at least 500 ms (its clean_plays rows).",
            nullable=False,
        ),
        FILTERED,
        DUPLICATE_IN_FILE,
        REJECTED,
        col(
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
