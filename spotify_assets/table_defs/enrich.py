"""The enrichment layer's tables: `album_art` and `track_metadata`, what the Spotify Web API
answered for the albums and tracks a landing file introduced.

Declarations only; `spotify_assets.tables` is the index the rest of the code imports from.
"""

from __future__ import annotations

from ..table_spec import TableSpec
from .columns import KEY, LANDING_FILE, col

ALBUM_ART_STATUSES = ("found", "not_found", "pending")

ALBUM_ART = TableSpec(
    name="album_art",
    description="One row per album introduced by a landing file: its cover art from the Spotify Web API.",
    columns=(
        col("album_key", "int64", "The album.", **KEY),
        LANDING_FILE,
        col("album_id", "string", "Spotify album id.", max_length=64),
        col("image_url_large", "string", "Largest cover image URL."),
        col("image_url_medium", "string", "Middle-sized cover image URL."),
        col("image_url_small", "string", "Smallest cover image URL."),
        col("status", "string", "found, not_found or pending.", nullable=False, max_length=16),
        col("fetched_at", "datetime", "When the API last answered for this album."),
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
        col(
            "track_id",
            "string",
            "Spotify track id (22 base62 characters): the key looked up.",
            max_length=64,
            nullable=False,
        ),
        col("track_key", "int64", "The track in dim_track.", nullable=False),
        LANDING_FILE,
        col(
            "status",
            "string",
            f"{', '.join(ALBUM_ART_STATUSES)}: found, a real 404, or not answered yet.",
            max_length=16,
            nullable=False,
        ),
        col("fetched_at", "datetime", "When the API last answered for this track; null while pending."),
        col(
            "raw_json",
            "string",
            "The track object the API returned (compact JSON, every field); null unless found.",
        ),
        col(
            "isrc",
            "string",
            "International Standard Recording Code (external_ids.isrc): one recording "
            "across its releases; null when Spotify knows none.",
            max_length=16,
        ),
        col("duration_ms", "int64", "Track length in milliseconds."),
        col("explicit", "bool", "Explicit lyrics."),
        col(
            "release_date",
            "date",
            "The album's release date; the first day of the year or month when "
            "release_date_precision is year or month; null when Spotify gives none (or 0000).",
        ),
        col(
            "release_date_precision",
            "string",
            f"{', '.join(RELEASE_DATE_PRECISIONS)}: how much of release_date is known.",
            max_length=8,
        ),
        col("album_type", "string", "album, single or compilation.", max_length=16),
        col("album_id", "string", "Spotify album id of this track's release.", max_length=64),
        col("artist_ids", "string", "Spotify ids of the track's artists in credit order, comma-separated."),
        col("image_url_large", "string", "Largest cover image URL of the album."),
        col("image_url_medium", "string", "Middle-sized cover image URL."),
        col("image_url_small", "string", "Smallest cover image URL."),
    ),
    primary_key=("track_id",),
    foreign_keys={"track_key": "dim_track"},
    indexes=(("isrc",), ("track_key",)),
    partitioned=True,
)
