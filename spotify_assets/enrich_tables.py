"""The enrichment tables that are not in `tables.py` yet (they move there when the model takes them).

`track_metadata` keeps what `GET /v1/tracks/{id}` answered for every track looked up: the response as
it came (`raw_json`, so nothing needs asking twice when a later version wants another field) and the
fields the model uses, parsed from it. One row per Spotify track id, in the landing-file partition
that owns the track (the file of its earliest play when first seen; see transforms/lookup_plan.py).
"""

from __future__ import annotations

from .tables import ALBUM_ART_STATUSES, LANDING_FILE, Column, TableSpec

RELEASE_DATE_PRECISIONS = ("year", "month", "day")
KEY = {"nullable": False}

TRACK_METADATA = TableSpec(
    name="track_metadata",
    description=(
        "One row per Spotify track id played: what GET /v1/tracks/{id} answered (raw JSON and parsed "
        "fields) and its lookup status."
    ),
    columns=(
        Column("track_id", "string", "Spotify track id (22 base62 characters): the key looked up.",
               max_length=64, **KEY),
        Column("track_key", "int64", "The track in dim_track.", **KEY),
        LANDING_FILE,
        Column("status", "string", f"{', '.join(ALBUM_ART_STATUSES)}: found, a real 404, or not answered yet.",
               max_length=16, **KEY),
        Column("fetched_at", "datetime", "When the API last answered for this track; null while pending."),
        Column("raw_json", "string", "The track object the API returned (compact JSON, every field); null unless found."),
        Column("isrc", "string", "International Standard Recording Code (external_ids.isrc): one recording "
               "across its releases; null when Spotify knows none.", max_length=16),
        Column("duration_ms", "int64", "Track length in milliseconds."),
        Column("explicit", "bool", "Explicit lyrics."),
        Column("release_date", "date", "The album's release date; the first day of the year or month when "
               "release_date_precision is year or month; null when Spotify gives none (or 0000)."),
        Column("release_date_precision", "string",
               f"{', '.join(RELEASE_DATE_PRECISIONS)}: how much of release_date is known.", max_length=8),
        Column("album_type", "string", "album, single or compilation.", max_length=16),
        Column("album_id", "string", "Spotify album id of this track's release.", max_length=64),
        Column("artist_ids", "string", "Spotify ids of the track's artists in credit order, comma-separated."),
        Column("image_url_large", "string", "Largest cover image URL of the album."),
        Column("image_url_medium", "string", "Middle-sized cover image URL."),
        Column("image_url_small", "string", "Smallest cover image URL."),
    ),
    primary_key=("track_id",),
    foreign_keys={"track_key": "dim_track"},
    indexes=(("isrc",), ("track_key",)),
    partitioned=True,
)
