"""Issue 12's targets, in one run: what a history costs from scratch, what a new file and a run with
nothing new cost after it, and a bare DuckDB script on the same file for comparison.

Everything runs as a user runs it, in fresh processes (`spotify-assets run` for the CLI figures, a
child process per lake-only run), on a temporary folder; peak RSS is the child's own.

1. `duckdb`: bench/duckdb_baseline.py on the big file (the bare-script reference);
2. `lake`: the big file from scratch, lake only (job `lake`: ingest, model, enrichment, checks);
3. `cli`: `spotify-assets run BIG` from scratch with the warehouse (SQLite unless --warehouse);
4. `new_file`: then `spotify-assets run SMALL` (a new file of --small plays from the same listener);
5. `nothing_new`: then `spotify-assets run`, checking that no Delta table and no warehouse file changed;
6. `verify`: both files from scratch in one `spotify-assets run BIG SMALL` in a fresh folder; every
   lake table's and warehouse table's row count must equal the incremental folder's.

    python bench/bench_scale.py --rows 10000000 --small 10000
    python bench/bench_scale.py --rows 150000 --only cli
    python bench/bench_scale.py --rows 10000000 --warehouse 'mysql://root@127.0.0.1:3306/bench_scale'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).parent.parent
PHASES = ("duckdb", "lake", "cli", "new_file", "nothing_new", "verify")


def history(rows: int, seed: int = 11) -> Path:
    """A cached Maven CSV of `rows` plays."""
    from spotify_assets.sample import write_maven_csv

    path = OUT / f"history_{rows}.csv" if seed == 11 else OUT / f"history_{rows}_seed{seed}.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        write_maven_csv(path, rows=rows, seed=seed)
    return path


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """Wall time, CPU time and peak RSS of one child process (GNU time), and its exit code."""
    report = cwd / f".time-{time.monotonic_ns()}.txt"
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(report), *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    _elapsed, user, system, peak_kb = report.read_text().split()[-4:]
    figures = {
        "wall_s": round(wall, 2),
        "cpu_s": round(float(user) + float(system), 2),
        "peak_rss_mb": int(peak_kb) // 1024,
        "exit": result.returncode,
    }
    if result.returncode:
        figures["tail"] = (result.stdout + result.stderr)[-2000:]
    return figures


def lake_snapshot(folder: Path) -> dict[str, list[str]]:
    """Every Delta log entry of every table, and the warehouse file's size and mtime."""
    snapshot = {
        log.parent.name: sorted(entry.name for entry in log.iterdir())
        for log in (folder / "data/lake").glob("*/_delta_log")
    }
    for warehouse in folder.glob("data/*.sqlite*"):
        stat = warehouse.stat()
        snapshot[warehouse.name] = [str(stat.st_size), str(stat.st_mtime_ns)]
    return snapshot


def row_counts(folder: Path) -> dict[str, int]:
    """Rows of every lake table (Delta) and every warehouse table (SQLite) under `folder`."""
    import sqlite3

    import polars as pl

    counts = {
        f"lake.{log.parent.name}": pl.scan_delta(str(log.parent)).select(pl.len()).collect().item()
        for log in sorted((folder / "data/lake").glob("*/_delta_log"))
    }
    for database in folder.glob("data/*.sqlite"):
        with sqlite3.connect(database) as connection:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for (name,) in tables:
                counts[f"warehouse.{name}"] = connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[
                    0
                ]
    return counts


LAKE_ONLY = """
import sys
from pathlib import Path
import dagster as dg
from spotify_assets import runner
from spotify_assets.definitions import build_definitions
from spotify_assets.resources.landing import LandingFolder
from spotify_assets.settings import Settings
settings = Settings.from_env()
landing = LandingFolder(path=settings.landing_dir)
with dg.DagsterInstance.ephemeral() as instance:
    copied = runner.into_landing(landing, Path(sys.argv[1]))
    registration = runner.register_files(instance, landing, [copied])[0]
    result = build_definitions(settings, interactive=True).resolve_job_def("lake").execute_in_process(
        instance=instance, partition_key=registration.key, raise_on_error=False)
sys.exit(0 if result.success else 1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument(
        "--warehouse", default=None, help="SPOTIFY_WAREHOUSE_URL (default: SQLite in the folder)"
    )
    parser.add_argument("--only", choices=PHASES, action="append")
    parser.add_argument("--small-seed", type=int, default=12, help="another seed = another new file")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="the CLI phases' folder, kept after the run; when it already holds a lake, `cli` is skipped "
        "and the new file lands on it (e.g. several new files in a row on one 10M history)",
    )
    args = parser.parse_args()
    phases = args.only or list(PHASES)
    big, small = history(args.rows), history(args.small, seed=args.small_seed)
    results: dict = {
        "rows": args.rows,
        "small": args.small,
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{os.cpu_count()} cores",
        "file_mb": round(big.stat().st_size / 1e6),
    }
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as scratch:
        root = Path(scratch)
        base_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))
        }
        if "duckdb" in phases:
            results["duckdb"] = timed(
                [python, str(ROOT / "bench/duckdb_baseline.py"), str(big), str(root / "duckdb")],
                root,
                base_env,
            )
        if "lake" in phases:
            folder = root / "lake_only"
            folder.mkdir()
            env = base_env | {
                "SPOTIFY_LANDING_DIR": str(folder / "landing"),
                "SPOTIFY_LAKE_URI": str(folder / "lake"),
            }
            results["lake"] = timed([python, "-c", LAKE_ONLY, str(big)], folder, env)
        cli_phases = [phase for phase in ("cli", "new_file", "nothing_new") if phase in phases]
        if cli_phases:
            folder = args.keep or root / "cli"
            folder.mkdir(exist_ok=True)
            env = base_env | ({"SPOTIFY_WAREHOUSE_URL": args.warehouse} if args.warehouse else {})
            command = [python, "-m", "spotify_assets.cli", "run"]
            if not (folder / "data/lake").exists():
                results["cli"] = timed([*command, str(big)], folder, env)
            if "new_file" in phases or "nothing_new" in phases:
                results["new_file"] = timed([*command, str(small)], folder, env)
            if "nothing_new" in phases:
                before = lake_snapshot(folder)
                results["nothing_new"] = timed(command, folder, env)
                results["nothing_new"]["tables_written"] = sorted(
                    name for name, entries in lake_snapshot(folder).items() if before.get(name) != entries
                )
            if "verify" in phases and "new_file" in results:
                fresh = root / "verify"
                fresh.mkdir()
                results["verify"] = timed([*command, str(big), str(small)], fresh, env)
                incremental, scratch_counts = row_counts(folder), row_counts(fresh)
                results["verify"]["tables_compared"] = len(scratch_counts)
                results["verify"]["row_counts_differ"] = {
                    name: (incremental.get(name), rows)
                    for name, rows in scratch_counts.items()
                    if incremental.get(name) != rows and not name.startswith("warehouse._")
                }
    if "duckdb" in results and "lake" in results:
        results["lake_over_duckdb"] = round(results["lake"]["wall_s"] / results["duckdb"]["wall_s"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
