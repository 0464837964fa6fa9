"""What a lookup hands back: one row per track id asked, why it stopped early, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from ...tables import ALBUM_ART_STATUSES

FOUND, NOT_FOUND, PENDING = ALBUM_ART_STATUSES

LOOKUP_SCHEMA = pl.Schema({
    "track_id": pl.String(),
    "album_id": pl.String(),
    "image_url_large": pl.String(),
    "image_url_medium": pl.String(),
    "image_url_small": pl.String(),
    "status": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
})


@dataclass
class LookupStats:
    """What a lookup cost: the numbers the asset records as metadata."""

    calls: int = 0
    token_requests: int = 0
    http_429s: int = 0
    retries: int = 0
    elapsed_seconds: float = 0.0
    endpoint: str = "none"  # batch, single or none


@dataclass
class AlbumArtLookup:
    """One row per requested track id (LOOKUP_SCHEMA), why the lookup stopped early, and its cost."""

    tracks: pl.DataFrame
    stats: LookupStats
    # Why some tracks are left pending (quota, rejected credentials, repeated errors); None if none are.
    stop_reason: str | None = None
    # False when trying again cannot help (every credential rejected, single endpoint forbidden).
    retryable: bool = True
    # When the quota allows the next try (a quota stop only); the UI and CLI show it.
    retry_after: datetime | None = None
    warnings: list[str] = field(default_factory=list)


def track_row(track: dict | None, fetched_at: datetime) -> dict:
    """found with the album's cover URLs (largest, middle, smallest), or not_found."""
    album = (track or {}).get("album") or {}
    if not album.get("id"):
        return {"status": NOT_FOUND, "fetched_at": fetched_at}
    images = sorted(album.get("images") or [], key=lambda image: image.get("width") or 0, reverse=True)
    urls = [image.get("url") for image in images]
    return {
        "album_id": album["id"],
        "image_url_large": urls[0] if urls else None,
        "image_url_medium": urls[len(urls) // 2] if urls else None,
        "image_url_small": urls[-1] if urls else None,
        "status": FOUND,
        "fetched_at": fetched_at,
    }


def rows_frame(rows: dict[str, dict], track_ids: list[str]) -> pl.DataFrame:
    """One row per track id; ids without an answer are pending."""
    pending = {"status": PENDING}
    return pl.DataFrame(
        [{"track_id": track_id, **rows.get(track_id, pending)} for track_id in track_ids],
        schema=LOOKUP_SCHEMA,
    )
