"""The figures of the listening report, from the star schema: pure Polars, lazy, no Dagster.

Three aggregations read the fact (by local day/hour and content type, by platform, and by track);
every figure is derived from those small results, so the work grows with the history once and
with the catalogue after that.

How content types count:
* "all listening" (plays, hours, minutes per month, the weekday x hour heatmap) counts every play:
  music, podcast episodes and audiobook chapters, so the numbers equal the warehouse views
  (`v_minutes_by_month`, `v_listening_by_weekday_hour`), which do not filter on content type;
  minutes per month are split by content type as well.
* music figures (distinct tracks/artists/albums, top artists/albums/tracks, skip rates, shuffle
  share, new artists per year) count `content_type = 'track'` only;
* podcasts (`episode`) and audiobooks (`audiobook`) get their own figures, where the show (book)
  is the fact's artist.

Minutes are `ms_played / 60000` rounded to one decimal half away from zero, as the warehouse
views' `ROUND(SUM(ms_played) / 60000.0, 1)` in SQLite; hours likewise from `ms_played / 3600000`. Local date and hour are the
fact's `date_key` and `hour`; the weekday comes from `dim_date`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from ..tables import CONTENT_TYPES
from .model import WEEKDAY_NAMES

MUSIC, PODCAST, AUDIOBOOK = CONTENT_TYPES
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
DEFAULT_TOP_N = 20
HOURS = range(24)
WEEKDAYS = range(1, 8)


@dataclass(frozen=True)
class SpokenFigures:
    """Podcasts or audiobooks: how much, how many titles (shows, books) and items, the top titles."""

    plays: int
    hours: float
    titles: int  # distinct shows (books)
    items: int  # distinct episodes (chapters)
    top_titles: pl.DataFrame  # rank, artist_key, title, plays, ms_played, minutes


@dataclass(frozen=True)
class ListeningFigures:
    """Every figure of the report; frames are small (months, 7 x 24 cells, top N...).

    `totals`: plays, hours, music_/podcast_/audiobook_ plays and hours, tracks, artists, albums
    (music), first_day, last_day, music_skip_rate, shuffle_share.
    """

    totals: dict
    months: pl.DataFrame  # year, month, month_key, plays, ms_played, minutes, <kind>_minutes
    weekday_hour: pl.DataFrame  # weekday, weekday_name, hour, plays, ms_played, minutes (7 x 24 rows)
    top_artists: pl.DataFrame  # rank, artist_key, artist_name, plays, ms_played, minutes
    top_albums: pl.DataFrame  # rank, album_key, album_name, artist_name, plays, ms_played, minutes, cover_url
    top_tracks: pl.DataFrame  # rank, track_key, track_name, artist_name, plays, ms_played, minutes
    skip_by_platform: pl.DataFrame  # platform_family, plays, skips, skip_rate
    skip_by_hour: pl.DataFrame  # hour, plays, skips, skip_rate (24 rows)
    new_artists_by_year: pl.DataFrame  # year, new_artists (every year of the range)
    podcasts: SpokenFigures
    audiobooks: SpokenFigures


def minutes(ms: pl.Expr) -> pl.Expr:
    """Minutes to one decimal, half away from zero, as the warehouse views' ROUND(x / 60000.0, 1)."""
    return (ms / MS_PER_MINUTE).round(1, mode="half_away_from_zero")


def _hours(ms: int) -> float:
    """Hours to one decimal, half away from zero (ms is never negative)."""
    return math.floor(ms / MS_PER_HOUR * 10 + 0.5) / 10


def _rate(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole).otherwise(0.0)


def _ranked(frame: pl.DataFrame, name: str, key: str, top_n: int) -> pl.DataFrame:
    """The `top_n` rows by minutes, then plays, then name and key (a stable order), numbered 1..n."""
    return (
        frame.sort(["ms_played", "plays", name, key], descending=[True, True, False, False])
        .head(top_n)
        .with_columns(minutes(pl.col("ms_played")).alias("minutes"))
        .with_row_index("rank", offset=1)
    )


def _play_sums(frame: pl.LazyFrame | pl.DataFrame, *group: str) -> pl.LazyFrame | pl.DataFrame:
    return frame.group_by(*group).agg(
        pl.col("plays").sum(), pl.col("ms_played").sum(), pl.col("skips").sum(), pl.col("shuffles").sum()
    )


def aggregate_fact(fact: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The fact's three aggregations: by local day, hour and content type; by platform and content
    type; by track with its artist, album and content type, and the first local day it was played.

    Polars' streaming engine runs them in about a third of the in-memory engine's CPU time on
    10 million rows (see bench/RESULTS_report.md)."""
    counts = [
        pl.len().cast(pl.Int64).alias("plays"),
        pl.col("ms_played").sum(),
        pl.col("skipped").sum().cast(pl.Int64).alias("skips"),
        pl.col("shuffle").sum().cast(pl.Int64).alias("shuffles"),
    ]
    by_hour = fact.group_by("date_key", "hour", "content_type").agg(counts)
    by_platform = fact.group_by("platform_key", "content_type").agg(counts)
    by_track = fact.group_by("track_key", "artist_key", "album_key", "content_type").agg(
        *counts, pl.col("date_key").min().alias("first_date_key")
    )
    return tuple(pl.collect_all([by_hour, by_platform, by_track], engine="streaming"))


def listening_figures(
    fact: pl.LazyFrame,
    dim_date: pl.LazyFrame,
    dim_artist: pl.LazyFrame,
    dim_album: pl.LazyFrame,
    dim_track: pl.LazyFrame,
    dim_platform: pl.LazyFrame,
    album_art: pl.LazyFrame,
    *,
    top_n: int = DEFAULT_TOP_N,
) -> ListeningFigures:
    """Every figure of the report from the star schema and album_art (all LazyFrames)."""
    by_hour, by_platform, by_track = aggregate_fact(fact)
    days = dim_date.select("date_key", "date", "year", "month", "weekday").collect()
    artists = dim_artist.select("artist_key", "artist_name").collect()
    music_tracks = by_track.filter(pl.col("content_type") == MUSIC)
    return ListeningFigures(
        totals=_totals(by_hour, music_tracks, days),
        months=_months(by_hour, days),
        weekday_hour=_weekday_hour(by_hour, days),
        top_artists=_top_artists(music_tracks, artists, top_n),
        top_albums=_top_albums(music_tracks, artists, dim_album, album_art, top_n),
        top_tracks=_top_tracks(music_tracks, artists, dim_track, top_n),
        skip_by_platform=_skip_by_platform(by_platform, dim_platform),
        skip_by_hour=_skip_by_hour(by_hour),
        new_artists_by_year=_new_artists_by_year(music_tracks, days),
        podcasts=_spoken(by_track.filter(pl.col("content_type") == PODCAST), artists, top_n),
        audiobooks=_spoken(by_track.filter(pl.col("content_type") == AUDIOBOOK), artists, top_n),
    )


def _totals(by_hour: pl.DataFrame, music_tracks: pl.DataFrame, days: pl.DataFrame) -> dict:
    kinds = _play_sums(by_hour, "content_type")
    plays = dict(zip(kinds["content_type"], kinds["plays"], strict=True))
    ms = dict(zip(kinds["content_type"], kinds["ms_played"], strict=True))
    music = kinds.filter(pl.col("content_type") == MUSIC)
    music_plays = int(music["plays"].sum())
    played_days = by_hour.select(pl.col("date_key").unique()).join(days, on="date_key")["date"]
    return {
        "plays": int(kinds["plays"].sum()),
        "hours": _hours(int(kinds["ms_played"].sum())),
        "music_plays": music_plays,
        "music_hours": _hours(ms.get(MUSIC, 0)),
        "podcast_plays": plays.get(PODCAST, 0),
        "podcast_hours": _hours(ms.get(PODCAST, 0)),
        "audiobook_plays": plays.get(AUDIOBOOK, 0),
        "audiobook_hours": _hours(ms.get(AUDIOBOOK, 0)),
        "tracks": music_tracks["track_key"].n_unique(),
        "artists": music_tracks["artist_key"].n_unique(),
        "albums": music_tracks["album_key"].n_unique(),
        "first_day": played_days.min(),
        "last_day": played_days.max(),
        "music_skip_rate": int(music["skips"].sum()) / music_plays if music_plays else 0.0,
        "shuffle_share": int(music["shuffles"].sum()) / music_plays if music_plays else 0.0,
    }


def _months(by_hour: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Every month of dim_date's range (first to last listening day), months without plays as 0."""
    month_of_day = days.select("date_key", "year", "month")
    per_kind = _play_sums(by_hour.join(month_of_day, on="date_key"), "year", "month", "content_type")
    kind_minutes = [
        minutes(pl.col("ms_played").filter(pl.col("content_type") == kind).sum()).alias(f"{name}_minutes")
        for name, kind in (("music", MUSIC), ("podcast", PODCAST), ("audiobook", AUDIOBOOK))
    ]
    per_month = per_kind.group_by("year", "month").agg(
        pl.col("plays").sum(), pl.col("ms_played").sum(), *kind_minutes
    )
    calendar = month_of_day.select("year", "month").unique()
    return (
        calendar.join(per_month, on=["year", "month"], how="left")
        .with_columns(pl.col("plays", "ms_played").fill_null(0), pl.col("^.*_minutes$").fill_null(0.0))
        .with_columns(
            (pl.col("year").cast(pl.Int32) * 100 + pl.col("month")).alias("month_key"),
            minutes(pl.col("ms_played")).alias("minutes"),
        )
        .select("year", "month", "month_key", "plays", "ms_played", "minutes",
                "music_minutes", "podcast_minutes", "audiobook_minutes")
        .sort("month_key")
    )


def _weekday_hour(by_hour: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """All 7 x 24 cells (ISO weekday, Monday = 1; local hour), empty cells as 0."""
    played = _play_sums(by_hour.join(days.select("date_key", "weekday"), on="date_key"), "weekday", "hour")
    grid = pl.DataFrame({"weekday": list(WEEKDAYS)}, schema={"weekday": pl.Int16}).join(
        pl.DataFrame({"hour": list(HOURS)}, schema={"hour": pl.Int16}), how="cross"
    )
    return (
        grid.join(played.select("weekday", "hour", "plays", "ms_played"), on=["weekday", "hour"], how="left")
        .with_columns(pl.col("plays", "ms_played").fill_null(0))
        .with_columns(
            pl.col("weekday").replace_strict(list(WEEKDAYS), WEEKDAY_NAMES, return_dtype=pl.String)
            .alias("weekday_name"),
            minutes(pl.col("ms_played")).alias("minutes"),
        )
        .select("weekday", "weekday_name", "hour", "plays", "ms_played", "minutes")
        .sort("weekday", "hour")
    )


def _top_artists(music_tracks: pl.DataFrame, artists: pl.DataFrame, top_n: int) -> pl.DataFrame:
    per_artist = _play_sums(music_tracks, "artist_key").join(artists, on="artist_key", how="left")
    return _ranked(per_artist, "artist_name", "artist_key", top_n).select(
        "rank", "artist_key", "artist_name", "plays", "ms_played", "minutes"
    )


def _top_albums(music_tracks: pl.DataFrame, artists: pl.DataFrame, dim_album: pl.LazyFrame,
                album_art: pl.LazyFrame, top_n: int) -> pl.DataFrame:
    """Top albums with the album's artist and a cover URL (medium, else large) when art was found."""
    albums = dim_album.select("album_key", "album_name", "artist_key").collect()
    covers = (
        album_art.filter(pl.col("status") == "found")
        .select("album_key", pl.coalesce("image_url_medium", "image_url_large").alias("cover_url"))
        .collect()
    )
    per_album = _play_sums(music_tracks, "album_key").join(albums, on="album_key", how="left")
    return (
        _ranked(per_album, "album_name", "album_key", top_n)
        .join(artists, on="artist_key", how="left")
        .join(covers, on="album_key", how="left")
        .sort("rank")
        .select("rank", "album_key", "album_name", "artist_name", "plays", "ms_played", "minutes",
                "cover_url")
    )


def _top_tracks(music_tracks: pl.DataFrame, artists: pl.DataFrame, dim_track: pl.LazyFrame,
                top_n: int) -> pl.DataFrame:
    """Top tracks with the name and artist they were last seen with (dim_track)."""
    tracks = dim_track.select("track_key", "track_name", "artist_key").collect()
    per_track = _play_sums(music_tracks, "track_key").join(tracks, on="track_key", how="left")
    return (
        _ranked(per_track, "track_name", "track_key", top_n)
        .join(artists, on="artist_key", how="left")
        .sort("rank")
        .select("rank", "track_key", "track_name", "artist_name", "plays", "ms_played", "minutes")
    )


def _skip_by_platform(by_platform: pl.DataFrame, dim_platform: pl.LazyFrame) -> pl.DataFrame:
    """Music skip rate per platform family, most plays first."""
    families = dim_platform.select("platform_key", "platform_family").collect()
    music = by_platform.filter(pl.col("content_type") == MUSIC).join(families, on="platform_key", how="left")
    return (
        _play_sums(music, "platform_family")
        .with_columns(_rate(pl.col("skips"), pl.col("plays")).alias("skip_rate"))
        .sort(["plays", "platform_family"], descending=[True, False])
        .select("platform_family", "plays", "skips", "skip_rate")
    )


def _skip_by_hour(by_hour: pl.DataFrame) -> pl.DataFrame:
    """Music skip rate per local hour, all 24 hours."""
    music = _play_sums(by_hour.filter(pl.col("content_type") == MUSIC), "hour")
    return (
        pl.DataFrame({"hour": list(HOURS)}, schema={"hour": pl.Int16})
        .join(music.select("hour", "plays", "skips"), on="hour", how="left")
        .with_columns(pl.col("plays", "skips").fill_null(0))
        .with_columns(_rate(pl.col("skips"), pl.col("plays")).alias("skip_rate"))
    )


def _new_artists_by_year(music_tracks: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Artists counted in the year they were first played, for every year of dim_date's range."""
    first_year = music_tracks.group_by("artist_key").agg(
        (pl.col("first_date_key").min() // 10000).cast(pl.Int16).alias("year")
    )
    per_year = first_year.group_by("year").agg(pl.len().cast(pl.Int64).alias("new_artists"))
    return (
        days.select(pl.col("year").cast(pl.Int16)).unique()
        .join(per_year, on="year", how="left")
        .with_columns(pl.col("new_artists").fill_null(0))
        .sort("year")
    )


def _spoken(items: pl.DataFrame, artists: pl.DataFrame, top_n: int) -> SpokenFigures:
    """Figures for podcast episodes or audiobook chapters; the show (book) is the artist."""
    per_title = (
        _play_sums(items, "artist_key").join(artists, on="artist_key", how="left")
        .rename({"artist_name": "title"})
    )
    return SpokenFigures(
        plays=int(items["plays"].sum()),
        hours=_hours(int(items["ms_played"].sum())),
        titles=items["artist_key"].n_unique(),
        items=items["track_key"].n_unique(),
        top_titles=_ranked(per_title, "title", "artist_key", top_n).select(
            "rank", "artist_key", "title", "plays", "ms_played", "minutes"
        ),
    )
