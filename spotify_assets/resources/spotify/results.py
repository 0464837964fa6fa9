"""What a lookup hands back: one row per track id asked, why it stopped early, and what it cost."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from ...tables import ALBUM_ART_STATUSES

FOUND, NOT_FOUND, PENDING = ALBUM_ART_STATUSES

ANSWER_SCHEMA = pl.Schema(
    {
        "track_id": pl.String(),
        "status": pl.String(),
        "fetched_at": pl.Datetime("us", "UTC"),
        "raw_json": pl.String(),  # the track object as the API returned it; null unless found
    }
)


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
class TrackLookup:
    """One row per requested track id (ANSWER_SCHEMA), why the lookup stopped early, and its cost."""

    tracks: pl.DataFrame
    stats: LookupStats
    # Why some tracks are left pending (quota, rejected credentials, repeated errors); None if none are.
    stop_reason: str | None = None
    # False when trying again cannot help (every credential rejected, single endpoint forbidden).
    retryable: bool = True
    # When the quota allows the next try (a quota stop only); the UI and CLI show it.
    retry_after: datetime | None = None
    warnings: list[str] = field(default_factory=list)


def answer_row(track: dict | None, fetched_at: datetime) -> dict:
    """found with the track object as JSON, or not_found (a 404, or a batch answer of null)."""
    if not track or not track.get("id"):
        return {"status": NOT_FOUND, "fetched_at": fetched_at}
    return {"status": FOUND, "fetched_at": fetched_at, "raw_json": json.dumps(track, separators=(",", ":"))}


def answers_frame(rows: dict[str, dict], track_ids: list[str]) -> pl.DataFrame:
    """One row per track id, in the order asked; ids without an answer are pending."""
    pending = {"status": PENDING}
    return pl.DataFrame(
        [{"track_id": track_id, **rows.get(track_id, pending)} for track_id in track_ids],
        schema=ANSWER_SCHEMA,
    )
