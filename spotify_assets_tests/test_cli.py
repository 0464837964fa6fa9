"""The `spotify-assets` console script, as a user runs it: what it prints, its exit code, and what
it leaves in the landing folder, the lake and the warehouse."""

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from spotify_assets import run_events, sample
from spotify_assets.definitions import build_definitions
from spotify_assets.intake import HashCache
from spotify_assets.progress import Progress, parse_progress, progress_message
from spotify_assets.resources.landing import LandingFolder
from spotify_assets.settings import Settings

from .fake_spotify import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FakeSpotify, spotify_id
from .hostile import HEADER, write_hostile_csv
from .mysql_fixtures import fresh_mysql_url, server_connection  # noqa: F401  (fixture)

CLI = [sys.executable, "-m", "spotify_assets.cli"]
NOT_HISTORY = "name,age\nalice,3\n"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 8


def _run(args, cwd: Path, **env) -> subprocess.CompletedProcess:
    base = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPOTIFY_", "DAGSTER_HOME"))
    }
    result = subprocess.run(
        [*CLI, *args], cwd=cwd, env=base | env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


def _failed_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAILED ")]


def _files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time: a write changes this."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_sample_then_run_with_defaults_prints_json_accounting_and_a_second_run_writes_nothing(tmp_path):
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
    assert (summary["skipped"], summary["quarantined"], summary["failures"]) == ([], [], [])
    assert summary["album_art"]["credentials"] is False
    assert summary["album_art"]["pending"] == summary["tables"]["album_art"] > 0
    assert summary["nothing_new"] is False
    report = Path(summary["report"])
    assert report.parent == (tmp_path / "data/reports").resolve()
    assert "<svg" in report.read_text(encoding="utf-8")
    log = Path(summary["log"])
    assert log.parent == tmp_path / "data/dagster_home/logs"
    assert "STEP_SUCCESS" in log.read_text(encoding="utf-8")
    assert "hostile.csv" in result.stderr and "done in" in result.stderr  # progress, on stderr

    lake, warehouse = (
        _files_under(tmp_path / "data/lake"),
        _files_under(tmp_path / "data").get("warehouse.sqlite"),
    )
    again = _run(["run"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Nothing new: all 2 files are in the lake already; nothing was written." in again.stdout
    assert "Log:" not in again.stdout and again.stderr == ""
    assert _files_under(tmp_path / "data/lake") == lake
    assert _files_under(tmp_path / "data").get("warehouse.sqlite") == warehouse


def rows_of(lake: Path, file_stem: str) -> dict[str, int]:
    """Rows per lake table that belong to the landing file `file_stem` (its partitions)."""
    tables = [path.parent for path in lake.glob("*/_delta_log")]
    return {
        table.name: pl.scan_delta(str(table))
        .filter(pl.col("landing_file").str.starts_with(f"{file_stem}-"))
        .select(pl.len())
        .collect()
        .item()
        for table in tables
        if "landing_file" in pl.scan_delta(str(table)).collect_schema()
    }


def test_a_refused_file_is_quarantined_with_one_line_and_the_next_run_is_clean(tmp_path):
    history = sample.write_maven_csv(tmp_path / "history.csv", rows=300, seed=2)
    named = tmp_path / "not_history.csv"
    named.write_text(NOT_HISTORY)
    (tmp_path / "data/landing").mkdir(parents=True)
    (tmp_path / "data/landing/holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64)

    result = _run(["run", str(history), str(named), str(tmp_path / "data/landing/holiday.jpg")], tmp_path)

    assert result.returncode == 1
    quarantine = tmp_path / "data/landing/quarantine"
    first, second = _failed_lines(result.stdout)
    assert first.startswith(
        "FAILED not_history.csv: line 1 is not the header of a Spotify history; "
        "expected the Maven Analytics CSV columns"
    )
    assert first.endswith(
        "-> moved to data/landing/quarantine/not_history.csv (with a .reason.txt); "
        "fix or replace it and run again"
    )
    assert second.startswith("FAILED holiday.jpg: not a text file")
    assert sorted(path.name for path in quarantine.iterdir()) == [
        "holiday.jpg",
        "holiday.jpg.reason.txt",
        "not_history.csv",
        "not_history.csv.reason.txt",
    ]
    assert "by spotify-assets run" in (quarantine / "holiday.jpg.reason.txt").read_text()
    assert named.read_text() == NOT_HISTORY  # a file named from elsewhere is copied, never taken away
    assert sorted(path.name for path in (tmp_path / "data/landing").iterdir()) == [
        "history.csv",
        "quarantine",
    ]
    lake = tmp_path / "data/lake"  # the good file is in the lake, the refused ones left nothing there
    assert rows_of(lake, "history")["clean_plays"] > 0
    assert set(rows_of(lake, "not_history").values()) == set(rows_of(lake, "holiday").values()) == {0}

    clean = _run(["run"], tmp_path)
    assert clean.returncode == 0, clean.stdout
    assert _failed_lines(clean.stdout) == []


def test_a_lone_refused_file_on_a_new_lake_is_one_line_and_the_tables_exist_empty(tmp_path):
    named = tmp_path / "not_history.csv"
    named.write_text(NOT_HISTORY)

    result = _run(["run", "--json", str(named)], tmp_path)

    assert result.returncode == 1
    summary = json.loads(result.stdout)
    [line] = summary["failures"]
    assert line.startswith("not_history.csv: line 1 is not the header of a Spotify history")
    assert set(summary["tables"].values()) == {0} and "fact_streams" in summary["tables"]
    for table in ("fact_streams", "dim_track", "dim_album", "dim_date", "file_accounting"):
        assert pl.read_delta(str(tmp_path / "data/lake" / table)).height == 0, table
    assert [run["job"] for run in summary["runs"]] == ["refresh_model"] and summary["runs"][0]["success"]


def test_a_file_whose_rows_are_all_rejected_is_marked_failed_once(tmp_path):
    sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=300, seed=9)
    assert _run(["run"], tmp_path).returncode == 0
    header = HEADER  # the Maven CSV's
    rows = [
        f"3ZzlzIJ5iH3WXCP6bX8Vp5,yesterday {n},android,74465,Song,Artist,Album,fwdbtn,endplay,FALSE,FALSE"
        for n in range(5)
    ]
    bad = tmp_path / "all_bad.csv"
    bad.write_text("\n".join([header, *rows]) + "\n")

    result = _run(["run", str(bad)], tmp_path)

    assert result.returncode == 1
    [line] = _failed_lines(result.stdout)
    assert line.startswith(
        "FAILED all_bad.csv (cleaned_plays): all_bad.csv: all 5 rows were rejected "
        "(bad_timestamp (5)); e.g. all_bad.csv line 2:"
    )
    assert "; fix or replace the file, then run again (full error in " in line
    [row] = [row for row in result.stdout.splitlines() if row.strip().startswith("all_bad.csv")]
    assert row.split()[:3] == ["all_bad.csv", "FAILED", "5"] and row.split()[-1] == "5"
    again = json.loads(_run(["run", "--json"], tmp_path).stdout)
    assert again["success"] and again["runs"] == []  # its rows are stored: nothing is tried again
    assert {Path(row["file"]).name: row["rejected"] for row in again["files"]}["all_bad.csv"] == 5


def test_an_unzipped_export_folder_is_walked_and_spotifys_other_files_are_skipped_with_one_note(tmp_path):
    export = tmp_path / "Spotify Extended Streaming History"
    export.mkdir()
    plays = sample.write_extended_json(export / "Streaming_History_Audio_2021-2023_0.json", rows=400, seed=3)
    (export / "ReadMeFirst_ExtendedStreamingHistory.pdf").write_bytes(PDF)
    (export / "Userdata.json").write_text('{"username": "listener", "country": "SE"}')
    (export / "Playlist1.json").write_text('{"playlists": [{"name": "Road trip", "items": []}]}')
    (export / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")

    result = _run(["run", str(export)], tmp_path)

    assert result.returncode == 0, result.stdout
    assert _failed_lines(result.stdout) == []
    [note] = [line for line in result.stdout.splitlines() if line.startswith("Skipped")]
    assert note == (
        "Skipped 3 files that are not a play history: Playlist1.json, "
        "ReadMeFirst_ExtendedStreamingHistory.pdf, Userdata.json"
    )
    assert [path.name for path in (tmp_path / "data/landing").iterdir()] == [
        "Streaming_History_Audio_2021-2023_0.json"
    ]
    as_json = json.loads(_run(["run", "--json", str(export)], tmp_path).stdout)
    assert as_json["nothing_new"] is True and len(as_json["skipped"]) == 3
    assert as_json["files"][0]["rows_read"] == len(json.loads(plays.read_text(encoding="utf-8")))

    other = tmp_path / "Spotify Account Data"
    other.mkdir()
    (other / "Userdata.json").write_text('{"username": "listener"}')
    nothing = _run(["run", str(other)], tmp_path)
    assert nothing.returncode == 1
    [line] = _failed_lines(nothing.stdout)
    assert line.startswith(f"FAILED {other}: no play history among its 1 files; expected Spotify's")


def test_a_failed_publish_is_one_line_and_the_next_plain_run_repairs_it(tmp_path):
    sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=300, seed=4)
    unreachable = {"SPOTIFY_WAREHOUSE_URL": "mysql://root@127.0.0.1:9/spotify"}  # nothing listens on port 9

    broken = _run(["run"], tmp_path, **unreachable)

    assert broken.returncode == 1
    lines = _failed_lines(broken.stdout)
    assert lines and all("2003" in line or "connect" in line.lower() for line in lines), lines
    [log] = (tmp_path / "data/dagster_home/logs").iterdir()
    assert all(line.endswith(f"; the next run tries again (full error in {log})") for line in lines)
    assert "Stack Trace" in log.read_text(encoding="utf-8") or "Traceback" in log.read_text(encoding="utf-8")
    assert (tmp_path / "data/lake/fact_streams/_delta_log").is_dir()  # the lake is written before the publish

    repaired = _run(["run", "--json"], tmp_path)

    summary = json.loads(repaired.stdout)
    assert repaired.returncode == 0, summary["failures"]
    [catch_up] = summary["runs"]
    assert (catch_up["job"], catch_up["success"]) == ("refresh_model", True)
    with sqlite3.connect(tmp_path / "data/warehouse.sqlite") as connection:
        rows = connection.execute("select count(*) from fact_streams").fetchone()[0]
    assert rows == summary["tables"]["fact_streams"] > 0


def test_a_lake_changed_since_the_last_run_is_checked_again(tmp_path, monkeypatch):
    """`run` skips Dagster only while the lake is as the last up-to-date run left it: here the daemon
    (in-process, same DAGSTER_HOME) ingests a dropped file, its publish fails, and the next plain
    `run` publishes."""
    sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=300, seed=7)
    assert _run(["run"], tmp_path).returncode == 0
    assert json.loads(_run(["run", "--json"], tmp_path).stdout)["runs"] == []
    dropped = sample.write_maven_csv(tmp_path / "data/landing/dropped.csv", rows=200, seed=8)
    settings = Settings(
        landing_dir=str(tmp_path / "data/landing"),
        lake_uri=str(tmp_path / "data/lake"),
        warehouse_url="mysql://root@127.0.0.1:9/spotify",
        report_dir=str(tmp_path / "data/reports"),
    )
    key = LandingFolder(path=settings.landing_dir).describe(dropped).key
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data/dagster_home"))  # as the daemon has it
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("landing_files", [key])
        daemon_run = (
            build_definitions(settings)
            .resolve_job_def("everything")
            .execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        )
    assert not daemon_run.success

    summary = json.loads(_run(["run", "--json"], tmp_path).stdout)

    assert summary["success"], summary["failures"]
    assert [(run["job"], run["success"]) for run in summary["runs"]] == [("refresh_model", True)]
    assert summary["nothing_new"] is False and {row["registration"] for row in summary["files"]} == {"known"}
    with sqlite3.connect(tmp_path / "data/warehouse.sqlite") as connection:
        published = connection.execute("select count(*) from fact_streams").fetchone()[0]
    assert published == summary["tables"]["fact_streams"] > 300 - 20
    assert json.loads(_run(["run", "--json"], tmp_path).stdout)["runs"] == []


def _spotify_env(fake: FakeSpotify) -> dict[str, str]:
    """The settings that point a run at the fake Spotify with its credentials."""
    return {
        "SPOTIFY_CLIENT_ID": FAKE_CLIENT_ID,
        "SPOTIFY_CLIENT_SECRET": FAKE_CLIENT_SECRET,
        "SPOTIFY_API_URL": fake.api_url,
        "SPOTIFY_TOKEN_URL": fake.token_url,
    }


@pytest.fixture
def fake_spotify():
    with FakeSpotify() as server:
        yield server


def test_a_quota_stop_is_retried_by_the_next_plain_run_and_the_summary_says_when(tmp_path, fake_spotify):
    history = sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=300, seed=6)
    track_ids = pl.read_csv(history)["spotify_track_uri"].str.replace("spotify:track:", "").unique()
    fake_spotify.catalog.update({track: spotify_id(f"{track}-album") for track in track_ids})
    fake_spotify.exhaust_quota_after(2, retry_after_seconds=3 * 3600)
    env = _spotify_env(fake_spotify)

    stopped = _run(["run"], tmp_path, **env)

    assert stopped.returncode == 1
    # spotipy logs each 429 it sees: into the log file, not onto the terminal
    assert "HTTP Error" not in stopped.stderr and "HTTP Error" not in stopped.stdout
    [log_path] = re.findall(r"^Log: +(\S+)$", stopped.stdout, re.M)
    assert "spotipy.client ERROR: HTTP Error" in Path(log_path).read_text(encoding="utf-8")
    [line] = _failed_lines(stopped.stdout)
    assert line.startswith("FAILED history.csv (spotify_lookup): spotify_lookup history-")
    assert "quota exhausted; retry after " in line
    # "HH:MM UTC", or "YYYY-MM-DD HH:MM UTC" when the quota resets on another day (after 21:00 UTC here)
    retry_after = re.search(r"retry after ((?:\d{4}-\d\d-\d\d )?\d\d:\d\d UTC)", line).group(1)
    [note] = [line for line in stopped.stdout.splitlines() if line.startswith("Spotify lookups:")]
    assert note.endswith(
        f"still pending; Spotify's quota allows the next try after {retry_after}: run again then"
    )
    fact_log = _files_under(tmp_path / "data/lake/fact_streams")
    # asked again before the quota is back: the file is named as on the first run, not by its key
    again = _run(["run"], tmp_path, **env)
    assert again.returncode == 1
    assert [line.split(" (")[0] for line in _failed_lines(again.stdout)] == ["FAILED history.csv"]

    fake_spotify.restore_quota()
    resumed = _run(["run", "--json"], tmp_path, **env)

    summary = json.loads(resumed.stdout)
    assert resumed.returncode == 0, summary["failures"]
    assert summary["album_art"] == {
        "pending": 0,
        "tracks_pending": 0,
        "credentials": True,
        "retry_after": None,
    }
    assert [run["job"] for run in summary["runs"]] == ["refresh_album_art", "refresh_model"]
    for table in ("album_art", "track_metadata"):
        assert set(pl.read_delta(str(tmp_path / "data/lake" / table))["status"]) == {"found"}, table
    assert _files_under(tmp_path / "data/lake/fact_streams") == fact_log  # only album art was redone


def test_a_quota_stop_in_the_last_files_run_starts_no_lookup_for_the_others(tmp_path, fake_spotify):
    histories = [
        sample.write_maven_csv(tmp_path / f"history_{n}.csv", rows=200, seed=20 + n) for n in range(2)
    ]
    for history in histories:
        track_ids = pl.read_csv(history)["spotify_track_uri"].str.replace("spotify:track:", "").unique()
        fake_spotify.catalog.update({track: spotify_id(f"{track}-album") for track in track_ids})
    fake_spotify.exhaust_quota_after(2, retry_after_seconds=3 * 3600)
    env = _spotify_env(fake_spotify)
    summary = json.loads(_run(["run", "--json", *(path.name for path in histories)], tmp_path, **env).stdout)
    assert not summary["success"]
    # the last file's run met the quota: no refresh_album_art run asks again in the same invocation
    jobs = [run["job"] for run in summary["runs"]]
    assert jobs[:2] == ["ingest_file", "everything"] and "refresh_album_art" not in jobs
    assert summary["album_art"]["retry_after"] is not None


def test_run_refuses_missing_files(tmp_path):
    result = _run(["run", "nowhere.csv"], tmp_path)
    assert result.returncode == 2
    assert "no such file: nowhere.csv" in result.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("SPOTIFY_LISTEN_RULE=abc", "SPOTIFY_LISTEN_RULE='abc': expected a number of seconds"),
        ("SPOTIFY_TIMEZONE=Mars/Olympus", "SPOTIFY_TIMEZONE='Mars/Olympus' is not an IANA time zone"),
        ("SPOTIFY_WAREHOUSE_URL=postgres://me:secret@db/x", "SPOTIFY_WAREHOUSE_URL='postgres://me:***@db/x'"),
        ("SPOTIFY_DAILY_CALL_BUDGET=lots", "SPOTIFY_DAILY_CALL_BUDGET='lots': expected a whole number"),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_before_anything_is_written(tmp_path, setting, message):
    sample.write_maven_csv(tmp_path / "history.csv", rows=50, seed=3)
    name, value = setting.split("=", 1)
    result = _run(["run", "history.csv"], tmp_path, **{name: value})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"spotify-assets: {result.stderr.split(': ', 1)[1].strip()}"]
    assert message in result.stderr and "secret" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_progress_shows_file_step_rows_rate_and_time_left_from_a_runs_events():
    @dg.asset
    def cleaned_plays(context: dg.AssetExecutionContext) -> None:
        for done in (1000, 2000, 3000):
            context.log.info(progress_message(done, 4000))

    defs = dg.Definitions(assets=[cleaned_plays], jobs=[dg.define_asset_job("everything")])
    instance, run_id, entries = dg.DagsterInstance.ephemeral(), str(uuid.uuid4()), []
    run_events.listen(instance, run_id, entries.append)
    assert defs.resolve_job_def("everything").execute_in_process(instance=instance, run_id=run_id).success
    assert [parse_progress(entry.user_message) for entry in entries if entry.dagster_event is None][-3:] == [
        (1000, 4000, "rows"),
        (2000, 4000, "rows"),
        (3000, 4000, "rows"),
    ]
    assert parse_progress(progress_message(12, unit="tracks")) == (12, None, "tracks")
    assert parse_progress("progressing nicely") is None

    def replay(tty: bool) -> str:
        now, out = [0.0], io.StringIO()
        progress = Progress(
            out,
            tty=tty,
            labels=lambda job, partition: f"[1/1] history.csv ({job})",
            clock=lambda: now[0],
            plain_every=0,
        )
        callback = progress.watcher("everything", "history-0123456789ab", run_id)
        for entry in entries:  # one second between events
            now[0] += 1
            callback(entry)
        return out.getvalue()

    plain = replay(tty=False).splitlines()
    assert plain[0] == "[1/1] history.csv (everything) ..."
    assert (
        "[1/1] history.csv (everything) · step 1/1 cleaned_plays · 3,000 of 4,000 rows (75%) · "
        "1,000 rows/s · about 1 s left"
    ) in plain
    assert plain[-1].startswith("[1/1] history.csv (everything): done in ")
    terminal = replay(tty=True)
    assert terminal.count("\n") == 1 and terminal.endswith("s\n") and "\r\x1b[K" in terminal
    assert (
        "\r\x1b[K[###############-----] [1/1] history.csv (everything) · step 1/1 cleaned_plays · 3,000"
        in terminal
    )


def test_the_one_undocumented_dagster_hook_is_still_there():
    assert callable(getattr(dg.DagsterInstance, run_events.LISTENER_METHOD, None)), (
        "DagsterInstance.add_event_listener is gone: adapt spotify_assets/run_events.py (progress, log file)"
    )


def test_a_cached_hash_is_recomputed_when_the_file_changes_even_with_its_old_mtime(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("a" * 100)
    cache = HashCache(tmp_path / "hashes.json")
    first = cache.digest(path)
    cache.save()
    stat = path.stat()
    path.write_text("b" * 100)  # same size; then the old mtime put back, as a careless copy tool would
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    reloaded = HashCache(tmp_path / "hashes.json")
    assert reloaded.digest(path) != first
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("x.json", "[]")
    assert reloaded.digest(archive) == HashCache(None).digest(archive)


def test_a_changed_time_zone_or_overrides_file_rebuilds_the_model_on_the_next_plain_run(tmp_path):
    """Neither is a new file: the model still runs, and the run after it has nothing to do."""
    sample.write_basic_json(tmp_path / "data/landing/StreamingHistory_music_0.json", rows=200, seed=4)
    assert _run(["run"], tmp_path, SPOTIFY_TIMEZONE="Europe/Berlin").returncode == 0
    lake = tmp_path / "data/lake"

    def hours(zone: str) -> tuple[list[int], list[int]]:
        fact = pl.read_delta(str(lake / "fact_streams")).sort("play_key")
        local = fact["ts_utc"].dt.convert_time_zone(zone)
        return fact["hour"].to_list(), local.dt.hour().cast(pl.Int64).to_list()

    stored, berlin = hours("Europe/Berlin")
    assert stored == berlin
    summary = json.loads(_run(["run", "--json"], tmp_path, SPOTIFY_TIMEZONE="America/New_York").stdout)
    assert [(run["job"], run["success"]) for run in summary["runs"]] == [("refresh_model", True)]
    stored, new_york = hours("America/New_York")
    assert stored == new_york != berlin

    pair = pl.read_delta(str(lake / "track_resolution")).sort("plays", descending=True).row(0, named=True)
    assert pair["status"] == "unmatched"
    (tmp_path / "data/track_overrides.csv").write_text(
        "artist_name,track_name,track_id\n"
        f'"{pair["artist_name"]}","{pair["track_name"]}",https://open.spotify.com/track/0VjIjW4GlUZAMYd2vXMi3b?si=a\n',
        encoding="utf-8",
    )
    summary = json.loads(_run(["run", "--json"], tmp_path, SPOTIFY_TIMEZONE="America/New_York").stdout)
    assert [(run["job"], run["success"]) for run in summary["runs"]] == [("refresh_model", True)]
    pinned = pl.read_delta(str(lake / "track_resolution")).filter(pl.col("name_key") == pair["name_key"])
    assert pinned.select("status", "track_id").row(0) == ("pinned", "0VjIjW4GlUZAMYd2vXMi3b")
    idle = json.loads(_run(["run", "--json"], tmp_path, SPOTIFY_TIMEZONE="America/New_York").stdout)
    assert idle["runs"] == []


def test_a_file_without_records_keeps_its_name_in_the_accounting(tmp_path):
    (tmp_path / "StreamingHistory_music_1.json").write_text("[]", encoding="utf-8")
    result = _run(["run", "StreamingHistory_music_1.json"], tmp_path)
    assert result.returncode == 0, result.stderr
    accounting = pl.read_delta(str(tmp_path / "data/lake/file_accounting"))
    assert accounting.select("file_name", "rows_read").rows() == [("StreamingHistory_music_1.json", 0)]
    with sqlite3.connect(tmp_path / "data/warehouse.sqlite") as connection:
        names = connection.execute("select file_name from file_accounting").fetchall()
    assert names == [("StreamingHistory_music_1.json",)]


def test_a_long_file_name_is_shortened_but_never_its_same_bytes_or_failed_label():
    from spotify_assets import summary as summaries

    long_name = "StreamingHistory_music_0 (1) copy from my old laptop.json"
    rows = [
        {"file": long_name, "registration": "same_bytes", "failed": False, "rows_read": 362, "clean": 352},
        {"file": long_name, "registration": "new", "failed": True, "rows_read": 5, "rejected": 5},
    ]
    summary = {
        "tables": {},
        "files": rows,
        "nothing_new": False,
        "skipped": [],
        "failures": [],
        "album_art": {"pending": 0, "tracks_pending": 0},
        "lake": "data/lake",
        "warehouse": "sqlite:///data/warehouse.sqlite",
        "report": None,
        "log": None,
    }
    lines = [line for line in summaries.text(summary).splitlines() if line.startswith("  StreamingHistory")]
    names = [line[2 : 2 + summaries.NAME_WIDTH] for line in lines]
    assert names[0].endswith("… (same bytes)") and names[1].endswith("… FAILED")
    assert all(name.startswith("StreamingHistory_music_0 (") for name in names)
    assert all(line[2 + summaries.NAME_WIDTH] == " " for line in lines)  # the numbers stay in their columns


def test_progress_counts_a_copy_of_the_same_bytes_once(tmp_path):
    original = sample.write_basic_json(tmp_path / "StreamingHistory_music_0.json", rows=100, seed=6)
    shutil.copy(original, tmp_path / "StreamingHistory_music_0 (1).json")
    result = _run(["run", original.name, "StreamingHistory_music_0 (1).json"], tmp_path)
    assert result.returncode == 0, result.stderr
    numbered = set(re.findall(r"\[(\d+)/(\d+)\]", result.stderr))
    assert numbered == {("1", "1")}, result.stderr


def test_a_mysql_database_emptied_under_the_same_url_is_published_again(tmp_path, fresh_mysql_url):  # noqa: F811
    """The nothing-new shortcut asks a MySQL warehouse whether its publishes are still there."""
    sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=300, seed=9)
    server = {"SPOTIFY_WAREHOUSE_URL": fresh_mysql_url}
    first = json.loads(_run(["run", "--json"], tmp_path, **server).stdout)
    assert first["success"] and json.loads(_run(["run", "--json"], tmp_path, **server).stdout)["runs"] == []
    name = fresh_mysql_url.rsplit("/", 1)[1]
    connection = server_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    again = json.loads(_run(["run", "--json"], tmp_path, **server).stdout)

    assert again["success"] and [run["job"] for run in again["runs"]] == ["refresh_model"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM `{name}`.fact_streams")
        assert cursor.fetchone()[0] == again["tables"]["fact_streams"] > 0
    connection.close()
    assert json.loads(_run(["run", "--json"], tmp_path, **server).stdout)["runs"] == []


def test_a_lost_warehouse_or_a_new_listen_rule_is_published_again_without_a_new_file(tmp_path):
    sample.write_maven_csv(tmp_path / "data/landing/history.csv", rows=400, seed=8)
    first = json.loads(_run(["run", "--json"], tmp_path).stdout)
    # the file's own run writes the new warehouse and report: no catch-up run after it
    assert first["success"] and [run["job"] for run in first["runs"]] == ["everything"]
    database = tmp_path / "data/warehouse.sqlite"
    database.unlink()
    (tmp_path / "data/reports/listening_report.html").unlink()

    again = json.loads(_run(["run", "--json"], tmp_path).stdout)
    assert again["success"] and [run["job"] for run in again["runs"]] == ["refresh_model"]
    assert (tmp_path / "data/reports/listening_report.html").exists()
    with sqlite3.connect(database) as connection:
        published = connection.execute("select count(*) from fact_streams").fetchone()[0]
    assert published == again["tables"]["fact_streams"] > 0

    ruled = json.loads(_run(["run", "--json"], tmp_path, SPOTIFY_LISTEN_RULE="120s").stdout)
    assert ruled["success"] and [run["job"] for run in ruled["runs"]] == ["refresh_model"]
    with sqlite3.connect(database) as connection:
        listens, long_plays = connection.execute(
            "select sum(is_listen), sum(ms_played >= 120000) from v_streams"
        ).fetchone()
    assert listens == long_plays > 0
    assert "SPOTIFY_LISTEN_RULE=120s" in (tmp_path / "data/reports/listening_report.html").read_text()
    idle = json.loads(_run(["run", "--json"], tmp_path, SPOTIFY_LISTEN_RULE="120s").stdout)
    assert idle["runs"] == []
