"""CLI benchmark (issue 12): `spotify-assets run` end to end, as a user runs it, each in a fresh process.

In a temporary folder with the default profile (Polars, local Delta lake, SQLite warehouse):

1. **from scratch**: a ROWS-play Maven CSV (`sample`, seed 11, cached under bench/out) in the
   landing folder, then `spotify-assets run`;
2. **nothing new**: `run` again, REPEAT times (no Dagster run, nothing written);
3. **new file**: a NEW_ROWS-play file (seed 12) named on the command line, `run FILE`;
4. **nothing new** once more.

For each: wall time (process start to exit, Python start-up included), CPU time of the process
(user + system: steadier than wall time on a shared machine; above wall when threads run in
parallel) and, from the run's log file
(every Dagster event with its time), the time inside Dagster runs (and of it, inside steps: the
rest is Dagster's run set-up and event bookkeeping), the time before the first run (start-up,
imports, intake, instance) and the rest (summary); for a run, its slowest steps.

    python bench/bench_cli.py                       # 150k plays, a 10k-play new file
    python bench/bench_cli.py --rows 1000000 --new-rows 10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).parent / "out"


def history(rows: int, seed: int) -> Path:
    from spotify_assets.sample import write_maven_csv

    path = OUT / f"history_{rows}_{seed}.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        write_maven_csv(path, rows=rows, seed=seed)
    return path


def run_cli(folder: Path, *args: str) -> dict:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))
    }
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    child = subprocess.run(
        [sys.executable, "-m", "spotify_assets.cli", "run", "--json", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode:
        sys.exit(
            f"spotify-assets run failed ({child.returncode}):\n{child.stdout[-2000:]}\n{child.stderr[-2000:]}"
        )
    summary = json.loads(child.stdout)
    cpu_seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    return {
        "wall": ended - started,
        "cpu": cpu_seconds,
        **_phases(summary.get("log"), started, ended),
        "runs": len(summary["runs"]),
        "fact_streams": summary["tables"]["fact_streams"],
    }


def _phases(log: str | None, started: float, ended: float) -> dict:
    """Time before the first run, inside runs, and after, from the event times in the log file."""
    if not log:
        return {
            "before_runs": ended - started,
            "in_runs": 0.0,
            "after_runs": 0.0,
            "steps": 0,
            "in_steps": 0.0,
            "slowest_steps": [],
        }
    spans: dict[str, list[float]] = {}
    step_started: dict[tuple[str, str], float] = {}
    steps: list[tuple[float, str]] = []
    for line in Path(log).read_text(encoding="utf-8").splitlines():
        parts = line.split(" - ")
        if len(parts) < 5 or not parts[0][:4].isdigit():
            continue  # an error's text
        at = datetime.strptime(parts[0], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
        run_id, kind = parts[3], parts[-2] if len(parts) >= 6 else ""
        spans.setdefault(run_id, [at, at])[1] = at
        if kind == "STEP_START":
            step_started[(run_id, parts[4])] = at
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and (run_id, parts[4]) in step_started:
            steps.append((at - step_started[(run_id, parts[4])], parts[4]))
    first = min(span[0] for span in spans.values())
    last = max(span[1] for span in spans.values())
    in_runs = sum(end - start for start, end in spans.values())
    return {
        "before_runs": first - started,
        "in_runs": in_runs,
        "after_runs": ended - last,
        "steps": len(steps),
        "in_steps": sum(seconds for seconds, _ in steps),
        "slowest_steps": [f"{name} {seconds:.2f}" for seconds, name in sorted(steps, reverse=True)[:6]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--new-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base, new = history(args.rows, 11), history(args.new_rows, 12)
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as scratch:
        folder = Path(scratch)
        (folder / "data/landing").mkdir(parents=True)
        (folder / "data/landing" / "history.csv").symlink_to(base)
        results = {"from_scratch": run_cli(folder)}
        idle = [run_cli(folder) for _ in range(args.repeat)]
        results["nothing_new"] = idle[len(idle) // 2] | {
            "wall_all": [round(result["wall"], 2) for result in idle],
            "wall_median": statistics.median(result["wall"] for result in idle),
        }
        copy = folder / "new_plays.csv"
        copy.write_bytes(new.read_bytes())
        results["new_file"] = run_cli(folder, str(copy))
        results["nothing_new_after"] = run_cli(folder)
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "rows": args.rows,
                "new_rows": args.new_rows,
                "load_average_1m": round(load, 2),
                "cores": os.cpu_count(),
                **results,
            },
            indent=2,
            default=lambda value: round(value, 2),
        )
    )


if __name__ == "__main__":
    main()
