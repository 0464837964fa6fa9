"""The `spotify-assets` console script, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from .hostile import write_hostile_csv

CLI = [sys.executable, "-m", "spotify_assets.cli"]


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_sample_then_run_with_defaults_prints_json_accounting(tmp_path):
    sampled = _run(["sample", "data/landing/history.csv", "--rows", "2000", "--seed", "5"], tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert pl.read_csv(tmp_path / "data/landing/history.csv").height == 2000
    write_hostile_csv(tmp_path / "data/landing/hostile.csv")
    result = _run(["run", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["success"] is True
    assert summary["lake"] == str((tmp_path / "data/lake").resolve())
    assert (tmp_path / "data/lake/fact_streams/_delta_log").is_dir()
    files = {Path(row["file"]).name: row for row in summary["files"]}
    assert files["history.csv"]["rows_read"] == 2000
    assert files["hostile.csv"]["rejected"] == 8
    for row in files.values():
        assert row["clean"] + row["filtered"] + row["duplicate"] + row["rejected"] == row["rows_read"]
    assert summary["tables"]["fact_streams"] == sum(row["clean"] for row in files.values())
    report = Path(summary["report"])
    assert report.parent == (tmp_path / "data/reports").resolve()
    assert "<svg" in report.read_text(encoding="utf-8")


def test_run_exits_non_zero_when_a_file_fails_and_names_it(tmp_path):
    bad = tmp_path / "not_history.csv"
    bad.write_text("name,age\nalice,3\n")
    result = _run(["run", str(bad)], tmp_path)
    assert result.returncode == 1
    assert "not_history.csv: line 1 is not the header of a Spotify history" in result.stdout


def test_run_refuses_missing_files(tmp_path):
    result = _run(["run", "nowhere.csv"], tmp_path)
    assert result.returncode == 2
    assert "no such file: nowhere.csv" in result.stderr
