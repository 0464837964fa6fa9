"""The landing sensor, tick by tick, on a real (ephemeral) Dagster instance and a temporary landing folder."""

import json
import os
import shutil
import zipfile
from pathlib import Path

import dagster as dg
import pytest

from spotify_assets import sample, sensors
from spotify_assets.partitions import landing_files
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.landing import QUARANTINE_DIR, LandingFolder, content_hash
from spotify_assets.sensors import landing_sensor, why_not_a_history

from .graph import Platform


class Daemon:
    """Evaluates the sensor the way the daemon does: the cursor carries over, partition requests are
    applied, and a run_key that already started a run starts nothing again. `requested` keeps what the
    sensor itself asked for on each tick, before that deduplication."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.cursor: str | None = None
        self.run_keys: list[str] = []
        self.requested: list[list[dg.RunRequest]] = []

    def tick(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(
            instance=self.platform.instance,
            cursor=self.cursor,
            resources={"landing": self.platform.landing, "lake": LakeResource(lake_uri=self.platform.settings.lake_uri)},
        )
        result = landing_sensor(context)
        self.cursor = result.cursor
        self.requested.append(list(result.run_requests))
        for request in result.dynamic_partitions_requests:
            self.platform.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        launched = [request for request in result.run_requests if request.run_key not in self.run_keys]
        self.run_keys += [request.run_key for request in launched]
        return launched


@pytest.fixture
def platform(tmp_path) -> Platform:
    return Platform.on(tmp_path)


@pytest.fixture
def daemon(platform) -> Daemon:
    return Daemon(platform)


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_file_is_ingested_once_it_stops_changing(platform, daemon):
    path = platform.landing.root / "history.csv"
    sample.write_maven_csv(path, rows=200, seed=1)
    assert daemon.tick() == []  # first look
    with path.open("ab") as handle:  # still being copied
        handle.write(b"")
    touch_later(path)
    assert daemon.tick() == []
    [request] = daemon.tick()
    key = platform.landing.describe(path).key
    assert request.partition_key == key
    assert request.run_key == content_hash(path)[:12]
    assert request.tags[sensors.INGEST_CONCURRENCY_TAG] == "landing_sensor"
    assert platform.instance.get_dynamic_partitions(landing_files.name) == [key]
    assert daemon.tick() == []  # handled: not requested again


def test_the_same_bytes_under_another_name_start_nothing(platform, daemon):
    first = sample.write_maven_csv(platform.landing.root / "history.csv", rows=200, seed=1)
    daemon.tick()
    assert len(daemon.tick()) == 1
    shutil.copy(first, platform.landing.root / "history (copy).csv")
    daemon.tick()
    assert daemon.tick() == []
    assert len(platform.instance.get_dynamic_partitions(landing_files.name)) == 1


def test_a_file_that_is_not_a_history_is_quarantined_with_a_reason_and_blocks_nothing(platform, daemon):
    landing = platform.landing.root
    (landing / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)
    (landing / "notes.csv").write_text("date,amount\n2024-01-01,3\n")
    sample.write_maven_csv(landing / "history.csv", rows=100, seed=2)
    daemon.tick()
    [request] = daemon.tick()
    assert request.partition_key.startswith("history-")
    quarantined = landing / QUARANTINE_DIR
    assert sorted(path.name for path in quarantined.iterdir()) == [
        "holiday.jpg", "holiday.jpg.reason.txt", "notes.csv", "notes.csv.reason.txt",
    ]
    assert "not a text file" in (quarantined / "holiday.jpg.reason.txt").read_text()
    assert "missing: spotify_track_uri" in (quarantined / "notes.csv.reason.txt").read_text()
    assert [path.name for path in platform.landing.files()] == ["history.csv"]
    (landing / "holiday.jpg").write_bytes(b"\xff\xd8 another photo")  # same name again
    daemon.tick()
    daemon.tick()
    assert len(list(quarantined.glob("holiday-*.jpg"))) == 1


def test_a_burst_of_files_is_handled_in_bounded_batches_without_duplicate_runs(platform, daemon):
    for index in range(50):
        sample.write_maven_csv(platform.landing.root / f"export_{index:02}.csv", rows=20, seed=index)
    assert daemon.tick() == []
    for _ in range(4):
        daemon.tick()
    assert [len(requests) for requests in daemon.requested] == [0, 20, 20, 10, 0]  # as the sensor asked
    requested = [request for requests in daemon.requested for request in requests]
    keys = [request.partition_key for request in requested]
    assert len(set(keys)) == len(keys) == 50, "one request per file, never two"
    assert len({request.run_key for request in requested}) == 50
    assert sorted(platform.instance.get_dynamic_partitions(landing_files.name)) == sorted(keys)


def test_the_cursor_survives_a_restart(platform, daemon):
    sample.write_maven_csv(platform.landing.root / "history.csv", rows=100, seed=3)
    daemon.tick()
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
    daemon.tick()
    assert daemon.tick() == []


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
