"""The landing sensor, tick by tick, on a real (ephemeral) Dagster instance and a temporary landing folder."""

import dataclasses
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import dagster as dg
import pytest

from spotify_assets import instance_rules, runner, sample, sensors
from spotify_assets.definitions import build_definitions
from spotify_assets.partitions import landing_files
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.landing import QUARANTINE_DIR, content_hash
from spotify_assets.sensors import landing_sensor, why_not_a_history

from .graph import Platform


class Daemon:
    """Evaluates the sensor the way the daemon does: the cursor carries over, partition requests are
    applied. `tick` returns every run request the sensor made on that tick, as made (the daemon
    would drop a request whose run_key already ran; `run_keys` records every key requested)."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.cursor: str | None = None
        self.run_keys: list[str] = []
        self.requested: list[list[dg.RunRequest]] = []

    def tick(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(
            instance=self.platform.instance,
            cursor=self.cursor,
            resources={
                "landing": self.platform.landing,
                "lake": LakeResource(lake_uri=self.platform.settings.lake_uri),
            },
        )
        result = landing_sensor(context)
        self.cursor = result.cursor
        self.requested.append(list(result.run_requests))
        for request in result.dynamic_partitions_requests:
            self.platform.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        self.run_keys += [request.run_key for request in result.run_requests]
        return list(result.run_requests)


@pytest.fixture
def platform(tmp_path) -> Platform:
    return Platform.on(tmp_path)


@pytest.fixture
def daemon(platform) -> Daemon:
    return Daemon(platform)


@pytest.fixture
def never_quiet(monkeypatch):
    """Files count as complete only by the two-tick rule, however slowly the test runs."""
    monkeypatch.setattr(sensors, "QUIET_SECONDS", 10**6)


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def written_long_ago(*paths: Path) -> None:
    """As if each file had been copied in completely a minute ago (e.g. moved into the folder)."""
    then = time.time_ns() - 60 * 10**9
    for path in paths:
        os.utime(path, ns=(then, then))


def test_a_complete_file_starts_one_run_with_everything_downstream_on_the_first_tick(platform, daemon):
    path = sample.write_maven_csv(platform.landing.root / "history.csv", rows=200, seed=1)
    written_long_ago(path)
    [request] = daemon.tick()
    key = platform.landing.describe(path).key
    assert request.partition_key == key
    assert request.run_key == content_hash(path)[:12]
    assert request.tags[instance_rules.INGEST_CONCURRENCY_TAG] == "landing_sensor"
    assert landing_sensor.job_name == runner.FILE_JOB
    assert platform.instance.get_dynamic_partitions(landing_files.name) == [key]
    assert daemon.tick() == []  # handled: not requested again

    result = platform.defs.resolve_job_def(landing_sensor.job_name).execute_in_process(
        instance=platform.instance, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success
    fact = platform.table("fact_streams")
    assert fact.height == platform.table("file_accounting")["clean"].item() > 0
    assert set(fact["landing_file"]) == {key}


def test_a_file_still_being_written_waits_until_it_stops_changing(platform, daemon, never_quiet):
    path = platform.landing.root / "history.csv"
    sample.write_maven_csv(path, rows=200, seed=1)
    assert daemon.tick() == []  # first look, just written
    with path.open("ab") as handle:  # still being copied
        handle.write(b"")
    touch_later(path)
    assert daemon.tick() == []
    [request] = daemon.tick()  # unchanged since the last tick
    assert request.partition_key == platform.landing.describe(path).key


def test_a_file_that_changes_while_the_sensor_reads_it_waits(platform, daemon, monkeypatch):
    path = sample.write_maven_csv(platform.landing.root / "history.csv", rows=200, seed=1)
    written_long_ago(path)
    sniff = sensors.why_not_a_history

    def sniff_while_a_writer_appends(target: Path, **options) -> str | None:
        with target.open("ab") as handle:  # a stalled copy resumes while the sensor reads the file
            handle.write(b"")
        touch_later(target)
        return sniff(target, **options)

    monkeypatch.setattr(sensors, "why_not_a_history", sniff_while_a_writer_appends)
    assert daemon.tick() == []
    assert platform.instance.get_dynamic_partitions(landing_files.name) == []
    monkeypatch.setattr(sensors, "why_not_a_history", sniff)
    [request] = daemon.tick()  # unchanged since it was last read
    assert request.partition_key == platform.landing.describe(path).key


def test_a_file_removed_while_the_sensor_reads_it_is_forgotten(platform, daemon, monkeypatch):
    path = sample.write_maven_csv(platform.landing.root / "history.csv", rows=50, seed=1)
    written_long_ago(path)
    sniff = sensors.why_not_a_history

    def sniff_then_remove(target: Path, **options) -> str | None:
        reason = sniff(target, **options)
        target.unlink()  # the user took it back
        return reason

    monkeypatch.setattr(sensors, "why_not_a_history", sniff_then_remove)
    assert daemon.tick() == []
    assert json.loads(daemon.cursor) == {"handled": {}, "seen": {}}
    assert not (platform.landing.root / QUARANTINE_DIR).exists()


def test_the_same_bytes_under_another_name_start_nothing(platform, daemon):
    first = sample.write_maven_csv(platform.landing.root / "history.csv", rows=200, seed=1)
    written_long_ago(first)
    assert len(daemon.tick()) == 1
    copy = Path(shutil.copy(first, platform.landing.root / "history (copy).csv"))
    written_long_ago(copy)
    assert daemon.tick() == []
    assert len(platform.instance.get_dynamic_partitions(landing_files.name)) == 1


def test_a_file_that_is_not_a_history_is_quarantined_with_a_reason_and_blocks_nothing(platform, daemon):
    landing = platform.landing.root
    (landing / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)
    (landing / "notes.csv").write_text("date,amount\n2024-01-01,3\n")
    sample.write_maven_csv(landing / "history.csv", rows=100, seed=2)
    written_long_ago(*platform.landing.files())
    [request] = daemon.tick()
    assert request.partition_key.startswith("history-")
    quarantined = landing / QUARANTINE_DIR
    assert sorted(path.name for path in quarantined.iterdir()) == [
        "holiday.jpg",
        "holiday.jpg.reason.txt",
        "notes.csv",
        "notes.csv.reason.txt",
    ]
    reason = (quarantined / "holiday.jpg.reason.txt").read_text()
    assert reason.startswith("holiday.jpg: not a text file")
    assert "by the landing sensor" in reason
    assert "missing: spotify_track_uri" in (quarantined / "notes.csv.reason.txt").read_text()
    assert [path.name for path in platform.landing.files()] == ["history.csv"]
    (landing / "holiday.jpg").write_bytes(b"\xff\xd8 another photo")  # same name again
    written_long_ago(landing / "holiday.jpg")
    assert daemon.tick() == []
    assert len(list(quarantined.glob("holiday-*.jpg"))) == 1


def test_a_burst_of_files_is_handled_in_bounded_batches_one_run_per_file(platform, daemon):
    paths = [
        sample.write_maven_csv(platform.landing.root / f"export_{index:02}.csv", rows=20, seed=index)
        for index in range(50)
    ]
    written_long_ago(*paths)
    batches = [daemon.tick() for _ in range(4)]  # the requests as the sensor made them, per tick
    assert [len(batch) for batch in batches] == [20, 20, 10, 0]
    keys = [request.partition_key for batch in batches for request in batch]
    assert len(keys) == len(set(keys)) == 50, "one request per file, never two"
    assert len(daemon.run_keys) == len(set(daemon.run_keys)) == 50
    assert sorted(platform.instance.get_dynamic_partitions(landing_files.name)) == sorted(keys)


def test_the_cursor_survives_a_restart(platform, daemon, never_quiet):
    sample.write_maven_csv(platform.landing.root / "history.csv", rows=100, seed=3)
    assert daemon.tick() == []
    state = json.loads(daemon.cursor)
    assert list(state["seen"]) == ["history.csv"]
    restarted = Daemon(platform)
    restarted.cursor = daemon.cursor  # the daemon reloads the cursor from storage
    assert len(restarted.tick()) == 1
    again = Daemon(platform)
    again.cursor = restarted.cursor
    assert again.tick() == []


def test_a_file_already_ingested_by_the_cli_starts_nothing(platform, daemon):
    path = sample.write_maven_csv(platform.landing.root / "history.csv", rows=300, seed=4)
    assert platform.run(path).success
    written_long_ago(path)
    assert daemon.tick() == []
    assert json.loads(daemon.cursor)["handled"] == {"history.csv": list(sensors.signature(path))}


def test_large_files_are_sniffed_from_their_head_only(tmp_path, monkeypatch):
    monkeypatch.setattr(sensors, "FULL_SNIFF_BYTES", 1000)
    monkeypatch.setattr(sensors, "HEAD_SAMPLE_BYTES", 4000)
    history = sample.write_maven_csv(tmp_path / "big.csv", rows=500, seed=5)
    with history.open("ab") as handle:  # a tail the sniff must not read: unbalanced quotes
        handle.write(b'"broken,tail\n' * 100)
    assert why_not_a_history(history) is None
    photo = tmp_path / "big.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)
    assert "not a text file" in why_not_a_history(photo)
    plays = tmp_path / "Streaming_History_Audio_2024.json"
    plays.write_text('[{"ts": "2024-01-01T00:00:00Z", "ms_played": 1}' + ', {"ts": "x"}' * 400 + "]")
    assert why_not_a_history(plays) is None
    other = tmp_path / "config.json"
    other.write_text('{"theme": "dark"' + ', "x": 1' * 400 + "}")
    assert "not an array of plays" in why_not_a_history(other)
    archive = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("Spotify Account Data/Userdata.json", '{"username": "x"}' + " " * 2000)
        handle.writestr("Spotify Account Data/Read_Me_First.pdf", b"%PDF-1.4" + bytes(range(256)) * 8)
    assert "ZIP holds no history" in why_not_a_history(archive)
    with zipfile.ZipFile(archive, "a") as handle:
        record = '{"endTime": "2024-03-01 17:04", "artistName": "A", "trackName": "T", "msPlayed": 1}'
        handle.writestr("Spotify Account Data/StreamingHistory_music_0.json", f"[{record}]" + " " * 2000)
    assert why_not_a_history(archive) is None


def test_a_code_location_loaded_with_another_time_zone_rebuilds_the_model(platform):
    """The model's code version is its settings key: `dagster dev` restarted with another
    SPOTIFY_TIMEZONE (or overrides file) requests the model once, with no new file."""
    fact = dg.AssetKey("fact_streams")

    def evaluate(timezone: str, cursor=None):
        settings = dataclasses.replace(platform.settings, timezone=timezone)
        return dg.evaluate_automation_conditions(
            defs=build_definitions(settings), instance=platform.instance, cursor=cursor
        )

    first = evaluate("Europe/Berlin")
    again = evaluate("Europe/Berlin", first.cursor)
    moved = evaluate("America/New_York", again.cursor)
    after = evaluate("America/New_York", moved.cursor)
    assert [result.get_num_requested(fact) for result in (first, again, moved, after)] == [0, 0, 1, 0]
