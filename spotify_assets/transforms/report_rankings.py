"""The report's top lists, from the fact's per-track aggregation (see report.py): pure Polars, no Dagster.

Music lists (artists, albums, tracks, recordings) rank by listens (the listen rule, SPOTIFY_LISTEN_RULE),
then minutes, then plays, then name and key, so the order is stable. Podcasts and audiobooks rank by
minutes: a show is listened to for its hours, not its number of 30-second starts.

A recording is the track ids of one ISRC merged (`dim_track.recording_key` -> `dim_recording`); it is
named after its most-played track, with that track's artist, as `dim_recording` says. A track whose
recording is not in `dim_recording` (the model never writes one) counts as its own recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
SUMMED = ("plays", "listens", "ms_played", "skips", "shuffles")
BY_LISTENS = ("listens", "ms_played", "plays")
BY_MINUTES = ("ms_played", "plays")
COUNTS = ("plays", "listens", "ms_played", "minutes")


@dataclass(frozen=True)
class SpokenFigures:
    """Podcasts or audiobooks: how much, how many titles (shows, books) and items, the top titles."""

    plays: int
    hours: float
    titles: int  # distinct shows (books)
    items: int  # distinct episodes (chapters)
    top_titles: pl.DataFrame  # rank, artist_key, title, plays, listens, ms_played, minutes


def minutes(ms: pl.Expr) -> pl.Expr:
    """Minutes to one decimal, half away from zero, as the warehouse views' ROUND(x / 60000.0, 1)."""
    return (ms / MS_PER_MINUTE).round(1, mode="half_away_from_zero")


def hours(ms: int) -> float:
    """Hours to one decimal, half away from zero (ms is never negative), in whole numbers until the end."""
    return (ms * 10 + MS_PER_HOUR // 2) // MS_PER_HOUR / 10


def play_sums(frame: pl.DataFrame, *group: str) -> pl.DataFrame:
    """The count columns of `frame` (plays, listens, ms_played, skips, shuffles) summed by `group`."""
    return frame.group_by(*group).agg(pl.col(name).sum() for name in SUMMED if name in frame.columns)


def ranked(
    frame: pl.DataFrame, name: str, key: str, top_n: int, by: tuple[str, ...] = BY_LISTENS
) -> pl.DataFrame:
    """The `top_n` rows by the `by` columns (largest first), then name and key, numbered 1..n."""
    return (
        frame.sort([*by, name, key], descending=[True] * len(by) + [False, False], nulls_last=True)
        .head(top_n)
        .with_columns(minutes(pl.col("ms_played")).alias("minutes"))
        .with_row_index("rank", offset=1)
    )


def top_artists(music_tracks: pl.DataFrame, artists: pl.DataFrame, top_n: int) -> pl.DataFrame:
    """rank, artist_key, artist_name, plays, listens, ms_played, minutes."""
    per_artist = play_sums(music_tracks, "artist_key").join(artists, on="artist_key", how="left")
    return ranked(per_artist, "artist_name", "artist_key", top_n).select(
        "rank", "artist_key", "artist_name", *COUNTS
    )


def top_albums(
    music_tracks: pl.DataFrame,
    artists: pl.DataFrame,
    dim_album: pl.LazyFrame,
    album_art: pl.LazyFrame,
    top_n: int,
) -> pl.DataFrame:
    """Top albums with the album's artist and a cover URL (medium, else large) when art was found."""
    albums = dim_album.select("album_key", "album_name", "artist_key").collect()
    covers = (
        album_art.filter(pl.col("status") == "found")
        .select("album_key", pl.coalesce("image_url_medium", "image_url_large").alias("cover_url"))
        .collect()
    )
    per_album = play_sums(music_tracks, "album_key").join(albums, on="album_key", how="left")
    return (
        ranked(per_album, "album_name", "album_key", top_n)
        .join(artists, on="artist_key", how="left")
        .join(covers, on="album_key", how="left")
        .sort("rank")
        .select("rank", "album_key", "album_name", "artist_name", *COUNTS, "cover_url")
    )


def top_tracks(
    music_tracks: pl.DataFrame, artists: pl.DataFrame, tracks: pl.DataFrame, top_n: int
) -> pl.DataFrame:
    """Top tracks (track ids) with the name and artist they were last seen with (dim_track)."""
    per_track = play_sums(music_tracks, "track_key").join(
        tracks.select("track_key", "track_name", "artist_key"), on="track_key", how="left"
    )
    return (
        ranked(per_track, "track_name", "track_key", top_n)
        .join(artists, on="artist_key", how="left")
        .sort("rank")
        .select("rank", "track_key", "track_name", "artist_name", *COUNTS)
    )


def recordings_played(
    music_tracks: pl.DataFrame, tracks: pl.DataFrame, recordings: pl.DataFrame
) -> pl.DataFrame:
    """One row per recording played: the plays of every track id of one ISRC together, named as
    dim_recording names it (else after its most-played track); `track_ids` is how many of its track
    ids were played."""
    per_track = (
        play_sums(music_tracks, "track_key")
        .join(
            tracks.select("track_key", "track_name", "artist_key", "recording_key"),
            on="track_key",
            how="left",
        )
        .with_columns(pl.coalesce("recording_key", "track_key").alias("recording_key"))
    )
    most_played = [pl.col("ms_played"), pl.col("track_key")]
    per_recording = per_track.group_by("recording_key").agg(
        *(pl.col(name).sum() for name in ("plays", "listens", "ms_played")),
        pl.len().cast(pl.Int64).alias("track_ids"),
        *(
            pl.col(name).sort_by(most_played, descending=[True, False]).first().alias(f"top_{name}")
            for name in ("track_name", "artist_key")
        ),
    )
    return per_recording.join(recordings, on="recording_key", how="left").with_columns(
        pl.coalesce("recording_name", "top_track_name").alias("recording_name"),
        pl.coalesce("artist_key", "top_artist_key").alias("artist_key"),
    )


def top_recordings(played: pl.DataFrame, artists: pl.DataFrame, top_n: int) -> pl.DataFrame:
    """The top recordings of `recordings_played` rows: rank, recording_key, recording_name,
    artist_name, isrc, track_ids and the counts."""
    return (
        ranked(played, "recording_name", "recording_key", top_n)
        .join(artists, on="artist_key", how="left")
        .sort("rank")
        .select("rank", "recording_key", "recording_name", "artist_name", "isrc", "track_ids", *COUNTS)
    )


def spoken(items: pl.DataFrame, artists: pl.DataFrame, top_n: int) -> SpokenFigures:
    """Figures for podcast episodes or audiobook chapters; the show (book) is the artist."""
    per_title = (
        play_sums(items, "artist_key")
        .join(artists, on="artist_key", how="left")
        .rename({"artist_name": "title"})
    )
    return SpokenFigures(
        plays=int(items["plays"].sum()),
        hours=hours(int(items["ms_played"].sum())),
        titles=items["artist_key"].n_unique(),
        items=items["track_key"].n_unique(),
        top_titles=ranked(per_title, "title", "artist_key", top_n, BY_MINUTES).select(
            "rank", "artist_key", "title", *COUNTS
        ),
    )
