"""The `spotify-assets` console script, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from spotify_assets import sample

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


def rows_of(lake: Path, file_stem: str) -> dict[str, int]:
    """Rows per lake table that belong to the landing file `file_stem` (its partitions)."""
    tables = [path.parent for path in lake.glob("*/_delta_log")]
    return {
        table.name: pl.scan_delta(str(table)).filter(pl.col("landing_file").str.starts_with(f"{file_stem}-"))
        .select(pl.len()).collect().item()
        for table in tables if "landing_file" in pl.scan_delta(str(table)).collect_schema()
    }


def test_run_exits_non_zero_when_a_file_fails_and_names_it(tmp_path):
    history = sample.write_maven_csv(tmp_path / "history.csv", rows=300, seed=3)
    bad = tmp_path / "not_history.csv"
    bad.write_text("name,age\nalice,3\n")
    result = _run(["run", str(history), str(bad)], tmp_path)
    assert result.returncode == 1
    # one line names the file and says why
    [line] = [line for line in result.stdout.splitlines() if "not_history.csv: line 1" in line]
    assert "not the header of a Spotify history" in line
    # the good file is in the lake, the bad one left nothing there
    lake = tmp_path / "data/lake"
    assert rows_of(lake, "history")["clean_plays"] > 0
    assert set(rows_of(lake, "not_history").values()) == {0}
    # and it is tried again on the next run, failing the same way
    again = _run(["run"], tmp_path)
    assert again.returncode == 1 and "not_history.csv: line 1" in again.stdout


def test_run_refuses_missing_files(tmp_path):
    result = _run(["run", "nowhere.csv"], tmp_path)
    assert result.returncode == 2
    assert "no such file: nowhere.csv" in result.stderr
