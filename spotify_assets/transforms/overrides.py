"""The overrides file: a listener pins (or unpins) what an (artist, title) pair without an id is.

`SPOTIFY_TRACK_OVERRIDES` (default `data/track_overrides.csv`) is a CSV with the header
`artist_name,track_name,track_id`. `track_id` is a Spotify id (`4uLU6hMCjMI75M1A2tKUQC`), a URI
(`spotify:track:...`, `spotify:episode:...`) or a link as the app copies it
(`https://open.spotify.com/track/...?si=...`); left empty, the pair stays a track known by name
even where the exports would match it. Names are compared normalized (case, accents composed,
surrounding white space), like everywhere in the model. A row that cannot be read is skipped with
a warning naming the file and line; a file that is absent means no overrides.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .identity import name_key

HEADER = ("artist_name", "track_name", "track_id")
ID_FORMS = r"^(?:spotify:(track|episode|chapter):|https?://open\.spotify\.com/(?:intl-[a-z]+/)?(track|episode|chapter)/)?([0-9A-Za-z]{22})(?:[?#].*)?$"
SCHEMA = pl.Schema({"name_key": pl.Int64, "content_type": pl.String, "track_id": pl.String})


@dataclass(frozen=True)
class Overrides:
    pins: pl.DataFrame  # SCHEMA: one row per pinned pair (null track_id: keep it by name)
    digest: str  # changes whenever the file's content does
    warnings: tuple[str, ...] = ()


def _content(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path and Path(path).is_file() else None


def _digest(data: bytes | None) -> str:
    return "none" if data is None else hashlib.sha256(data).hexdigest()[:16]


def overrides_digest(path: str | None) -> str:
    """What identifies the overrides file's content (`none` when unset or absent), as the model's
    settings key has it."""
    return _digest(_content(path))


def load_overrides(path: str | None, log: logging.Logger | None = None) -> Overrides:
    """The overrides at `path` (none when unset or absent)."""
    data = _content(path)
    digest = _digest(data)
    if path is None or data is None:
        return Overrides(pins=pl.DataFrame(schema=SCHEMA), digest=digest)
    name = Path(path).name
    try:
        rows = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy").rename(str.strip)
    except pl.exceptions.PolarsError as error:
        return _unreadable(
            digest, f"{name}: not a CSV ({str(error)[:200]}); expected the columns {', '.join(HEADER)}"
        )
    missing = [column for column in HEADER if column not in rows.columns]
    if missing:
        return _unreadable(
            digest, f"{name} line 1: missing column(s) {', '.join(missing)}; expected {', '.join(HEADER)}"
        )
    parts = pl.col("track_id").str.strip_chars().str.extract_groups(ID_FORMS)
    parsed = (
        rows.with_row_index("line", offset=2)
        .with_columns(
            pl.col("track_id").fill_null("").str.strip_chars().alias("track_id"),
        )
        .with_columns(
            parts.struct.field("3").alias("id"),
            pl.coalesce(parts.struct.field("1"), parts.struct.field("2"), pl.lit("track"))
            .replace({"chapter": "audiobook"})
            .alias("content_type"),
        )
    )
    unreadable = parsed.filter(
        ((pl.col("track_id") != "") & pl.col("id").is_null())
        | pl.col("artist_name").is_null()
        | pl.col("track_name").is_null()
    )
    warnings = tuple(
        f"{name} line {line}: {track_id!r} is not a Spotify track id, URI or link (or a name is missing); "
        "row ignored"
        for line, track_id in unreadable.select("line", "track_id").rows()
    )
    for warning in warnings:
        (log or logging.getLogger(__name__)).warning(warning)
    pins = (
        parsed.join(unreadable.select("line"), on="line", how="anti")
        .select(
            name_key(pl.col("artist_name"), pl.col("track_name")).alias("name_key"),
            pl.when(pl.col("id").is_not_null()).then(pl.col("content_type")).alias("content_type"),
            pl.col("id").alias("track_id"),
            "line",
        )
        .sort("line")
        .unique(subset="name_key", keep="last")
        .drop("line")  # a later row wins
    )
    return Overrides(pins=pins.cast(SCHEMA), digest=digest, warnings=warnings)


def _unreadable(digest: str, message: str) -> Overrides:
    logging.getLogger(__name__).warning(message + "; the overrides are ignored")
    return Overrides(pins=pl.DataFrame(schema=SCHEMA), digest=digest, warnings=(message,))
