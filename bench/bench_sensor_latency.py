"""Sensor latency benchmark (issue 12): a file dropped into the landing folder of a running
`dagster dev`, until its plays are in `fact_streams`.

Starts `dagster dev` (webserver + daemon, the shipped `dagster.yaml`) on temporary folders, waits
until the landing sensor has ticked, then drops DROPS small Maven CSVs one after another (each
copied in as a user would, `shutil.copy`) and times, for each: drop -> run created (the sensor's
tick), -> run started (queue and launch), -> `fact_streams` holds the file's plays (polled on the
lake every 0.2 s). At the end it lists every run: one per dropped file and no other is expected.

    python bench/bench_sensor_latency.py              # 3 drops of 5,000 plays
    python bench/bench_sensor_latency.py --rows 5000 --drops 5
    python bench/bench_sensor_latency.py --dequeue-seconds 1    # a shorter run-queue interval
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = (
    "{ runsOrError { ... on Runs { results { runId jobName status creationTime startTime endTime "
    "tags { key value } } } } }"
)
SENSORS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors {
  name sensorState { ticks(limit: 1) { timestamp } } } } } } }"""


def fact_keys(lake: Path) -> set[str]:
    import polars as pl

    table = lake / "fact_streams"
    if not (table / "_delta_log").is_dir():
        return set()
    return set(pl.scan_delta(str(table)).select("landing_file").unique().collect()["landing_file"].to_list())


def _partition(run: dict) -> str:
    return next((tag["value"] for tag in run["tags"] if tag["key"] == "dagster/partition"), "-")


def _asset_selection(run: dict) -> str:
    """Who started the run (sensor or automation), as its tags say."""
    keys = ("dagster/sensor_name", "dagster/automation_condition", "dagster/from_automation_condition")
    return ",".join(f"{tag['key']}={tag['value']}" for tag in run["tags"] if tag["key"] in keys) or "-"


def runs(dev) -> list[dict]:
    return dev.graphql(RUNS)["runsOrError"]["results"]


def wait(condition, seconds: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    raise SystemExit(f"timed out after {seconds:.0f} s waiting for {what}")


def main() -> None:
    from spotify_assets.resources.landing import content_hash, partition_key
    from spotify_assets.sample import write_maven_csv
    from spotify_assets_tests import test_e2e_ui
    from spotify_assets_tests.test_e2e_ui import DagsterDev

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--drops", type=int, default=3)
    parser.add_argument(
        "--dequeue-seconds",
        type=int,
        help="try run_queue.dequeue_interval_seconds (default: the shipped dagster.yaml's, Dagster's 5 s)",
    )
    args = parser.parse_args()
    if args.dequeue_seconds:
        test_e2e_ui.DAGSTER_YAML += f"run_queue:\n  dequeue_interval_seconds: {args.dequeue_seconds}\n"
    with tempfile.TemporaryDirectory(prefix="bench_sensor_") as scratch:
        root = Path(scratch)
        sources = [
            write_maven_csv(root / f"export_{n}.csv", rows=args.rows, seed=40 + n) for n in range(args.drops)
        ]
        dev = DagsterDev(root / "dev")
        dev.root.mkdir()
        dev.start()
        try:

            def ticked() -> bool:
                nodes = dev.graphql(SENSORS)["repositoriesOrError"]["nodes"]
                return any(
                    sensor["name"] == "landing_sensor" and sensor["sensorState"]["ticks"]
                    for node in nodes
                    for sensor in node["sensors"]
                )

            wait(ticked, 120, "the landing sensor's first tick", poll=1)
            drops = []
            for source in sources:
                key = partition_key(source, content_hash(source))
                dropped = time.time()
                shutil.copy(source, dev.landing / source.name)
                wait(lambda key=key: key in fact_keys(root / "dev/lake"), 180, f"{key} in fact_streams")
                arrived = time.time()
                run = min(
                    (run for run in runs(dev) if {"key": "dagster/partition", "value": key} in run["tags"]),
                    key=lambda run: run["creationTime"],
                )
                drops.append(
                    {
                        "file": source.name,
                        "drop_to_fact_streams_s": round(arrived - dropped, 1),
                        "drop_to_run_created_s": round(run["creationTime"] - dropped, 1),
                        "created_to_started_s": round((run["startTime"] or 0) - run["creationTime"], 1),
                        "job": run["jobName"],
                    }
                )
                wait(
                    lambda: all(run["status"] not in ("QUEUED", "STARTING", "STARTED") for run in dev.runs()),
                    180,
                    "the runs to finish",
                )
            time.sleep(15)  # one more automation interval: nothing else may start
            every_run = runs(dev)
        finally:
            dev.stop()
    print(
        json.dumps(
            {
                "rows_per_file": args.rows,
                "dequeue_interval_seconds": args.dequeue_seconds or "shipped",
                "load_average_1m": round(os.getloadavg()[0], 2),
                "drops": drops,
                "runs": sorted(
                    (run["jobName"], run["status"], _partition(run), _asset_selection(run))
                    for run in every_run
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
