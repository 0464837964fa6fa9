"""The whole graph on an S3 lake (moto's server on loopback) equals the same runs on a local lake.

Both platforms get the same drops: several files at once (cross-file copies and an export overlap),
then new files that change earlier verdicts (an incremental model update), then a re-ingest of a
partition and a run with nothing new. After every step, every lake table and the model's
bookkeeping must be equal row by row. The S3 lake is configured only through settings and the
credential variables, as an operator would; the secret must never reach run config or logs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from spotify_assets import sample
from spotify_assets.io_managers.delta import open_table, scan_table, table_exists
from spotify_assets.settings import ACCESS_KEY_VAR, SECRET_KEY_VAR
from spotify_assets.tables import BOOKKEEPING_TABLES, FACT_STREAMS, LAKE_TABLES

from . import histories
from .graph import Platform
from .hostile import write_hostile_csv
from .lake_harness import differences
from .s3_server import s3_with_bucket

BUCKET = "spotify-lake"
TIMELINE = histories.plays(240, seed=5)


def first_drop(landing: Path) -> list[Path]:
    landing.mkdir()
    return [
        histories.write_export(landing, "maven_csv", 1, TIMELINE[0:120]),
        histories.write_export(landing, "extended_json", 2, TIMELINE[90:200]),  # same plays as the CSV's tail
        histories.write_export(
            landing, "basic_json", 3, TIMELINE[100:230]
        ),  # no ids; the tail counts for now
        write_hostile_csv(landing / "hostile.csv"),
        sample.write_extended_zip(landing / "my_spotify_data.zip", rows=600, seed=4),
    ]


def second_drop(landing: Path) -> list[Path]:
    landing.mkdir()
    return [
        histories.write_export(landing, "extended_json", 4, TIMELINE[180:240]),  # wins over the basic tail
        histories.write_export(landing, "maven_csv", 5, histories.with_platform_case(TIMELINE[0:30])),
    ]


def snapshot(platform: Platform) -> dict[str, pl.DataFrame]:
    tables = {
        spec.name: scan_table(platform.lake, spec).collect().sort(spec.primary_key)
        for spec in (*LAKE_TABLES, *BOOKKEEPING_TABLES)
    }
    assert tables["fact_streams"].height > 0
    return tables


def play(platform: Platform, drops: dict[str, list[Path]]) -> dict:
    steps: dict = {}
    first = platform.run(*drops["first"])
    steps["first drop"] = (first, snapshot(platform))
    second = platform.run(*drops["second"])
    steps["second drop"] = (second, snapshot(platform))
    key = next(key for key in platform.table("file_reads")["landing_file"] if key.startswith("history_1-"))
    again = platform.defs.resolve_job_def("everything").execute_in_process(
        instance=platform.instance, partition_key=key
    )
    assert again.success
    steps["re-ingest"] = (None, snapshot(platform))
    return steps


@pytest.fixture(scope="module")
def s3():
    with s3_with_bucket(BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def runs(s3, tmp_path_factory):
    # the same bytes for both lakes (a ZIP written twice differs: its members carry times)
    drops = tmp_path_factory.mktemp("drops")
    files = {"first": first_drop(drops / "first"), "second": second_drop(drops / "second")}
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv(ACCESS_KEY_VAR, s3.access_key_id)
        environment.setenv(SECRET_KEY_VAR, s3.secret_access_key)
        on_s3 = Platform.on(
            tmp_path_factory.mktemp("s3"),
            lake_uri=f"s3://{BUCKET}/lake",
            lake_endpoint=s3.endpoint,
            lake_region="us-east-1",
            lake_allow_http=True,
            lake_credential_vars=(ACCESS_KEY_VAR, SECRET_KEY_VAR),
            timezone="Europe/Berlin",
        )
        local = Platform.on(tmp_path_factory.mktemp("local"), timezone="Europe/Berlin")
        yield {"s3": on_s3, "local": local, "steps": {"s3": play(on_s3, files), "local": play(local, files)}}


def test_every_run_on_s3_succeeds(runs):
    for step, (report, _) in runs["steps"]["s3"].items():
        if report is not None:
            assert report.success, (step, [run["failures"] for run in report.runs])


@pytest.mark.parametrize("step", ["first drop", "second drop", "re-ingest"])
def test_every_lake_table_on_s3_equals_the_local_lake(runs, step):
    _, on_s3 = runs["steps"]["s3"][step]
    _, local = runs["steps"]["local"][step]
    for name, frame in local.items():
        assert on_s3[name].schema == frame.schema, name
    assert differences(on_s3, local) == [], step


def test_the_second_drop_changed_earlier_verdicts(runs):
    """The scenario exercises the incremental update: files of the first drop were rewritten."""
    (_, first), (_, second) = runs["steps"]["s3"]["first drop"], runs["steps"]["s3"]["second drop"]
    kept = second["duplicate_plays"].filter(
        pl.col("kept_landing_file").str.starts_with("Streaming_History_Audio_4-")
    )
    assert kept.height > 0
    basic = pl.col("landing_file").str.starts_with("StreamingHistory")
    assert first["fact_streams"].filter(basic).height > second["fact_streams"].filter(basic).height


@pytest.mark.parametrize("step", ["first drop", "second drop", "re-ingest"])
def test_album_art_never_points_at_an_album_the_model_dropped(runs, step):
    """The second drop resolves basic plays away from their artists' "unknown album": an album known
    only by name has no album_art row, so none is left behind (a MySQL warehouse refuses orphans)."""
    _, tables = runs["steps"]["local"][step]
    assert tables["album_art"].height > 0
    orphans = tables["album_art"].join(tables["dim_album"], on="album_key", how="anti")
    assert orphans.is_empty(), orphans.select("album_key", "landing_file", "status").to_dicts()


def test_the_lake_is_on_the_object_store_partitioned_by_landing_file(runs, s3):
    objects = s3.objects(BUCKET, "lake/fact_streams/")
    assert any(key.endswith(".parquet") and "/landing_file=" in key for key in objects)
    assert any("/_delta_log/" in key for key in objects)
    partitions = open_table(runs["s3"].lake, FACT_STREAMS.name).metadata().partition_columns
    assert partitions == ["landing_file"]


def test_a_run_with_nothing_new_commits_nothing_on_s3(runs):
    platform = runs["s3"]
    lake = platform.lake
    names = [spec.name for spec in (*LAKE_TABLES, *BOOKKEEPING_TABLES) if table_exists(lake, spec.name)]
    versions = {name: open_table(lake, name).version() for name in names}
    assert "fact_streams" in versions
    report = platform.run()
    assert report.success and report.runs == []  # nothing new, nothing stale: no run at all
    after = {name: open_table(lake, name).version() for name in versions}
    assert after == versions


def test_the_secret_never_reaches_run_config_or_logs(runs, s3):
    instance = runs["s3"].instance
    records = instance.get_run_records()
    assert records
    for record in records:
        run = record.dagster_run
        assert s3.secret_access_key not in repr(run.run_config)
        # resource config given as a value would sit in the job snapshot's defaults (the UI's launchpad)
        snapshot = instance.get_job_snapshot(run.job_snapshot_id)
        assert s3.access_key_id not in repr(snapshot) and s3.secret_access_key not in repr(snapshot)
        for entry in instance.all_logs(run.run_id):
            assert s3.secret_access_key not in repr(entry), entry.dagster_event_type
