"""Benchmark: what `maintain_lake` does to a lake fed one small file at a time (issue 12, item 5).

    PYTHONPATH=. .venv/bin/python bench/bench_maintenance.py [--files 200] [--plays 60]

A local lake gets `--files` small landing files (windows of one listener's timeline in the three
export formats, so they overlap: cross-file duplicates and export overlaps), each ingested and
followed by a model update, as the sensor does per dropped file (the ingest and model functions the
assets call, without Dagster: lake_harness). Then every table is maintained as the job does it
(compaction, vacuum, checkpoint), with retention 0 and Delta's guard off so that every replaced
file counts (a weekly run with the default 168 h removes what was replaced a week before it).

Measured before and after: Parquet data files and bytes on disk, Delta log files and bytes, the
files the current versions read, and the time to open every table and count fact_streams (log
replay). Prints a Markdown section for BENCHMARKS.md.
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import polars as pl

from spotify_assets.io_managers.delta import open_table, scan_table, table_exists
from spotify_assets.io_managers.locks import LOCK_FOLDER
from spotify_assets.maintenance import live_files, maintain_table
from spotify_assets.tables import FACT_STREAMS, TABLES
from spotify_assets_tests import histories
from spotify_assets_tests.lake_harness import Lake

FORMATS = ("maven_csv", "extended_json", "basic_json")


def disk(root: Path) -> dict[str, int]:
    """Data and log files (count, bytes) under the lake folder."""
    figures = {"data_files": 0, "data_bytes": 0, "log_files": 0, "log_bytes": 0}
    for path in root.rglob("*"):
        if not path.is_file() or LOCK_FOLDER in path.parts:
            continue
        kind = "log" if "_delta_log" in path.parts else "data"
        figures[f"{kind}_files"] += 1
        figures[f"{kind}_bytes"] += path.stat().st_size
    return figures


def lake_figures(lake: str) -> dict[str, float]:
    names = [name for name in TABLES if table_exists(lake, name)]
    started = time.perf_counter()
    versions = sum(open_table(lake, name).version() + 1 for name in names)
    live = [live_files(lake, name) for name in names]
    rows = scan_table(lake, FACT_STREAMS).select(pl.len()).collect().item()
    return {
        "tables": len(names),
        "versions": versions,
        "live_files": sum(files for files, _ in live),
        "live_bytes": sum(size for _, size in live),
        "fact_rows": rows,
        "open_seconds": time.perf_counter() - started,
    }


def build(root: Path, files: int, plays: int) -> tuple[Lake, float]:
    timeline = histories.plays(files * plays // 2 + plays, seed=17)
    lake, landing = Lake(root / "lake"), root / "landing"
    landing.mkdir()
    started = time.perf_counter()
    for number in range(files):
        first = number * plays // 2  # each file overlaps half of the previous one
        path = histories.write_export(landing, FORMATS[number % 3], number, timeline[first : first + plays])
        lake.ingest(path)
        lake.model()
    return lake, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--plays", type=int, default=60, help="plays per landing file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lake, build_seconds = build(root, args.files, args.plays)
        before_disk, before = disk(lake.root), lake_figures(lake.uri)
        started = time.perf_counter()
        results = [
            maintain_table(lake.uri, name, retention_hours=0, enforce_retention_duration=False)
            for name in TABLES
            if table_exists(lake.uri, name)
        ]
        maintain_seconds = time.perf_counter() - started
        after_disk, after = disk(lake.root), lake_figures(lake.uri)
    compacted = sum(result.files_compacted for result in results)
    vacuumed = sum(result.files_vacuumed for result in results)
    rows = [
        ("Parquet data files on disk", before_disk["data_files"], after_disk["data_files"]),
        ("data bytes on disk (MB)", mb(before_disk["data_bytes"]), mb(after_disk["data_bytes"])),
        ("files the current versions read", before["live_files"], after["live_files"]),
        ("bytes the current versions read (MB)", mb(before["live_bytes"]), mb(after["live_bytes"])),
        ("Delta log files", before_disk["log_files"], after_disk["log_files"]),
        ("Delta log bytes (MB)", mb(before_disk["log_bytes"]), mb(after_disk["log_bytes"])),
        ("table versions (all tables)", before["versions"], after["versions"]),
        (
            "open every table + count fact_streams (s)",
            f"{before['open_seconds']:.2f}",
            f"{after['open_seconds']:.2f}",
        ),
    ]
    assert before["fact_rows"] == after["fact_rows"]
    print(
        f"""
## Delta maintenance (issue 12, item 5)

`bench/bench_maintenance.py --files {args.files} --plays {args.plays}`, machine: {os.cpu_count()} cores,
{platform.python_version()}, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, load average
{os.getloadavg()[0]:.1f}. A local lake fed {args.files} small landing files one at a time
(ingest + model update each, {build_seconds:.0f} s untimed), {before["tables"]} tables,
{before["fact_rows"]:,} fact rows;
then compaction, vacuum (retention 0, guard off) and a checkpoint of every table:
**{maintain_seconds:.1f} s**, {compacted} files merged away by compaction, {vacuumed} files vacuumed.

| | before | after |
|---|---:|---:|
"""
        + "\n".join(f"| {name} | {left} | {right} |" for name, left, right in rows)
    )


def mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


if __name__ == "__main__":
    main()
