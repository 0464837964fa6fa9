"""The maintain_lake job: content unchanged, old files and versions gone, on a local and an S3 lake.

The lake is built by the same ingest and model functions the assets call (lake_harness), drop after
drop, so every table has the history of versions a real lake gets.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake

from spotify_assets.definitions import build_definitions
from spotify_assets.io_managers.delta import open_table, scan_table, table_exists
from spotify_assets.io_managers.locks import LOCK_FOLDER
from spotify_assets.maintenance import maintenance_job
from spotify_assets.resources.lake import LAKE_LOCK, lake_lock
from spotify_assets.settings import Settings
from spotify_assets.tables import PARTITION_COLUMN, RAW_PLAYS, TABLES

from . import histories
from .lake_harness import Lake
from .s3_server import s3_with_bucket

BUCKET = "maintenance"
TIMELINE = histories.plays(160, seed=11)
DROPS = [
    ("maven_csv", 0, 60),
    ("extended_json", 40, 100),
    ("basic_json", 80, 140),
    ("extended_json", 120, 160),
]
SHORT_RETENTION = {
    "ops": {"maintain_lake_tables": {"config": {"retention_hours": 0, "enforce_retention_duration": False}}}
}


@pytest.fixture(scope="module")
def s3():
    with s3_with_bucket(BUCKET) as server:
        yield server


class Storage:
    """A harness lake and the data files its storage holds, table by table."""

    def __init__(self, kind: str, root: Path, s3) -> None:
        self.kind, self.s3 = kind, s3
        if kind == "local":
            self.lake = Lake(root / "lake")
        else:
            self.prefix = uuid.uuid4().hex
            self.lake = Lake(root / "scratch", remote=s3.lake_resource(f"s3://{BUCKET}/{self.prefix}"))

    def build(self, landing: Path) -> None:
        landing.mkdir(exist_ok=True)
        for number, (source_format, first, last) in enumerate(DROPS):
            self.lake.ingest(histories.write_export(landing, source_format, number, TIMELINE[first:last]))
            self.lake.model()
        self.split_partition(RAW_PLAYS)

    def split_partition(self, spec) -> None:
        """Store one partition's rows as two files, as Spark or an append would: something to compact."""
        location = self.lake.resource.location
        key = scan_table(location, spec).select(PARTITION_COLUMN).first().collect().item()
        rows = scan_table(location, spec, [key]).collect().to_arrow().cast(spec.empty().to_arrow().schema)
        uri, half = location.table_uri(spec.name), rows.num_rows // 2
        options = {"partition_by": [PARTITION_COLUMN], "storage_options": location.options()}
        write_deltalake(
            uri, rows.slice(0, half), mode="overwrite", predicate=f"{PARTITION_COLUMN} = '{key}'", **options
        )
        write_deltalake(uri, rows.slice(half), mode="append", **options)

    def tables(self) -> list[str]:
        return [name for name in TABLES if table_exists(self.lake.uri, name)]

    def data_files(self) -> dict[str, set[str]]:
        """Parquet data files on storage (outside the Delta log), relative to their table."""
        found: dict[str, set[str]] = {name: set() for name in self.tables()}
        if self.kind == "local":
            for name in found:
                folder = self.lake.root / name
                found[name] = {
                    str(path.relative_to(folder))
                    for path in folder.rglob("*.parquet")
                    if "_delta_log" not in path.parts
                }
        else:
            for key in self.s3.objects(BUCKET, self.prefix + "/"):
                table, relative = key.removeprefix(self.prefix + "/").split("/", 1)
                if key.endswith(".parquet") and not relative.startswith("_delta_log/"):
                    found[table].add(relative)
        return found

    def live_files(self, name: str) -> set[str]:
        return set(pl.DataFrame(open_table(self.lake.uri, name).get_add_actions(flatten=True))["path"])

    def snapshot(self) -> dict[str, pl.DataFrame]:
        return {
            name: scan_table(self.lake.uri, TABLES[name]).collect().sort(TABLES[name].primary_key)
            for name in self.tables()
        }

    def maintain(self, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
        return maintenance_job().execute_in_process(
            resources={"lake": self.lake.resource}, run_config=run_config, raise_on_error=False
        )


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, s3) -> Storage:
    storage = Storage(request.param, tmp_path, s3)
    storage.build(tmp_path / "landing")
    return storage


def test_maintenance_keeps_every_table_and_removes_old_files_and_versions(storage):
    before, files_before = storage.snapshot(), storage.data_files()
    raw_files = len(storage.live_files(RAW_PLAYS.name))
    assert len(before) >= 12 and sum(map(len, files_before.values())) > sum(
        len(storage.live_files(name)) for name in before
    )  # replaced files are still stored
    result = storage.maintain(SHORT_RETENTION)
    assert result.success
    after, files_after = storage.snapshot(), storage.data_files()
    for name, frame in before.items():
        assert after[name].equals(frame), name
        assert files_after[name] == storage.live_files(name), name  # nothing unreferenced is left
    assert sum(map(len, files_after.values())) < sum(map(len, files_before.values()))
    removed = sum(len(files - files_after[name]) for name, files in files_before.items())
    metadata = output_metadata(result)
    assert metadata["files_vacuumed"].value == removed and metadata["tables"].value == len(before)
    assert metadata["files_compacted"].value == 1  # the split partition, merged back into one file
    assert len(storage.live_files(RAW_PLAYS.name)) == raw_files - 1
    fact = storage.lake.resource.location
    with pytest.raises(OSError, match="not found"):
        DeltaTable(
            fact.table_uri("fact_streams"), version=0, storage_options=fact.options()
        ).to_pyarrow_table()


def test_the_default_retention_keeps_recent_files_and_delta_guards_a_short_one(storage):
    before, files_before = storage.snapshot(), storage.data_files()
    default = storage.maintain()
    assert default.success
    kept = storage.data_files()
    assert all(files <= kept[name] for name, files in files_before.items())  # replaced minutes ago: kept
    assert output_metadata(default)["files_vacuumed"].value == 0
    after = storage.snapshot()
    assert all(after[name].equals(frame) for name, frame in before.items())
    guarded = storage.maintain({"ops": {"maintain_lake_tables": {"config": {"retention_hours": 0}}}})
    assert not guarded.success
    failure = next(event for event in guarded.all_events if event.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "retention_hours=0 is shorter than Delta's minimum of 168 h" in message
    assert "SPOTIFY_LAKE_RETENTION_HOURS" in message and "enforce_retention_duration: false" in message
    assert storage.data_files() == kept


def test_turning_the_guard_off_keeps_the_retention_setting(storage, monkeypatch):
    """Run config replaces the job's default config whole: a config that only turns the guard off
    still vacuums by SPOTIFY_LAKE_RETENTION_HOURS (it fell back to 168 h and vacuumed nothing)."""
    monkeypatch.setenv("SPOTIFY_LAKE_RETENTION_HOURS", "0")
    before = storage.snapshot()
    result = storage.maintain(
        {"ops": {"maintain_lake_tables": {"config": {"enforce_retention_duration": False}}}}
    )
    assert result.success
    metadata = output_metadata(result)
    assert metadata["retention_hours"].value == 0 and metadata["files_vacuumed"].value > 0
    after = storage.snapshot()
    assert all(after[name].equals(frame) for name, frame in before.items())


def test_maintenance_waits_for_the_lake_lock(tmp_path):
    """While a model update holds the exclusive lock, the job does not touch the lake."""
    storage = Storage("local", tmp_path, None)
    storage.build(tmp_path / "landing")
    files_before = storage.data_files()
    lock_file = storage.lake.root / LOCK_FOLDER / f"{LAKE_LOCK}.lock"
    results: list = []
    with lake_lock(str(storage.lake.root), exclusive=True):
        worker = threading.Thread(target=lambda: results.append(storage.maintain(SHORT_RETENTION)))
        worker.start()
        wait_for_blocked_lock(lock_file, worker)
        assert storage.data_files() == files_before and not results
    worker.join()
    assert results[0].success and storage.data_files() != files_before


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    event = next(event for event in result.all_node_events if event.event_type_value == "STEP_OUTPUT")
    return event.step_output_data.metadata


def wait_for_blocked_lock(lock_file: Path, worker: threading.Thread) -> None:
    """Wait until some process waits for `lock_file`'s flock: /proc/locks lists the waiter with `->`."""
    inode = os.stat(lock_file).st_ino
    while worker.is_alive():
        waiting = [
            line
            for line in Path("/proc/locks").read_text().splitlines()
            if "->" in line and "FLOCK" in line and line.split()[6].endswith(f":{inode}")
        ]
        if waiting:
            return
        worker.join(0.01)  # poll again, or stop early when the worker ends
    raise AssertionError("maintenance finished without waiting for the lake lock")


def test_the_job_and_its_schedule_come_from_settings_and_the_schedule_is_off():
    defs = build_definitions(Settings(lake_retention_hours=24, timezone="Europe/Berlin"))
    job = defs.resolve_job_def("maintain_lake")
    assert job.run_config == {"ops": {"maintain_lake_tables": {"config": {"retention_hours": 24}}}}
    schedule = next(s for s in defs.schedules if s.name == "maintain_lake_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "maintain_lake" and schedule.execution_timezone == "Europe/Berlin"
