"""Report: the listening history as one HTML page anyone can open, offline, in a browser."""

import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from ..resources.lake import LakeResource
from ..resources.report import ReportFolder
from ..tables import FACT_STREAMS
from ..transforms.report import figures_of_aggregates
from ..transforms.report_html import render_report, top_artists_markdown
from ..transforms.report_partials import PARTIALS_FOLDER, cached_aggregates
from .common import LAKE_IO_MANAGER, OWNERS, REPORT

REPORT_FILE_NAME = "listening_report.html"
# in the order listening_figures takes them; the fact is read through the lake resource (its
# partitions' markers decide which ones the partial cache must aggregate), the others as inputs
REPORT_INPUTS = (
    "fact_streams",
    "dim_date",
    "dim_artist",
    "dim_album",
    "dim_track",
    "dim_platform",
    "album_art",
    "dim_recording",
)


@dg.asset(
    ins={name: dg.AssetIn(input_manager_key=LAKE_IO_MANAGER) for name in REPORT_INPUTS[1:]},
    deps=[FACT_STREAMS.name],
    group_name=REPORT,
    kinds={"html"},
    owners=OWNERS,
)
def listening_report(
    context: dg.AssetExecutionContext,
    report_folder: ReportFolder,
    lake: LakeResource,
    dim_date: pl.LazyFrame,
    dim_artist: pl.LazyFrame,
    dim_album: pl.LazyFrame,
    dim_track: pl.LazyFrame,
    dim_platform: pl.LazyFrame,
    album_art: pl.LazyFrame,
    dim_recording: pl.LazyFrame,
) -> dg.MaterializeResult:
    """One HTML file for the whole history: totals (plays and listens), minutes per month, a weekday
    x hour heatmap, top artists, albums (with covers), tracks and recordings (the track ids of one
    ISRC merged), listening by release decade, skip rates, shuffle share, new artists per year,
    podcasts and audiobooks.

    Self-contained (inline CSS and SVG, no scripts, fonts or CDN); only the covers are linked by
    URL, and the page reads well when they fail to load. Written to SPOTIFY_REPORT_DIR as
    listening_report.html, replacing the previous one. Plays and hours count every content type;
    music figures count tracks only. Listens follow SPOTIFY_LISTEN_RULE and music top lists rank by
    them. Minutes, listens and local day/hour are defined as in the warehouse views.

    The fact's aggregations are kept per landing file next to the page (`.partials`): a run reads
    only the landing files whose rows changed, with the same figures as reading them all.
    """
    started = time.perf_counter()
    rule = report_folder.rule()
    aggregates, cache = cached_aggregates(
        lake.current_version(FACT_STREAMS), dim_track, rule, Path(report_folder.path) / PARTIALS_FOLDER
    )
    aggregated = time.perf_counter()
    figures = figures_of_aggregates(
        aggregates,
        dim_date,
        dim_artist,
        dim_album,
        dim_track,
        dim_platform,
        album_art,
        dim_recording,
        rule=rule,
    )
    computed = time.perf_counter()
    page = render_report(figures, timezone=report_folder.timezone, generated_at=datetime.now(UTC))
    path = report_folder.write(REPORT_FILE_NAME, page)
    finished = time.perf_counter()
    size = path.stat().st_size
    totals = figures.totals
    context.log.info(
        f"listening report: {totals['plays']:,} plays, {totals['listens']:,} listens "
        f"({figures.listen_rule.name}), {size / 1024:,.0f} KiB, "
        f"figures {computed - started:.2f} s (fact {aggregated - started:.2f} s: {cache.computed} of "
        f"{cache.partitions} landing files aggregated, {cache.rows_read:,} plays read, {cache.reused} "
        f"from the cache, {cache.removed} stale entries removed), "
        f"render {finished - computed:.2f} s, at {path}"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "top_artists": dg.MetadataValue.md(top_artists_markdown(figures)),
            "plays": totals["plays"],
            "listens": totals["listens"],
            "listen_rule": figures.listen_rule.name,
            "recordings": figures.recordings.recordings,
            "merged_recordings": figures.recordings.merged_recordings,
            "hours": totals["hours"],
            "first_day": str(totals["first_day"]),
            "last_day": str(totals["last_day"]),
            "size_bytes": size,
            "figures_seconds": round(computed - started, 3),
            "fact_seconds": round(aggregated - started, 3),
            "landing_files_aggregated": cache.computed,
            "landing_files_cached": cache.reused,
            "plays_read": cache.rows_read,
            "render_seconds": round(finished - computed, 3),
        }
    )
