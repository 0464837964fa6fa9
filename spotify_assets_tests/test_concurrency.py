"""Two writers at once: ingests and model updates started together end as one at a time would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from spotify_assets import sample
from spotify_assets.io_managers.delta import scan_table
from spotify_assets.tables import LAKE_TABLES

from .lake_harness import differences

CLI = [sys.executable, "-m", "spotify_assets.cli"]


def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))
    }
    return subprocess.Popen(
        [*CLI, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


ENRICHMENT = ("album_art", "track_metadata")


def _lake(folder: Path) -> dict[str, pl.DataFrame]:
    """Every lake table, sorted; an enrichment row without the landing file that happened to look
    it up first (a cache entry belongs to whichever file asked: that depends on arrival)."""
    tables = {
        spec.name: scan_table(str(folder / "data/lake"), spec).collect().sort(spec.primary_key)
        for spec in LAKE_TABLES
    }
    return {
        name: frame.drop("landing_file") if name in ENRICHMENT else frame for name, frame in tables.items()
    }


def test_two_runs_at_once_on_overlapping_files_equal_one_at_a_time(tmp_path):
    full, excerpt = tmp_path / "export.csv", tmp_path / "excerpt.csv"
    sample.write_maven_csv(full, rows=6_000, seed=21)
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    excerpt.write_text("".join([lines[0], *lines[1_500:4_000]]), encoding="utf-8")  # the same plays again

    together, one_by_one = tmp_path / "together", tmp_path / "one_by_one"
    together.mkdir(), one_by_one.mkdir()
    runs = [_cli(["run", str(path)], together) for path in (full, excerpt)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    for path in (full, excerpt):
        run = _cli(["run", str(path)], one_by_one)
        output = run.communicate(timeout=600)[0]
        assert run.returncode == 0, output

    concurrent, sequential = _lake(together), _lake(one_by_one)
    assert differences(concurrent, sequential) == []
    fact = concurrent["fact_streams"]
    assert fact["play_key"].is_unique().all()
    accounting = {row["file_name"]: row for row in concurrent["file_accounting"].to_dicts()}
    # equal copies: the smaller landing file key wins, whoever came first
    assert accounting["excerpt.csv"]["duplicate_across_files"] == 0
    assert accounting["export.csv"]["duplicate_across_files"] == accounting["excerpt.csv"]["clean"] > 2_000
    assert fact.height == sum(row["clean"] for row in accounting.values())


OPEN_INSTANCE = """
import sys
from pathlib import Path
from spotify_assets.cli import open_instance
with open_instance(Path(sys.argv[1])) as instance:
    instance.get_runs(limit=1)
"""


def test_first_runs_at_once_share_one_new_dagster_instance(tmp_path):
    """Without the lock about two in three such pairs failed with `table … already exists`."""
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    opens = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_INSTANCE, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in opens]
    assert [process.returncode for process in opens] == [0] * 4, outputs
