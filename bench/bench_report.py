"""Benchmark: listening_report on a 10-million-play history (issues 7, 14). Target: <= 10 s, file < 2 MB.

    .venv/bin/python bench/bench_report.py [--rows 10000000] [--repeat 3] [--listen-rule 30s]

A synthetic star schema (no ingest) with realistic cardinalities is written to a temp lake as
Delta tables, untimed: about 8 years of plays, 4,800 music tracks on 3,000 albums by 1,500 artists
(popularity follows a power law), 30 podcast shows with 150 episodes, 5 audiobooks with 50
chapters, 8 platforms, covers found for 90% of the albums; 90% of the music tracks looked up
(ISRC, length, release date from 1960 on), 6% of those a second release of another track's
recording (one ISRC). Then, each repeat:
(1) the fact pass alone (`aggregate_fact`: the three aggregations, listens included),
(2) the figures from the lake (`listening_figures` over `pl.scan_delta`: the fact pass and
everything derived from it and the dimensions), under `--listen-rule` and under half_or_4min (the
rule that reads track lengths), (3) the HTML rendering, (4) the whole `listening_report` asset
through `dagster.materialize` (Dagster run, lake scans, figures, rendering, file write).
Prints a Markdown section for BENCHMARKS.md.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from spotify_assets.assets.report import REPORT_FILE_NAME, REPORT_INPUTS, listening_report
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.report import ReportFolder
from spotify_assets.tables import (
    ALBUM_ART,
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_RECORDING,
    DIM_TRACK,
    FACT_STREAMS,
    TABLES,
)
from spotify_assets.transforms.listens import HALF_OR_4MIN, parse_listen_rule
from spotify_assets.transforms.model import date_key, dim_date
from spotify_assets.transforms.report import aggregate_fact, listening_figures
from spotify_assets.transforms.report_html import render_report

TIMEZONE = "Europe/Berlin"
FIRST, LAST = datetime(2017, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 23, tzinfo=UTC)
MUSIC_ARTISTS, MUSIC_ALBUMS, MUSIC_TRACKS = 1_500, 3_000, 4_800
SHOWS, EPISODES, BOOKS, CHAPTERS = 30, 150, 5, 50
PLATFORMS = [
    "Android OS 14",
    "iOS 17.1 (iPhone15,2)",
    "Windows 10 (10.0.19045; x64)",
    "OS X 14.1.0 [arm 0]",
    "web_player linux ;chrome 120",
    "Google Chromecast",
    "Linux 6.5",
    "Sonos Era 100",
]
FAMILIES = ["android", "ios", "windows", "macos", "web", "cast", "linux", "cast"]
LANDING_FILE = "Streaming_History_Audio_bench-000000000000"
LOOKED_UP, SECOND_RELEASES = 0.9, 0.06  # of the music tracks; of those looked up
TARGET_SECONDS, TARGET_BYTES = 10.0, 2 * 1024 * 1024


def catalogue(rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    """Artists, albums and tracks (music, podcast episodes, audiobook chapters) with names in many scripts."""
    scripts = ["Band", "Ensemble", "坂本", "Ωmega", 'Les "Quotes" & <Co>', "Кино", "🎧 Beats", "Orquesta"]
    artist_count = MUSIC_ARTISTS + SHOWS + BOOKS
    artist_names = (
        [f"{scripts[n % len(scripts)]} {n}" for n in range(MUSIC_ARTISTS)]
        + [f"Podcast show {n} & friends" for n in range(SHOWS)]
        + [f"Audiobook <{n}>" for n in range(BOOKS)]
    )
    album_artist = np.concatenate(
        [rng.integers(0, MUSIC_ARTISTS, MUSIC_ALBUMS), np.arange(MUSIC_ARTISTS, artist_count)]
    )
    album_kind = ["track"] * MUSIC_ALBUMS + ["episode"] * SHOWS + ["audiobook"] * BOOKS
    track_album = np.concatenate(
        [
            rng.integers(0, MUSIC_ALBUMS, MUSIC_TRACKS),
            MUSIC_ALBUMS + rng.integers(0, SHOWS, EPISODES),
            MUSIC_ALBUMS + SHOWS + rng.integers(0, BOOKS, CHAPTERS),
        ]
    )
    track_kind = ["track"] * MUSIC_TRACKS + ["episode"] * EPISODES + ["audiobook"] * CHAPTERS
    return {
        "artist": pl.DataFrame({"artist_key": np.arange(artist_count), "artist_name": artist_names}),
        "album": pl.DataFrame(
            {
                "album_key": np.arange(len(album_kind)) + 10_000,
                "album_name": [f"Album {n} — «{n % 97}»" for n in range(len(album_kind))],
                "artist_key": album_artist,
                "content_type": album_kind,
            }
        ),
        "track": pl.DataFrame(
            {
                "track_key": np.arange(len(track_kind)) + 100_000,
                "track_name": [f"Track {n} (feat. 🎤 {n % 13})" for n in range(len(track_kind))],
                "album_key": track_album + 10_000,
                "content_type": track_kind,
            }
        ).with_columns(
            pl.col("album_key")
            .replace_strict(np.arange(len(album_kind)) + 10_000, album_artist)
            .alias("artist_key")
        ),
    }


def fact(rng: np.random.Generator, rows: int, tracks: pl.DataFrame) -> pl.DataFrame:
    """`rows` plays: power-law track popularity, uniform time over the 8 years, realistic ms_played."""
    popularity = 1.0 / np.arange(1, tracks.height + 1) ** 0.9
    track_index = rng.choice(tracks.height, size=rows, p=popularity / popularity.sum())
    seconds = rng.integers(0, int((LAST - FIRST).total_seconds()), rows)
    chosen = tracks[track_index]
    spoken = chosen["content_type"].to_numpy() != "track"
    ms_played = np.where(spoken, rng.integers(60_000, 3_600_000, rows), rng.integers(500, 330_000, rows))
    epoch_seconds = pl.Series(int(FIRST.timestamp()) + seconds)
    ts_utc = pl.from_epoch(epoch_seconds, time_unit="s").dt.replace_time_zone("UTC")
    local = pl.col("ts_utc").dt.convert_time_zone(TIMEZONE)
    return pl.DataFrame(
        {
            "play_key": np.arange(rows),
            "ts_utc": ts_utc,
            **{key: chosen[key] for key in ("track_key", "artist_key", "album_key")},
            "platform_key": rng.integers(0, len(PLATFORMS), rows),
            "reason_key": rng.integers(0, 20, rows),
            "ms_played": ms_played,
            "shuffle": rng.random(rows) < 0.5,
            "skipped": rng.random(rows) < 0.25,
            "offline": rng.random(rows) < 0.05,
            "incognito_mode": rng.random(rows) < 0.01,
            "content_type": chosen["content_type"],
            "source_file": "Streaming_History_Audio_bench.json",
            "source_format": "extended_json",
            "landing_file": LANDING_FILE,
        }
    ).with_columns(date_key(local).alias("date_key"), local.dt.hour().cast(pl.Int16).alias("hour"))


def enrichment(rng: np.random.Generator, tracks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """dim_track with what the Web API answered for most music tracks, and dim_recording: some
    tracks are second releases (another album) of an earlier track's recording."""
    music = (tracks["content_type"] == "track").to_numpy()
    looked_up = music & (rng.random(tracks.height) < LOOKED_UP)
    index = np.arange(tracks.height)
    second = looked_up & (rng.random(tracks.height) < SECOND_RELEASES) & (index > 0)
    first_release = np.where(second, rng.integers(0, np.maximum(index, 1)), index)
    first_release = np.where(looked_up[first_release], first_release, index)  # the other one must have one
    release = pl.lit(date(1960, 1, 1)) + pl.duration(days=pl.Series(rng.integers(0, 65 * 365, tracks.height)))
    known = pl.Series(looked_up)
    enriched = tracks.with_columns(
        pl.format("id{}", "track_key").alias("track_id"),
        pl.format("spotify:{}:id{}", "content_type", "track_key").alias("track_uri"),
        pl.when(known).then(pl.format("QZBEN{}", pl.Series(first_release))).alias("isrc"),
        pl.when(known).then(pl.Series(rng.integers(90_000, 390_000, tracks.height))).alias("duration_ms"),
        pl.when(known).then(pl.Series(rng.random(tracks.height) < 0.1)).alias("explicit"),
        pl.when(known).then(release).alias("release_date"),
        pl.when(known).then(pl.lit("day")).alias("release_date_precision"),
        pl.when(known).then(pl.format("artist{}", "artist_key")).alias("artist_ids"),
    ).with_columns(
        pl.when(pl.col("isrc").is_not_null())
        .then(pl.col("isrc").str.slice(5).cast(pl.Int64) + 1_000_000_000)
        .otherwise(pl.col("track_key"))
        .alias("recording_key")
    )
    recordings = enriched.group_by("recording_key").agg(
        pl.col("isrc").first(),
        pl.col("track_name").sort_by("track_key").first().alias("recording_name"),
        pl.col("artist_key").sort_by("track_key").first(),
        pl.col("track_key").min().alias("sample_track_key"),
        pl.len().cast(pl.Int64).alias("track_ids"),
        pl.col("content_type").first(),
    )
    return enriched, recordings


def write_lake(lake: str, rows: int) -> None:
    rng = np.random.default_rng(7)
    names = catalogue(rng)
    albums, tracks = names["album"], names["track"]
    write_table(lake, FACT_STREAMS, fact(rng, rows, tracks))
    write_table(lake, DIM_DATE, dim_date(pl.DataFrame({"first_ts": [FIRST], "last_ts": [LAST]}), TIMEZONE))
    write_table(lake, DIM_ARTIST, names["artist"])
    write_table(
        lake,
        DIM_ALBUM,
        albums.with_columns(
            pl.format("id{}", "album_key").alias("sample_track_id"),
            pl.lit(LANDING_FILE).alias("first_landing_file"),
        ),
    )
    track_table, recordings = enrichment(rng, tracks)
    write_table(lake, DIM_TRACK, track_table)
    write_table(lake, DIM_RECORDING, recordings)
    write_table(
        lake,
        DIM_PLATFORM,
        pl.DataFrame(
            {"platform_key": range(len(PLATFORMS)), "platform": PLATFORMS, "platform_family": FAMILIES}
        ),
    )
    music = albums.filter(pl.col("content_type") == "track")
    found = rng.random(music.height) < 0.9
    url = pl.format("https://i.scdn.co/image/ab67616d0000{}", pl.col("album_key"))
    write_table(
        lake,
        ALBUM_ART,
        music.select("album_key").with_columns(
            pl.format("album{}", "album_key").alias("album_id"),
            pl.when(pl.Series(found)).then(url).alias("image_url_large"),
            pl.when(pl.Series(found)).then(url).alias("image_url_medium"),
            pl.when(pl.Series(found)).then(url).alias("image_url_small"),
            pl.when(pl.Series(found)).then(pl.lit("found")).otherwise(pl.lit("not_found")).alias("status"),
            pl.lit(datetime.now(UTC)).alias("fetched_at"),
        ),
        LANDING_FILE,
    )


def timed(function) -> tuple[tuple[float, float], object]:
    """(wall seconds, CPU seconds of this process) and the result of `function()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def summary(runs: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in runs]
    cpu = statistics.median(cpu for _, cpu in runs)
    return f"{statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}) | {cpu:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--listen-rule", default="30s", help="SPOTIFY_LISTEN_RULE of the report")
    options = parser.parse_args()
    rule, by_length = parse_listen_rule(options.listen_rule), parse_listen_rule(HALF_OR_4MIN)

    root = Path(tempfile.mkdtemp(prefix="bench_report_"))
    lake, reports = str(root / "lake"), root / "reports"
    (setup_seconds, _), _ = timed(lambda: write_lake(lake, options.rows))
    print(f"lake written in {setup_seconds:.1f} s: {root}")

    def scans() -> list[pl.LazyFrame]:
        return [scan_table(lake, TABLES[name]) for name in REPORT_INPUTS]

    folder = ReportFolder(path=str(reports), timezone=TIMEZONE, listen_rule=options.listen_rule)
    resources = {"lake_io_manager": DeltaLakeIOManager(lake_uri=lake), "report_folder": folder}
    runs: dict[str, list[tuple[float, float]]] = {
        name: [] for name in ("fact", "figures", "figures_by_length", "render", "asset")
    }
    figures = None
    for _ in range(options.repeat):
        fact, dim_track = scan_table(lake, FACT_STREAMS), scan_table(lake, DIM_TRACK)
        seconds, _ = timed(lambda: aggregate_fact(fact, dim_track, rule))  # noqa: B023
        runs["fact"].append(seconds)
        seconds, figures = timed(lambda: listening_figures(*scans(), rule=rule))
        runs["figures"].append(seconds)
        seconds, _ = timed(lambda: listening_figures(*scans(), rule=by_length))
        runs["figures_by_length"].append(seconds)
        seconds, _ = timed(
            lambda: render_report(figures, timezone=TIMEZONE, generated_at=datetime.now(UTC))  # noqa: B023
        )
        runs["render"].append(seconds)
        seconds, result = timed(
            lambda: dg.materialize(
                [listening_report, *(dg.AssetSpec(name) for name in REPORT_INPUTS)], resources=resources
            )
        )
        assert result.success
        runs["asset"].append(seconds)
    size = (reports / REPORT_FILE_NAME).stat().st_size
    totals, recordings = figures.totals, figures.recordings
    unknown = figures.decades.filter(pl.col("decade").is_null())["share"].sum()
    slowest = max(wall for wall, _ in runs["asset"])
    verdict = "met" if slowest <= TARGET_SECONDS and size < TARGET_BYTES else "NOT met"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"""
## listening_report (issues 7, 14)

`bench/bench_report.py --rows {options.rows} --repeat {options.repeat} --listen-rule {rule.name}`, \
{date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, \
dagster {dg.__version__}, polars {pl.__version__}.
A synthetic star schema in a Delta lake on local disk (written in {setup_seconds:.0f} s, untimed):
{totals["plays"]:,} plays ({totals["listens"]:,} listens under {rule.name}) from {totals["first_day"]} to \
{totals["last_day"]} ({figures.months.height} months), \
{totals["tracks"]:,} music tracks in {recordings.recordings:,} recordings ({recordings.merged_recordings:,} \
released under several track ids), {recordings.enriched_tracks:,} tracks looked up \
({unknown:.1%} of the music minutes of unknown decade), {totals["artists"]:,} artists, \
{totals["albums"]:,} albums, {figures.podcasts.items} podcast episodes, \
{figures.audiobooks.items} audiobook chapters, 8 platforms, covers found for 90% of the albums.
Load average at the end (1, 5, 15 min): {load}.
Wall time: median of {options.repeat} runs (min-max); CPU: median CPU seconds of the process.

| step | wall | CPU |
|---|---|---|
| the fact pass alone (`aggregate_fact`: 3 aggregations with listens), {rule.name} | {summary(runs["fact"])} |
| figures (`listening_figures` over `pl.scan_delta` of the 8 tables), {rule.name} \
| {summary(runs["figures"])} |
| figures, {by_length.name} | {summary(runs["figures_by_length"])} |
| HTML rendering (`render_report`) | {summary(runs["render"])} |
| whole asset (`dagster.materialize`: run, scans, figures, render, write) | {summary(runs["asset"])} |

| file | size |
|---|---|
| `{REPORT_FILE_NAME}` | **{size:,} bytes ({size / 1024:,.0f} KiB)** |

Targets: <= {TARGET_SECONDS:.0f} s (slowest run {slowest:.2f} s) and < 2 MB: {verdict}.""")


if __name__ == "__main__":
    main()
