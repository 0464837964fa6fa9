"""Issue 11's benchmark: a basic "Account data" music file of 100k records, from scratch and resolved
against a 1M-play lake, each as a user runs it (`spotify-assets run FILE`, a fresh process).

1. `alone`: the basic file from scratch in an empty folder (lake and SQLite warehouse);
2. `against_1m`: a 1M-play Maven history first (not timed here: see bench_scale.py), then the basic
   file; printed with the share of its plays resolved to a Spotify track id (`track_resolution`).

The basic file comes from the same sample generator and catalogue as the Maven history (another
seed), so most of its (artist, title) pairs are known to the lake, as they are for a real listener
whose extended or Maven export covers the same tracks.

    PYTHONPATH=. python bench/bench_basic.py [--records 100000] [--history 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from bench_scale import OUT, history, timed

from spotify_assets.sample import write_basic_json


def basic_file(records: int) -> Path:
    """A cached basic music file of about `records` records (every music play of a generated history)."""
    path = OUT / f"StreamingHistory_music_{records}.json"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        write_basic_json(path, rows=records, seed=21, days=100_000)
    return path


def resolution(folder: Path) -> dict:
    pairs = pl.scan_delta(str(folder / "data/lake/track_resolution")).collect()
    plays = pairs["plays"].sum()
    resolved = pairs.filter(pl.col("track_id").is_not_null())["plays"].sum()
    return {
        "pairs": pairs.height,
        "basic_plays": plays,
        "resolved_plays": resolved,
        "resolved_share": round(resolved / plays, 4) if plays else None,
        "by_status": dict(pairs.group_by("status").agg(pl.col("plays").sum()).sort("status").rows()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    args = parser.parse_args()
    basic, big = basic_file(args.records), history(args.history)
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
        "basic_records": len(json.loads(basic.read_bytes())),
        "history": args.history,
    }
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))
    }
    command = [sys.executable, "-m", "spotify_assets.cli", "run"]
    with tempfile.TemporaryDirectory(prefix="bench_basic_") as scratch:
        alone = Path(scratch) / "alone"
        alone.mkdir()
        results["alone"] = timed([*command, str(basic)], alone, env) | resolution(alone)
        against = Path(scratch) / "against"
        against.mkdir()
        results["history_first"] = timed([*command, str(big)], against, env)
        results["against_history"] = timed([*command, str(basic)], against, env) | resolution(against)
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
