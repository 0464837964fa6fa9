"""Report: the listening history as one HTML page anyone can open, offline, in a browser."""

import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from ..transforms.listens import DEFAULT_LISTEN_RULE
from ..transforms.report import listening_figures
from ..transforms.report_html import render_report, top_artists_markdown
from .common import LAKE_IO_MANAGER, OWNERS, REPORT

REPORT_FILE_NAME = "listening_report.html"
REPORT_INPUTS = (
    "fact_streams", "dim_date", "dim_artist", "dim_album", "dim_track", "dim_platform", "album_art",
)


class ReportFolder(dg.ConfigurableResource):
    """The folder reports are written to (SPOTIFY_REPORT_DIR), and how they count time and listens."""

    path: str
    timezone: str = "UTC"  # SPOTIFY_TIMEZONE
    listen_rule: str = DEFAULT_LISTEN_RULE  # SPOTIFY_LISTEN_RULE

    def write(self, name: str, content: str) -> Path:
        """Writes `name` whole or not at all (a temporary file renamed over it); returns its path."""
        folder = Path(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, suffix=".tmp", delete=False
        ) as file:
            file.write(content)
        os.chmod(file.name, 0o644)  # as a plain write would leave it, not the temp file's 0600
        os.replace(file.name, folder / name)
        return (folder / name).resolve()


@dg.asset(
    ins={name: dg.AssetIn(input_manager_key=LAKE_IO_MANAGER) for name in REPORT_INPUTS},
    group_name=REPORT,
    kinds={"html"},
    owners=OWNERS,
)
def listening_report(
    context: dg.AssetExecutionContext,
    report_folder: ReportFolder,
    fact_streams: pl.LazyFrame,
    dim_date: pl.LazyFrame,
    dim_artist: pl.LazyFrame,
    dim_album: pl.LazyFrame,
    dim_track: pl.LazyFrame,
    dim_platform: pl.LazyFrame,
    album_art: pl.LazyFrame,
) -> dg.MaterializeResult:
    """One HTML file for the whole history: totals, minutes per month, a weekday x hour heatmap,
    top artists, albums (with covers) and tracks, skip rates, shuffle share, new artists per year,
    podcasts and audiobooks.

    Self-contained (inline CSS and SVG, no scripts, fonts or CDN); only the covers are linked by
    URL, and the page reads well when they fail to load. Written to SPOTIFY_REPORT_DIR as
    listening_report.html, replacing the previous one. Plays and hours count every content type;
    music figures count tracks only. Minutes and local day/hour are defined as in the warehouse views.
    """
    started = time.perf_counter()
    figures = listening_figures(
        fact_streams, dim_date, dim_artist, dim_album, dim_track, dim_platform, album_art
    )
    computed = time.perf_counter()
    page = render_report(figures, timezone=report_folder.timezone, generated_at=datetime.now(UTC))
    path = report_folder.write(REPORT_FILE_NAME, page)
    finished = time.perf_counter()
    size = path.stat().st_size
    totals = figures.totals
    context.log.info(
        f"listening report: {totals['plays']:,} plays, {size / 1024:,.0f} KiB, "
        f"figures {computed - started:.2f} s, render {finished - computed:.2f} s, at {path}"
    )
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "top_artists": dg.MetadataValue.md(top_artists_markdown(figures)),
        "plays": totals["plays"],
        "hours": totals["hours"],
        "first_day": str(totals["first_day"]),
        "last_day": str(totals["last_day"]),
        "size_bytes": size,
        "figures_seconds": round(computed - started, 3),
        "render_seconds": round(finished - computed, 3),
    })
