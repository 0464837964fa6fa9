"""What a landing file's Spotify lookup asks for, and the album_art and track_metadata rows it writes.

Pure Polars on the model's tables (dim_album, dim_track, fact_streams) and the lookup tables as
stored (album_art, track_metadata); no Dagster, no HTTP.

Ownership (each key lives in exactly one landing-file partition, so partitions never write the same
row): a track id belongs to the partition already holding it in track_metadata, otherwise to the
landing file of its earliest play; an album likewise, through album_art and dim_album's
`first_landing_file`. The track of an album's earliest play is therefore in the album's partition
when both are first seen, so a partition can always ask for its own albums' covers.

What is asked, in order (the budget may stop the list anywhere; the rest stays pending):
1. one track per album of the partition without a cover that no found track covers yet: the
   album's most-played track of the partition (its response also fills that track's row);
2. every other track of the partition that needs a lookup, most-played first.
A track needs a lookup when it has no row, is `pending`, or is `not_found` for longer than
`not_found_retry_days`; `found` is never asked again.

An album's row follows from its tracks: `found` with the cover of its most-played found track
(a found row is kept as it is), else `pending` while any of its tracks is unanswered, else `not_found`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from ..tables import ALBUM_ART_STATUSES, PARTITION_COLUMN
from .track_responses import IMAGE_COLUMNS, PARSED_COLUMNS, album_covers, parse_tracks

MUSIC_CONTENT_TYPE = "track"
FOUND, NOT_FOUND, PENDING = ALBUM_ART_STATUSES
TRACK_STATE_COLUMNS = [PARTITION_COLUMN, "status", "fetched_at", "album_id", *IMAGE_COLUMNS]


def needs_lookup(*, now: datetime, not_found_retry_days: int) -> pl.Expr:
    """Never looked up, pending, or not_found for longer than `not_found_retry_days`."""
    status = pl.col("status")
    fetched_at = pl.col("fetched_at")
    stale = fetched_at.is_null() | (fetched_at < now - timedelta(days=not_found_retry_days))
    return status.is_null() | (status == PENDING) | ((status == NOT_FOUND) & stale)


def music_track_ids(dim_track: pl.LazyFrame) -> pl.LazyFrame:
    """The tracks a lookup can ask for: played as music and with a Spotify id (track_key, track_id,
    album_key)."""
    return dim_track.filter(
        (pl.col("content_type") == MUSIC_CONTENT_TYPE) & pl.col("track_id").is_not_null()
    ).select("track_key", "track_id", "album_key")


def fact_plays(fact_streams: pl.LazyFrame) -> pl.LazyFrame:
    """All the lookup plan reads of the fact, in one pass: plays and earliest play per track_key,
    album_key and landing file (a few rows per track); `music_tracks` and `album_members` take it."""
    return fact_streams.group_by("track_key", "album_key", PARTITION_COLUMN).agg(
        pl.len().cast(pl.Int64).alias("plays"), pl.col("ts_utc").min().alias("first_ts")
    )


def music_tracks(dim_track: pl.LazyFrame, played: pl.LazyFrame, dim_album: pl.LazyFrame) -> pl.LazyFrame:
    """One row per Spotify track id played as music: track_key, plays, first_landing_file.

    `played` is `fact_plays` of the fact. Plays without a track id (basic history plays no id
    resolved) are not looked up. The first landing file is that of the earliest play (ties: the
    smallest file name); a track with no play in the fact falls back to its album's first landing
    file.
    """
    plays = played.group_by("track_key").agg(pl.col("plays").sum(), pl.col("first_ts").min())
    first_file = (
        played.join(plays.select("track_key", "first_ts"), on=["track_key", "first_ts"])
        .group_by("track_key")
        .agg(pl.col(PARTITION_COLUMN).min().alias("first_landing_file"))
    )
    album_file = dim_album.select("album_key", pl.col("first_landing_file").alias("album_landing_file"))
    return (
        music_track_ids(dim_track)
        .join(plays, on="track_key", how="left")
        .join(first_file, on="track_key", how="left")
        .join(album_file, on="album_key", how="left")
        .with_columns(
            pl.col("plays").fill_null(0).cast(pl.Int64),
            pl.coalesce("first_landing_file", "album_landing_file").alias("first_landing_file"),
        )
        .sort(["track_id", "first_ts", "first_landing_file", "track_key"], nulls_last=True)
        .group_by("track_id", maintain_order=True)
        .agg(
            pl.col("track_key", "first_landing_file").first(),
            pl.col("plays").sum(),
        )
    )


def music_track_plays(dim_track: pl.LazyFrame, fact_streams: pl.LazyFrame) -> pl.LazyFrame:
    """One row per Spotify track id played as music, as `music_tracks` has them: track_id, plays
    (without the first landing file: the fact grouped by track alone, less than `fact_plays`)."""
    plays = fact_streams.group_by("track_key").agg(pl.len().alias("plays"))
    return (
        music_track_ids(dim_track)
        .select("track_key", "track_id")
        .join(plays, on="track_key", how="left")
        .group_by("track_id")
        .agg(pl.col("plays").fill_null(0).cast(pl.Int64).sum())
    )


def album_members(dim_track: pl.LazyFrame, played: pl.LazyFrame) -> pl.LazyFrame:
    """(album_key, track_id) for every music track id played on an album: from the plays (`played`:
    `fact_plays` of the fact; a track may have been played under several album names) and from
    dim_track's last-seen album."""
    music = music_track_ids(dim_track)
    on_albums = (
        played.select("album_key", "track_key")
        .unique()
        .join(music.select("track_key", "track_id"), on="track_key")
    )
    return pl.concat(
        [on_albums.select("album_key", "track_id"), music.select("album_key", "track_id")]
    ).unique()


def track_states(tracks: pl.LazyFrame, track_metadata: pl.LazyFrame) -> pl.LazyFrame:
    """`tracks` with their stored lookup state and owner partition (`owner`)."""
    stored = track_metadata.select("track_id", *TRACK_STATE_COLUMNS)
    return tracks.join(stored, on="track_id", how="left").with_columns(
        pl.coalesce(PARTITION_COLUMN, "first_landing_file").alias("owner")
    )


def album_states(dim_album: pl.LazyFrame, album_art: pl.LazyFrame) -> pl.LazyFrame:
    """Music albums with their stored album_art row (null when never written) and owner partition.

    Only albums with a Spotify track id can have art: the "unknown album" of tracks known only by
    name (basic account data) is left out. Such an album disappears from dim_album when a later
    export resolves its plays, and a row for it would be left behind in album_art (an orphan the
    MySQL warehouse refuses)."""
    music = dim_album.filter(
        (pl.col("content_type") == MUSIC_CONTENT_TYPE) & pl.col("sample_track_id").is_not_null()
    ).select("album_key", "first_landing_file")
    stored = album_art.select(
        "album_key", PARTITION_COLUMN, "status", "fetched_at", "album_id", *IMAGE_COLUMNS
    )
    return music.join(stored, on="album_key", how="left").with_columns(
        pl.coalesce(PARTITION_COLUMN, "first_landing_file").alias("owner")
    )


def ids_to_ask(
    tracks: pl.DataFrame,
    members: pl.DataFrame,
    albums: pl.DataFrame,
    *,
    partition: str,
    now: datetime,
    not_found_retry_days: int,
) -> list[str]:
    """The track ids `partition` asks for, in order: one per uncovered album, then most-played first.

    `tracks` from track_states, `members` from album_members, `albums` from album_states (all partitions).
    """
    due = tracks.filter(
        (pl.col("owner") == partition) & needs_lookup(now=now, not_found_retry_days=not_found_retry_days)
    )
    covered = album_covers(members.lazy().join(tracks.lazy(), on="track_id")).select("album_key")
    uncovered = (
        albums.lazy()
        .filter((pl.col("owner") == partition) & (pl.col("status").is_null() | (pl.col("status") != FOUND)))
        .join(covered, on="album_key", how="anti")
        .select("album_key")
    )
    by_plays = ["plays", "track_id"]
    firsts = (
        members.lazy()
        .join(uncovered, on="album_key", how="semi")
        .join(due.lazy(), on="track_id")
        .sort(by_plays, descending=[True, False])
        .group_by("album_key", maintain_order=True)
        .agg(pl.col("track_id", "plays").first())
        .sort(by_plays, descending=[True, False])
        .select("track_id")
        .unique(maintain_order=True)  # a track may come first for two albums
        .collect()
    )
    rest = due.join(firsts, on="track_id", how="anti").sort(by_plays, descending=[True, False])
    return [*firsts["track_id"].to_list(), *rest["track_id"].to_list()]


def partition_tracks(
    tracks: pl.DataFrame, stored: pl.LazyFrame, answers: pl.DataFrame, *, partition: str
) -> pl.DataFrame:
    """track_metadata rows of `partition`: every track it owns, answered, kept, or pending.

    `stored` is track_metadata as stored (every column); `answers` the lookup's rows (track_id,
    status, fetched_at, raw_json). An answer replaces the stored row; a track left unanswered keeps
    its stored row (a stale not_found stays not_found until the API answers again) or becomes pending.
    """
    owned = tracks.lazy().filter(pl.col("owner") == partition).select("track_id", "track_key")
    answered = answers.lazy().filter(pl.col("status") != PENDING)
    fresh = parse_tracks(owned.join(answered, on="track_id", how="inner"))
    kept = (
        owned.join(answered, on="track_id", how="anti")
        .join(stored.drop("track_key"), on="track_id", how="left")
        .with_columns(pl.col("status").fill_null(PENDING))
    )
    columns = ["track_id", "track_key", "status", "fetched_at", "raw_json", *PARSED_COLUMNS]
    return (
        pl.concat([fresh.select(columns), kept.select(columns)], how="vertical_relaxed")
        .sort("track_id")
        .collect()
    )


def partition_albums(
    albums: pl.DataFrame, tracks: pl.DataFrame, members: pl.DataFrame, *, partition: str
) -> pl.DataFrame:
    """album_art rows of `partition` from the tracks' state after the lookup (`tracks` from
    track_states, all partitions; `members` from album_members)."""
    owned = albums.lazy().filter(pl.col("owner") == partition)
    kept = owned.filter(pl.col("status") == FOUND)
    album_tracks = members.lazy().join(tracks.lazy(), on="track_id")
    covers = album_covers(album_tracks)
    by_album = album_tracks.group_by("album_key").agg(
        (pl.col("status").is_null() | (pl.col("status") == PENDING)).any().alias("unanswered"),
        pl.col("fetched_at").max().alias("last_answer"),
    )
    derived = (
        owned.filter(pl.col("status").is_null() | (pl.col("status") != FOUND))
        .select("album_key")
        .join(covers, on="album_key", how="left")
        .join(by_album, on="album_key", how="left")
        .with_columns(
            pl.when(pl.col("album_id").is_not_null())
            .then(pl.lit(FOUND))
            .when(pl.col("unanswered").fill_null(False))
            .then(pl.lit(PENDING))
            .otherwise(pl.lit(NOT_FOUND))
            .alias("status"),
        )
        .with_columns(
            pl.when(pl.col("status") == NOT_FOUND)
            .then("last_answer")
            .when(pl.col("status") == FOUND)
            .then("fetched_at")
            .alias("fetched_at")
        )
    )
    columns = ["album_key", "album_id", *IMAGE_COLUMNS, "status", "fetched_at"]
    return pl.concat([kept.select(columns), derived.select(columns)]).sort("album_key").collect()


def pending_summary(
    tracks: pl.DataFrame,
    members: pl.DataFrame,
    albums: pl.DataFrame,
    *,
    now: datetime,
    not_found_retry_days: int,
) -> dict:
    """How many albums and tracks are not answered yet, and which partitions have lookups due."""
    unanswered = pl.col("status").is_null() | (pl.col("status") == PENDING)
    due = needs_lookup(now=now, not_found_retry_days=not_found_retry_days)
    # an album is due in its own partition even when its tracks are answered elsewhere: that partition
    # derives its row (no call); an album without any track id has nothing to ask
    album_due = albums.filter(due).join(members, on="album_key", how="semi")
    partitions = set(tracks.filter(due)["owner"].drop_nulls()) | set(album_due["owner"].drop_nulls())
    return {
        "albums_pending": albums.filter(unanswered).height,
        "tracks_pending": tracks.filter(unanswered).height,
        "partitions": sorted(partitions),
    }
