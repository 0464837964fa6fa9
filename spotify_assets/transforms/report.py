"""The figures of the listening report, from the star schema: pure Polars, lazy, no Dagster.

The fact is reduced to three aggregations (by local day/hour and content type, by platform, and by
track); every figure is derived from those small results and the dimensions, so the work grows with
the history once and with the catalogue after that. The track aggregation also counts listens
(transforms/listens.py, SPOTIFY_LISTEN_RULE); a rule that reads track lengths (half_or_4min) gets
`dim_track.duration_ms` joined in the same pass (a catalogue-sized build side).

Every measure of the aggregations (report_aggregates.py) adds up over disjoint sets of plays (counts
and sums; the first day is a minimum), so they can come from one pass over the whole fact
(`aggregate_fact`, what `listening_figures` does) or from per-landing-file aggregations combined
(`combine_aggregates`): the report asset keeps those per partition (report_partials.py) and reads
only the landing files that changed, then derives the figures the same way (`figures_of_aggregates`).
The combined rows come in another order, so every derived frame is sorted by a unique key (ties
broken by key, never by row order) and the figures are identical.

How content types count:
* "all listening" (plays, listens, hours, minutes per month, the weekday x hour heatmap) counts every
  play: music, podcast episodes and audiobook chapters, so the numbers equal the warehouse views
  (`v_minutes_by_month`, `v_listening_by_weekday_hour`), which do not filter on content type;
  minutes per month are split by content type as well.
* music figures (distinct tracks/artists/albums, the top lists, recordings, release decades, skip
  rates, shuffle share, new artists per year) count `content_type = 'track'` only;
* podcasts (`episode`) and audiobooks (`audiobook`) get their own figures, where the show (book)
  is the fact's artist.

Recordings and release decades come from what the Spotify Web API answered (dim_track): the track
ids sharing an ISRC are one recording (`dim_track.recording_key` -> `dim_recording`), and the
album's `release_date` gives the decade. A track not looked up yet is its own recording and its
decade is `unknown`, so every figure also works on a history without any enrichment.

Minutes are `ms_played / 60000` rounded to one decimal half away from zero, as the warehouse
views' `ROUND(SUM(ms_played) / 60000.0, 1)` in SQLite; hours likewise from `ms_played / 3600000`.
Local date and hour are the fact's `date_key` and `hour`; the weekday comes from `dim_date`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..tables import CONTENT_TYPES
from .listens import ListenRule, parse_listen_rule
from .model import WEEKDAY_NAMES
from .report_aggregates import FactAggregates, aggregate_fact, combine_aggregates
from .report_rankings import (
    SpokenFigures,
    hours,
    minutes,
    play_sums,
    recordings_played,
    spoken,
    top_albums,
    top_artists,
    top_recordings,
    top_tracks,
)

MUSIC, PODCAST, AUDIOBOOK = CONTENT_TYPES
DEFAULT_TOP_N = 20
HOURS = range(24)
WEEKDAYS = range(1, 8)
UNKNOWN_DECADE = "unknown"

__all__ = [
    "FactAggregates",
    "ListeningFigures",
    "RecordingCounts",
    "SpokenFigures",
    "aggregate_fact",
    "combine_aggregates",
    "figures_of_aggregates",
    "listening_figures",
]


@dataclass(frozen=True)
class RecordingCounts:
    """How the music tracks played merge into recordings (the track ids of one ISRC)."""

    tracks: int  # music tracks played
    recordings: int  # the recordings they are releases of
    merged_recordings: int  # recordings released under several track ids
    merged_tracks: int  # the tracks of those recordings
    enriched_tracks: int  # tracks the Web API answered for (ISRC, length or release date known)


@dataclass(frozen=True)
class ListeningFigures:
    """Every figure of the report; frames are small (months, 7 x 24 cells, top N...).

    `totals`: plays, listens, hours, music_/podcast_/audiobook_ plays and hours, music_listens,
    tracks, artists, albums (music), first_day, last_day, music_skip_rate, shuffle_share.
    Top lists have rank, key, names, plays, listens, ms_played, minutes (see report_rankings.py).
    """

    listen_rule: ListenRule
    totals: dict
    months: pl.DataFrame  # year, month, month_key, plays, ms_played, minutes, <kind>_minutes
    weekday_hour: pl.DataFrame  # weekday, weekday_name, hour, plays, ms_played, minutes (7 x 24 rows)
    top_artists: pl.DataFrame
    top_albums: pl.DataFrame  # ... and cover_url
    top_tracks: pl.DataFrame
    top_recordings: pl.DataFrame  # ... and isrc, track_ids (releases merged)
    merged_recordings: pl.DataFrame  # the top recordings released under several track ids, as above
    recordings: RecordingCounts
    decades: pl.DataFrame  # decade (null: unknown), label, plays, listens, ms_played, minutes, share
    skip_by_platform: pl.DataFrame  # platform_family, plays, skips, skip_rate
    skip_by_hour: pl.DataFrame  # hour, plays, skips, skip_rate (24 rows)
    new_artists_by_year: pl.DataFrame  # year, new_artists (every year of the range)
    podcasts: SpokenFigures
    audiobooks: SpokenFigures


def _rate(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole).otherwise(0.0)


def listening_figures(
    fact: pl.LazyFrame,
    dim_date: pl.LazyFrame,
    dim_artist: pl.LazyFrame,
    dim_album: pl.LazyFrame,
    dim_track: pl.LazyFrame,
    dim_platform: pl.LazyFrame,
    album_art: pl.LazyFrame,
    dim_recording: pl.LazyFrame,
    *,
    rule: ListenRule | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> ListeningFigures:
    """Every figure of the report from the star schema and album_art (all LazyFrames), counting
    listens by `rule` (default: SPOTIFY_LISTEN_RULE's default, 30 s): one pass over the fact."""
    rule = rule or parse_listen_rule(None)
    return figures_of_aggregates(
        aggregate_fact(fact, dim_track, rule),
        dim_date,
        dim_artist,
        dim_album,
        dim_track,
        dim_platform,
        album_art,
        dim_recording,
        rule=rule,
        top_n=top_n,
    )


def figures_of_aggregates(
    aggregates: FactAggregates,
    dim_date: pl.LazyFrame,
    dim_artist: pl.LazyFrame,
    dim_album: pl.LazyFrame,
    dim_track: pl.LazyFrame,
    dim_platform: pl.LazyFrame,
    album_art: pl.LazyFrame,
    dim_recording: pl.LazyFrame,
    *,
    rule: ListenRule,
    top_n: int = DEFAULT_TOP_N,
) -> ListeningFigures:
    """Every figure of the report from the fact's aggregations under `rule` (`aggregate_fact`, or
    report_partials.py's per-partition ones combined), the dimensions and album_art."""
    by_hour, by_platform, by_track = aggregates
    days = dim_date.select("date_key", "date", "year", "month", "weekday").collect()
    artists = dim_artist.select("artist_key", "artist_name").collect()
    tracks = dim_track.select(
        "track_key", "track_name", "artist_key", "recording_key", "isrc", "duration_ms", "release_date"
    ).collect()
    music_tracks = by_track.filter(pl.col("content_type") == MUSIC)
    named = dim_recording.select("recording_key", "recording_name", "artist_key", "isrc").collect()
    recordings = recordings_played(music_tracks, tracks, named)
    return ListeningFigures(
        listen_rule=rule,
        totals=_totals(by_hour, by_track, days),
        months=_months(by_hour, days),
        weekday_hour=_weekday_hour(by_hour, days),
        top_artists=top_artists(music_tracks, artists, top_n),
        top_albums=top_albums(music_tracks, artists, dim_album, album_art, top_n),
        top_tracks=top_tracks(music_tracks, artists, tracks, top_n),
        top_recordings=top_recordings(recordings, artists, top_n),
        merged_recordings=top_recordings(recordings.filter(pl.col("track_ids") > 1), artists, top_n),
        recordings=_recording_counts(recordings, music_tracks, tracks),
        decades=_decades(music_tracks, tracks),
        skip_by_platform=_skip_by_platform(by_platform, dim_platform),
        skip_by_hour=_skip_by_hour(by_hour),
        new_artists_by_year=_new_artists_by_year(music_tracks, days),
        podcasts=spoken(by_track.filter(pl.col("content_type") == PODCAST), artists, top_n),
        audiobooks=spoken(by_track.filter(pl.col("content_type") == AUDIOBOOK), artists, top_n),
    )


def _totals(by_hour: pl.DataFrame, by_track: pl.DataFrame, days: pl.DataFrame) -> dict:
    kinds = play_sums(by_hour, "content_type")
    plays = dict(zip(kinds["content_type"], kinds["plays"], strict=True))
    ms = dict(zip(kinds["content_type"], kinds["ms_played"], strict=True))
    listens = by_track.group_by("content_type").agg(pl.col("listens").sum())
    listens_of = dict(zip(listens["content_type"], listens["listens"], strict=True))
    music = kinds.filter(pl.col("content_type") == MUSIC)
    music_tracks = by_track.filter(pl.col("content_type") == MUSIC)
    music_plays = int(music["plays"].sum())
    played_days = by_hour.select(pl.col("date_key").unique()).join(days, on="date_key")["date"]
    return {
        "plays": int(kinds["plays"].sum()),
        "listens": int(listens["listens"].sum()),
        "hours": hours(int(kinds["ms_played"].sum())),
        "music_plays": music_plays,
        "music_listens": listens_of.get(MUSIC, 0),
        "music_hours": hours(ms.get(MUSIC, 0)),
        "podcast_plays": plays.get(PODCAST, 0),
        "podcast_hours": hours(ms.get(PODCAST, 0)),
        "audiobook_plays": plays.get(AUDIOBOOK, 0),
        "audiobook_hours": hours(ms.get(AUDIOBOOK, 0)),
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
    per_kind = play_sums(by_hour.join(month_of_day, on="date_key"), "year", "month", "content_type")
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
        .select(
            "year",
            "month",
            "month_key",
            "plays",
            "ms_played",
            "minutes",
            "music_minutes",
            "podcast_minutes",
            "audiobook_minutes",
        )
        .sort("month_key")
    )


def _weekday_hour(by_hour: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """All 7 x 24 cells (ISO weekday, Monday = 1; local hour), empty cells as 0."""
    played = play_sums(by_hour.join(days.select("date_key", "weekday"), on="date_key"), "weekday", "hour")
    grid = pl.DataFrame({"weekday": list(WEEKDAYS)}, schema={"weekday": pl.Int16}).join(
        pl.DataFrame({"hour": list(HOURS)}, schema={"hour": pl.Int16}), how="cross"
    )
    return (
        grid.join(played.select("weekday", "hour", "plays", "ms_played"), on=["weekday", "hour"], how="left")
        .with_columns(pl.col("plays", "ms_played").fill_null(0))
        .with_columns(
            pl.col("weekday")
            .replace_strict(list(WEEKDAYS), WEEKDAY_NAMES, return_dtype=pl.String)
            .alias("weekday_name"),
            minutes(pl.col("ms_played")).alias("minutes"),
        )
        .select("weekday", "weekday_name", "hour", "plays", "ms_played", "minutes")
        .sort("weekday", "hour")
    )


def _recording_counts(
    recordings: pl.DataFrame, music_tracks: pl.DataFrame, tracks: pl.DataFrame
) -> RecordingCounts:
    """Music tracks played, the recordings they merge into (`recordings_played` rows), how many of
    those merge several, and how many of the tracks the Web API answered for."""
    merged = recordings.filter(pl.col("track_ids") > 1)
    enriched = pl.any_horizontal(pl.col("isrc", "duration_ms", "release_date").is_not_null())
    return RecordingCounts(
        tracks=int(recordings["track_ids"].sum()),
        recordings=recordings.height,
        merged_recordings=merged.height,
        merged_tracks=int(merged["track_ids"].sum()),
        enriched_tracks=int(
            music_tracks.select("track_key")
            .unique()
            .join(tracks, on="track_key")
            .select(enriched.sum())
            .item()
        ),
    )


def _decades(music_tracks: pl.DataFrame, tracks: pl.DataFrame) -> pl.DataFrame:
    """Music listening by the decade its track was released (the album's release date): every
    decade from the first to the last, then `unknown` (decade null) for tracks not looked up yet,
    when there are any. `share` is of the music minutes."""
    released = tracks.select(
        "track_key", (pl.col("release_date").dt.year() // 10 * 10).cast(pl.Int32).alias("decade")
    )
    per_decade = play_sums(music_tracks.join(released, on="track_key", how="left"), "decade")
    known = per_decade.filter(pl.col("decade").is_not_null())
    first, last = known.select(
        pl.col("decade").min().alias("first"), pl.col("decade").max().alias("last")
    ).row(0)
    every = range(first, last + 10, 10) if known.height else ()
    calendar = pl.DataFrame({"decade": list(every)}, schema={"decade": pl.Int32})
    filled = calendar.join(known, on="decade", how="left").with_columns(
        pl.col("plays", "listens", "ms_played").fill_null(0)
    )
    unknown = per_decade.filter(pl.col("decade").is_null())
    return (
        pl.concat([filled.sort("decade"), unknown], how="diagonal_relaxed")
        .with_columns(
            pl.when(pl.col("decade").is_null())
            .then(pl.lit(UNKNOWN_DECADE))
            .otherwise(pl.format("{}s", pl.col("decade")))
            .alias("label"),
            minutes(pl.col("ms_played")).alias("minutes"),
            _rate(pl.col("ms_played"), pl.col("ms_played").sum()).alias("share"),
        )
        .select("decade", "label", "plays", "listens", "ms_played", "minutes", "share")
    )


def _skip_by_platform(by_platform: pl.DataFrame, dim_platform: pl.LazyFrame) -> pl.DataFrame:
    """Music skip rate per platform family, most plays first."""
    families = dim_platform.select("platform_key", "platform_family").collect()
    music = by_platform.filter(pl.col("content_type") == MUSIC).join(families, on="platform_key", how="left")
    return (
        play_sums(music, "platform_family")
        .with_columns(_rate(pl.col("skips"), pl.col("plays")).alias("skip_rate"))
        .sort(["plays", "platform_family"], descending=[True, False])
        .select("platform_family", "plays", "skips", "skip_rate")
    )


def _skip_by_hour(by_hour: pl.DataFrame) -> pl.DataFrame:
    """Music skip rate per local hour, all 24 hours."""
    music = play_sums(by_hour.filter(pl.col("content_type") == MUSIC), "hour")
    return (
        pl.DataFrame({"hour": list(HOURS)}, schema={"hour": pl.Int16})
        .join(music.select("hour", "plays", "skips"), on="hour", how="left")
        .with_columns(pl.col("plays", "skips").fill_null(0))
        .with_columns(_rate(pl.col("skips"), pl.col("plays")).alias("skip_rate"))
        .sort("hour")
    )


def _new_artists_by_year(music_tracks: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Artists counted in the year they were first played, for every year of dim_date's range."""
    first_year = music_tracks.group_by("artist_key").agg(
        (pl.col("first_date_key").min() // 10000).cast(pl.Int16).alias("year")
    )
    per_year = first_year.group_by("year").agg(pl.len().cast(pl.Int64).alias("new_artists"))
    return (
        days.select(pl.col("year").cast(pl.Int16))
        .unique()
        .join(per_year, on="year", how="left")
        .with_columns(pl.col("new_artists").fill_null(0))
        .sort("year")
    )
