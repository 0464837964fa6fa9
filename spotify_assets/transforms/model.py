"""The star schema: dimensions from the catalogue of what was heard, `fact_streams` from counted plays.

The dimensions never read the plays themselves: they come from `members`, one row per landing
file and distinct track (`TRACK_COLUMNS`: content type, id and names as written), platform or reason
pair of its counted plays, with how often and when they were played. Members are about as many rows
as the listener has distinct tracks (thousands to tens of thousands), so the whole catalogue
(dimensions, name resolution) is recomputed on every model update for the cost of a catalogue,
while the fact is only written for the files that changed.

Plays without a Spotify id (basic account data) are resolved by name (`resolve_names`): an
(artist, title) pair that the listener's own extended/Maven exports know under exactly one id
counts for that track (and its album); a pair pinned in the overrides file counts for the pinned id;
any other stays a track known by name, with a stable key from its normalized names.

"The value on the member played last" (names as shown) breaks ties by value, so nothing depends
on row order. Display names are spellings the exports used; keys use normalized names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

import polars as pl

from ..tables import (
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    DIM_RECORDING,
    DIM_TRACK,
    FACT_STREAMS,
    MODEL_MEMBERS,
    PARTITION_COLUMN,
    TRACK_METADATA,
    TRACK_RESOLUTION,
)
from .identity import name_key
from .keys import normalize_name, stable_key
from .rules import UNKNOWN

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PLATFORM_FAMILIES = (  # first match wins, on the lower-cased platform string
    ("cast", r"cast|chromecast|sonos|speaker|tv|playstation|xbox"),
    ("android", r"android"),
    ("ios", r"ios|iphone|ipad"),
    ("windows", r"windows"),
    ("macos", r"mac|os x|osx"),
    ("linux", r"linux"),
    ("web", r"web|browser"),
)
# What the dimension members are made of; one row per distinct value (combination) is all the dims need.
TRACK_COLUMNS = ["content_type", "content_id", "track_name", "artist_name", "album_name"]
MEMBER_GROUPS = {"track": TRACK_COLUMNS, "platform": ["platform"], "reason": ["reason_start", "reason_end"]}
TRACK_KEY_COLUMNS = ["track_key", "artist_key", "album_key", "fact_content_type"]
MEMBER_COLUMNS = [name for name in MODEL_MEMBERS.column_names if name != PARTITION_COLUMN]
ENRICHMENT_COLUMNS = (
    "track_id",
    "isrc",
    "duration_ms",
    "explicit",
    "release_date",
    "release_date_precision",
    "artist_ids",
)


def no_enrichment() -> pl.DataFrame:
    return TRACK_METADATA.empty().select(ENRICHMENT_COLUMNS)


def date_key(value: pl.Expr) -> pl.Expr:
    """yyyymmdd as an integer."""
    return (
        value.dt.year().cast(pl.Int32) * 10000
        + value.dt.month().cast(pl.Int32) * 100
        + value.dt.day().cast(pl.Int32)
    )


def file_members(winners: pl.LazyFrame) -> list[pl.LazyFrame]:
    """One landing file's members, as one query per kind (collect them together: they share the
    scan): counted plays grouped by a kind's columns (MODEL_MEMBERS rows without landing_file)."""
    queries = []
    for kind, columns in MEMBER_GROUPS.items():
        queries.append(
            winners.group_by(columns)
            .agg(
                pl.len().cast(pl.Int64).alias("plays"),
                pl.col("ts_utc").min().alias("first_ts"),
                pl.col("ts_utc").max().alias("last_ts"),
            )
            .with_columns(
                pl.lit(kind).alias("kind"),
                stable_key(pl.lit(kind), *(pl.col(name) for name in columns)).alias("member_key"),
                *(
                    pl.lit(None, pl.String).alias(name)
                    for group in MEMBER_GROUPS.values()
                    for name in group
                    if name not in columns
                ),
            )
            .select(MEMBER_COLUMNS)
        )
    return queries


def latest(*values: str) -> list[pl.Expr]:
    """Aggregations giving `values` of the member played last (ties: the larger values)."""
    order = [pl.col("last_ts"), *(pl.col(value) for value in values)]
    return [pl.col(value).sort_by(order).last() for value in values]


def resolve_names(members: pl.DataFrame, overrides: pl.DataFrame) -> pl.DataFrame:
    """One row per name pair heard without an id: status, resolved content type and id.

    `members` carry `name_key`; `overrides` (`overrides.SCHEMA`) pin a pair to an id, or to none
    (null track_id: keep it a track known by name).
    """
    known = (
        members.filter(pl.col("content_id").is_not_null())
        .group_by("name_key")
        .agg(pl.struct("content_type", "content_id").unique().alias("ids"))
        .with_columns(pl.col("ids").list.len().cast(pl.Int64).alias("candidate_ids"))
    )
    unique = pl.col("candidate_ids") == 1
    pinned = pl.col("pinned")
    return (
        members.filter(pl.col("content_id").is_null())
        .group_by("name_key")
        .agg(pl.col("plays").sum(), *latest("artist_name", "track_name"), pl.col("content_type").min())
        .join(known, on="name_key", how="left")
        .join(
            overrides.rename({"content_type": "pinned_type", "track_id": "pinned_id"}).with_columns(
                pl.lit(True).alias("pinned")
            ),
            on="name_key",
            how="left",
        )
        .with_columns(pl.col("candidate_ids").fill_null(0), pinned.fill_null(False))
        .with_columns(
            pl.when(pinned & pl.col("pinned_id").is_not_null())
            .then(pl.lit("pinned"))
            .when(pinned)
            .then(pl.lit("unmatched"))
            .when(unique)
            .then(pl.lit("matched"))
            .when(pl.col("candidate_ids") > 1)
            .then(pl.lit("ambiguous"))
            .otherwise(pl.lit("unmatched"))
            .alias("status"),
        )
        .with_columns(
            pl.when(pl.col("status") == "pinned")
            .then(pl.col("pinned_type"))
            .when(pl.col("status") == "matched")
            .then(pl.col("ids").list.first().struct.field("content_type"))
            .alias("resolved_type"),
            pl.when(pl.col("status") == "pinned")
            .then(pl.col("pinned_id"))
            .when(pl.col("status") == "matched")
            .then(pl.col("ids").list.first().struct.field("content_id"))
            .alias("resolved_id"),
        )
        .with_columns(
            pl.when(pl.col("resolved_id").is_not_null())
            .then(stable_key(pl.col("resolved_type"), pl.col("resolved_id")))
            .otherwise(named_track_key(pl.col("content_type")))
            .alias("track_key"),
        )
        .drop("ids", "pinned", "pinned_type", "pinned_id")
    )


def named_track_key(content_type: pl.Expr) -> pl.Expr:
    """The key of a track known only by name: stable_key(content type, artist, title), normalized."""
    return stable_key(
        content_type, normalize_name(pl.col("artist_name")), normalize_name(pl.col("track_name"))
    )


def _keyed(members: pl.DataFrame, resolution: pl.DataFrame) -> pl.DataFrame:
    """Members with the keys their plays count under (a resolved basic member counts for its track)."""
    artist = normalize_name(pl.col("artist_name"))
    own_album = stable_key(normalize_name(pl.col("album_name")), artist)
    without_id = pl.col("content_id").is_null()
    keyed = (
        members.join(resolution.select("name_key", "resolved_type", "resolved_id"), on="name_key", how="left")
        .with_columns(
            pl.when(without_id).then(pl.col("resolved_type")).alias("resolved_type"),
            pl.when(without_id).then(pl.col("resolved_id")).alias("resolved_id"),
        )
        .with_columns(
            pl.coalesce("resolved_type", "content_type").alias("fact_content_type"),
            pl.coalesce("content_id", "resolved_id").alias("track_id"),
            artist.pipe(stable_key).alias("artist_key"),
            own_album.alias("own_album_key"),
        )
        .with_columns(
            pl.when(pl.col("track_id").is_not_null())
            .then(stable_key(pl.col("fact_content_type"), pl.col("track_id")))
            .otherwise(named_track_key(pl.col("fact_content_type")))
            .alias("track_key"),
            # only members with an id of their own know which album a track is on
            (pl.col("content_id").is_not_null() | pl.col("resolved_id").is_null()).alias("knows_album"),
        )
    )
    albums_of_tracks = (
        keyed.filter(pl.col("content_id").is_not_null()).group_by("track_key").agg(*latest("own_album_key"))
    )
    return keyed.join(albums_of_tracks, on="track_key", how="left", suffix="_of_track").with_columns(
        pl.when(pl.col("knows_album"))
        .then(pl.col("own_album_key"))
        .otherwise(pl.coalesce("own_album_key_of_track", "own_album_key"))
        .alias("album_key")
    )


def dim_artist(keyed: pl.DataFrame) -> pl.DataFrame:
    return keyed.group_by("artist_key").agg(*latest("artist_name"))


def dim_album(keyed: pl.DataFrame) -> pl.DataFrame:
    is_track = pl.col("fact_content_type") == "track"
    earliest = [pl.col("first_ts"), pl.col(PARTITION_COLUMN)]
    names = keyed.filter("knows_album").group_by("album_key").agg(*latest("album_name"))
    return (
        keyed.group_by("album_key")
        .agg(
            pl.col("artist_key").min(),
            pl.col("fact_content_type").min().alias("content_type"),
            pl.coalesce(pl.col("track_id").filter(is_track).min(), pl.col("track_id").min()).alias(
                "sample_track_id"
            ),
            pl.col(PARTITION_COLUMN).sort_by(earliest).first().alias("first_landing_file"),
        )
        .join(names, on="album_key", how="left")
        .with_columns(pl.col("album_name").fill_null(UNKNOWN["album"]))
    )


def dim_track(keyed: pl.DataFrame, enrichment: pl.DataFrame) -> pl.DataFrame:
    """Tracks with the Web API's answers (`enrichment`: found track_metadata rows) where known; a
    track's recording is its ISRC's, else the track itself."""
    tracks = (
        keyed.group_by("track_key")
        .agg(
            pl.col("track_id").min(),
            pl.col("fact_content_type").min().alias("content_type"),
            pl.col("plays").sum(),
            *latest("track_name", "artist_key", "album_key"),
        )
        .with_columns(
            pl.when(pl.col("track_id").is_not_null())
            .then(pl.format("spotify:{}:{}", pl.col("content_type"), pl.col("track_id")))
            .alias("track_uri")
        )
    )
    music = enrichment.with_columns(pl.lit("track").alias("content_type"))
    return tracks.join(music, on=["content_type", "track_id"], how="left").with_columns(
        pl.when(pl.col("isrc").is_not_null())
        .then(stable_key(pl.lit("isrc"), pl.col("isrc")))
        .otherwise(pl.col("track_key"))
        .alias("recording_key")
    )


def dim_recording(tracks: pl.DataFrame) -> pl.DataFrame:
    """One row per recording of `dim_track` rows (with their plays): named after its most-played
    track (ties: the smaller track_key)."""
    most_played = [pl.col("plays"), pl.col("track_key")]
    pick = lambda column: pl.col(column).sort_by(most_played, descending=[True, False]).first()  # noqa: E731
    return tracks.group_by("recording_key").agg(
        pl.col("isrc").drop_nulls().first(),
        pick("track_name").alias("recording_name"),
        pick("artist_key"),
        pick("track_key").alias("sample_track_key"),
        pl.len().cast(pl.Int64).alias("track_ids"),
        pick("content_type"),
    )


def platform_key() -> pl.Expr:
    return stable_key(normalize_name(pl.col("platform")))


def reason_key() -> pl.Expr:
    return stable_key(pl.col("reason_start"), pl.col("reason_end"))


def dim_platform(platforms: pl.DataFrame) -> pl.DataFrame:
    lowered = pl.col("platform").str.to_lowercase()
    family = pl.lit("other")
    for name, pattern in reversed(PLATFORM_FAMILIES):
        family = pl.when(lowered.str.contains(pattern)).then(pl.lit(name)).otherwise(family)
    return (
        platforms.group_by(platform_key().alias("platform_key"))
        .agg(pl.col("platform").min())
        .with_columns(family.alias("platform_family"))
    )


def dim_reason(reasons: pl.DataFrame) -> pl.DataFrame:
    return reasons.group_by(reason_key().alias("reason_key")).agg(
        pl.col("reason_start").min(), pl.col("reason_end").min()
    )


def dim_date(keyed: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Every day from the first to the last local listening day."""
    if keyed.is_empty():
        return DIM_DATE.empty()
    first = cast(datetime, keyed["first_ts"].min()).astimezone(ZoneInfo(timezone)).date()
    last = cast(datetime, keyed["last_ts"].max()).astimezone(ZoneInfo(timezone)).date()
    date = pl.col("date")
    return pl.DataFrame({"date": pl.date_range(first, last, "1d", eager=True)}).with_columns(
        date_key(date).alias("date_key"),
        date.dt.year().alias("year"),
        date.dt.quarter().alias("quarter"),
        date.dt.month().alias("month"),
        date.dt.month().replace_strict(range(1, 13), MONTH_NAMES, return_dtype=pl.String).alias("month_name"),
        date.dt.day().alias("day"),
        date.dt.weekday().alias("weekday"),
        date.dt.weekday()
        .replace_strict(range(1, 8), WEEKDAY_NAMES, return_dtype=pl.String)
        .alias("weekday_name"),
        date.dt.week().alias("iso_week"),
        (date.dt.weekday() >= 6).alias("is_weekend"),
    )


@dataclass(frozen=True)
class Catalogue:
    """Everything the model derives from the members: the dimensions, the name resolution, and the
    keys each track member's plays count under (for the fact)."""

    dimensions: dict[str, pl.DataFrame]  # dim_* and track_resolution, conformed and sorted
    track_keys: pl.DataFrame  # TRACK_COLUMNS + TRACK_KEY_COLUMNS, one row per distinct track member


def catalogue(
    members: pl.DataFrame, overrides: pl.DataFrame, timezone: str, enrichment: pl.DataFrame | None = None
) -> Catalogue:
    """The catalogue of every landing file's `members` (MODEL_MEMBERS rows), with the Web API's
    answers about tracks (ENRICHMENT_COLUMNS of found track_metadata rows) where known."""
    kind = pl.col("kind")
    tracks = members.filter(kind == "track").with_columns(
        name_key(pl.col("artist_name"), pl.col("track_name")).alias("name_key")
    )
    resolution = resolve_names(tracks, overrides)
    keyed = _keyed(tracks, resolution)
    track_rows = dim_track(keyed, no_enrichment() if enrichment is None else enrichment)
    frames = [
        (DIM_ARTIST, dim_artist(keyed)),
        (DIM_ALBUM, dim_album(keyed)),
        (DIM_RECORDING, dim_recording(track_rows)),
        (DIM_TRACK, track_rows),
        (DIM_DATE, dim_date(keyed, timezone)),
        (DIM_PLATFORM, dim_platform(members.filter(kind == "platform"))),
        (DIM_REASON, dim_reason(members.filter(kind == "reason"))),
        (TRACK_RESOLUTION, resolution.with_columns(pl.col("resolved_id").alias("track_id"))),
    ]
    dimensions = {spec.name: spec.conform(frame).collect().sort(spec.primary_key) for spec, frame in frames}
    track_keys = keyed.select(*TRACK_COLUMNS, *TRACK_KEY_COLUMNS).unique(subset=TRACK_COLUMNS)
    return Catalogue(dimensions=dimensions, track_keys=track_keys)


def fact_rows(winners: pl.LazyFrame, track_keys: pl.DataFrame, timezone: str) -> pl.LazyFrame:
    """fact_streams rows for counted plays (clean_plays rows), lazily: they stream into the lake.
    Track, artist and album keys come from the catalogue; platform and reason keys are hashed."""
    ts_local = pl.col("ts_utc").dt.convert_time_zone(timezone)
    return FACT_STREAMS.conform(
        winners.join(track_keys.lazy(), on=TRACK_COLUMNS, how="left", nulls_equal=True).with_columns(
            date_key(ts_local).alias("date_key"),
            ts_local.dt.hour().cast(pl.Int16).alias("hour"),
            pl.col("fact_content_type").alias("content_type"),
            platform_key().alias("platform_key"),
            reason_key().alias("reason_key"),
        )
    )
