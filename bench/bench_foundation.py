"""Foundation benchmark: one history file through the graph, inside Dagster, in-process.

For each size it writes a Maven CSV with `spotify-assets sample` logic (cached under bench/out),
then, in a fresh child process (so peak memory is that size's own), registers the file and runs
one job over its partition: `lake` (ingest, model, album art and their checks: the foundation)
or `everything` (plus the SQLite warehouse and the report, as `spotify-assets run` does). It
reports wall time, peak RSS, and per Dagster step its duration and the peak RSS seen while it ran.

    python bench/bench_foundation.py                          # 150k and 10M rows, job lake
    python bench/bench_foundation.py --rows 150000 --job everything
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"


def history(rows: int) -> Path:
    from spotify_assets.sample import write_maven_csv

    path = OUT / f"history_{rows}.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        started = time.perf_counter()
        write_maven_csv(path, rows=rows, seed=11)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    return path


class RssSampler(threading.Thread):
    """Samples this process's resident memory every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.samples: list[tuple[float, int]] = []
        self.running = True

    def run(self) -> None:
        while self.running:
            self.samples.append((time.time(), self.process.memory_info().rss))
            time.sleep(0.02)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for at, rss in self.samples if start <= at <= end), default=0)


def measure(path: Path, job_name: str) -> dict:
    """Runs in the child process: one `job_name` run over `path`'s partition."""
    import dagster as dg

    from spotify_assets import runner
    from spotify_assets.definitions import build_definitions
    from spotify_assets.resources.landing import LandingFolder
    from spotify_assets.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="bench_foundation_"))
    landing = root / "landing"
    landing.mkdir()
    (landing / path.name).symlink_to(path.resolve())
    settings = Settings(
        landing_dir=str(landing),
        lake_uri=str(root / "lake"),
        warehouse_url=f"sqlite:///{root / 'warehouse.sqlite'}",
        report_dir=str(root / "reports"),
    )
    defs = build_definitions(settings)
    folder = LandingFolder(path=str(landing))
    sampler = RssSampler()
    sampler.start()
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        (registration,) = runner.register_files(instance, folder, folder.files())
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            partition_key=registration.key,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        wall = time.perf_counter() - started
        steps = _steps(instance, result.run_id, sampler)
    sampler.running = False
    return {
        "job": job_name,
        "file_mb": round(path.stat().st_size / 1e6),
        "success": result.success,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(sampler.peak() / 2**20),
        "steps": steps,
        "tables": runner.table_counts(settings.lake_uri),
    }


def _steps(instance, run_id: str, sampler: RssSampler) -> list[dict]:
    import dagster as dg

    starts, steps = {}, []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            start = starts[event.step_key]
            steps.append(
                {
                    "step": event.step_key,
                    "seconds": round(record.timestamp - start, 2),
                    "peak_rss_mb": round(sampler.peak(start, record.timestamp) / 2**20),
                }
            )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="history size(s); default 150k and 10M")
    parser.add_argument("--job", choices=("lake", "everything"), default="lake")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.job)))
        return
    for rows in args.rows or [150_000, 10_000_000]:
        path = history(rows)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(path), "--job", args.job],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            sys.exit(f"benchmark child failed:\n{child.stderr[-3000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1]) | {"rows": rows}
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
