"""The lake checks on real lakes: they pass on a graph built from real files and fail, with
metadata, on tampered tables; a per-file check looks at the partition of its run, and a failed
blocking check of the model stops the publish. (Which checks exist and how they are bundled into
steps: test_checks_bundled.py.)"""

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from spotify_assets import sample
from spotify_assets.assets.enrich import enrich_checks
from spotify_assets.checks import RESOLVED_STATUSES, build_lake_checks, lake_checks
from spotify_assets.definitions import (
    build_definitions,
    build_resources,
)
from spotify_assets.io_managers.delta import write_table
from spotify_assets.settings import Settings
from spotify_assets.tables import (
    ALBUM_ART,
    DIM_DATE,
    DIM_TRACK,
    FACT_STREAMS,
    FILE_ACCOUNTING,
    FILE_READS,
    LAKE_TABLES,
    STAR_SCHEMA,
    TABLES,
)

from . import histories
from .check_runs import CHECK_NAMES, ERROR, WARN, evaluations_of, run_bundle, run_checks
from .graph import Platform
from .lake_harness import Lake

BASIC_FILE = "StreamingHistory_music_0.json"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform.on(tmp_path_factory.mktemp("checks"))
    sample.write_maven_csv(platform.landing.root / "Spotify_Streaming_History.csv", rows=3000, seed=11)
    sample.write_extended_zip(platform.landing.root / "my_spotify_data.zip", rows=1000, seed=12)
    # basic plays of other days than the extended ones: counted, resolved by name where they can be
    sample.write_basic_json(platform.landing.root / BASIC_FILE, rows=400, seed=13)
    assert platform.run().success
    return platform


@pytest.fixture
def tampered(platform, tmp_path) -> Settings:
    """The platform's settings on a copy of its lake, to tamper with."""
    lake = tmp_path / "lake"
    shutil.copytree(platform.settings.lake_uri, lake)
    return Settings(**{**platform.settings.__dict__, "lake_uri": str(lake)})


def test_every_check_passes_on_a_good_graph(platform):
    evaluations = run_checks(platform, platform.settings)
    assert set(evaluations) == CHECK_NAMES
    # without Spotify credentials every album and track stays pending: the coverage checks warn,
    # and the 400 basic plays are mostly of tracks the other two exports never played: under 80 % resolve
    failed = {name: evaluation.severity for name, evaluation in evaluations.items() if not evaluation.passed}
    assert failed == {
        "album_art:album_art_coverage": WARN,
        "track_metadata:track_metadata_coverage": WARN,
        "track_resolution:basic_plays_resolved": WARN,
    }
    for spec in LAKE_TABLES:
        assert f"{spec.name}:primary_key_unique_not_null" in evaluations
        if spec.foreign_keys:
            assert evaluations[f"{spec.name}:foreign_keys_resolve"].passed
    assert evaluations["fact_streams:foreign_keys_resolve"].metadata["dangling_track_key_rows"].value == 0
    assert evaluations["dim_track:foreign_keys_resolve"].metadata["dangling_recording_key_rows"].value == 0
    assert evaluations["album_art:foreign_keys_resolve"].metadata["dangling_album_key_rows"].value == 0


def test_a_dangling_or_duplicated_fact_row_fails_with_error(platform, tampered):
    fact = pl.read_delta(f"{tampered.lake_uri}/fact_streams")
    bad = fact.head(2).with_columns(
        pl.Series("track_key", [fact["track_key"][0], 424242]),
        pl.Series("ms_played", [fact["ms_played"][0], 90_000_000]),
    )
    write_table(tampered.lake_uri, FACT_STREAMS, pl.concat([fact, bad]))
    evaluations = run_checks(platform, tampered)

    keys = evaluations["fact_streams:primary_key_unique_not_null"]
    assert (keys.passed, keys.severity) == (False, ERROR)
    assert keys.metadata["duplicated_keys"].value == 2
    references = evaluations["fact_streams:foreign_keys_resolve"]
    assert (references.passed, references.severity) == (False, ERROR)
    assert references.metadata["dangling_track_key_rows"].value == 1
    assert references.metadata["sample_dangling_track_key"].value == [
        {"track_key": 424242, "rows": 1, "landing_file": [fact["landing_file"][1]]}
    ]
    assert references.metadata["dangling_artist_key_rows"].value == 0
    long_plays = evaluations["fact_streams:ms_played_in_range"]
    assert (long_plays.passed, long_plays.severity) == (False, WARN)
    assert long_plays.metadata["out_of_range_rows"].value == 1
    assert all(evaluations[f"{spec.name}:primary_key_unique_not_null"].passed for spec in STAR_SCHEMA[:-1])


def test_a_gap_in_dim_date_warns(platform, tampered):
    dates = pl.read_delta(f"{tampered.lake_uri}/dim_date")
    fact_days = pl.read_delta(f"{tampered.lake_uri}/fact_streams")["date_key"].unique()
    quiet_day = dates.filter(~pl.col("date_key").is_in(fact_days.implode()))["date_key"][0]
    write_table(tampered.lake_uri, DIM_DATE, dates.filter(pl.col("date_key") != quiet_day))
    evaluations = run_checks(platform, tampered)
    coverage = evaluations["dim_date:covers_every_fact_date"]
    assert (coverage.passed, coverage.severity) == (False, WARN)
    assert coverage.metadata["days_missing_inside_range"].value == 1
    assert coverage.metadata["fact_dates_missing"].value == 0
    assert evaluations["fact_streams:foreign_keys_resolve"].passed


def test_an_unbalanced_file_accounting_fails_with_error(platform, tampered):
    accounting = pl.read_delta(f"{tampered.lake_uri}/file_accounting")
    row = accounting.head(1)
    partition = row["landing_file"][0]
    bumped = pl.when(pl.col("landing_file") == partition).then(pl.col("clean") + 1).otherwise(pl.col("clean"))
    write_table(tampered.lake_uri, FILE_ACCOUNTING, accounting.with_columns(bumped.alias("clean")))
    evaluation = run_checks(platform, tampered)["file_accounting:every_row_accounted_for"]
    assert (evaluation.passed, evaluation.severity) == (False, ERROR)
    assert evaluation.metadata["files_out_of_balance"].value == 1
    assert evaluation.metadata["files_awaiting_model"].value == 0
    assert evaluation.metadata["verdicts_do_not_add_up"].value == 1
    assert evaluation.metadata["clean_differs_from_fact_streams"].value == 1
    assert evaluation.metadata["valid_differs_from_clean_plays"].value == 1
    assert evaluation.metadata["sample_files_out_of_balance"].value[0]["landing_file"] == partition


def test_a_file_ingested_after_the_model_update_waits_for_the_next_one(platform, tampered):
    """Another run's ingest that committed after this run's model update is not out of balance yet."""
    accounting = pl.read_delta(f"{tampered.lake_uri}/file_accounting")
    reads = pl.read_delta(f"{tampered.lake_uri}/file_reads")
    partition = accounting["landing_file"][0]
    newer = pl.when(pl.col("landing_file") == partition).then(pl.lit("a-newer-ingest"))
    write_table(
        tampered.lake_uri,
        FILE_READS,
        reads.with_columns(newer.otherwise(pl.col("ingest_id")).alias("ingest_id")),
    )
    bumped = pl.when(pl.col("landing_file") == partition).then(pl.col("clean") + 1).otherwise(pl.col("clean"))
    write_table(tampered.lake_uri, FILE_ACCOUNTING, accounting.with_columns(bumped.alias("clean")))
    evaluation = run_checks(platform, tampered, lake_checks)["file_accounting:every_row_accounted_for"]
    assert evaluation.passed
    assert evaluation.metadata["files_awaiting_model"].value == 1
    assert evaluation.metadata["files"].value == accounting.height - 1


def test_a_new_landing_file_makes_the_fact_stale(platform, tampered, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(platform.settings.landing_dir, landing)
    sample.write_maven_csv(landing / "new_export.csv", rows=50, seed=13)
    stale = Settings(**{**tampered.__dict__, "landing_dir": str(landing)})
    evaluation = run_checks(platform, stale)["fact_streams:fresher_than_newest_landing_file"]
    assert (evaluation.passed, evaluation.severity) == (False, WARN)
    assert evaluation.metadata["sample_files_not_in_fact"].value == ["new_export.csv"]


def test_a_dangling_album_art_key_warns_and_a_null_one_too(platform, tampered):
    # an album the model no longer has is a stale answer (test_lake_s3_graph's second drop leaves one)
    art = pl.read_delta(f"{tampered.lake_uri}/album_art")
    dangling = art.head(1).with_columns(pl.lit(424242, pl.Int64).alias("album_key"))
    write_table(tampered.lake_uri, ALBUM_ART, pl.concat([art, dangling]))
    evaluation = run_checks(platform, tampered, enrich_checks())["album_art:foreign_keys_resolve"]
    assert (evaluation.passed, evaluation.severity) == (False, WARN)
    assert evaluation.metadata["dangling_album_key_rows"].value == 1
    assert evaluation.metadata["sample_dangling_album_key"].value == [
        {"album_key": 424242, "rows": 1, "landing_file": [art["landing_file"][0]]}
    ]

    # album_key is declared not-null: a null is not dangling, but it is not allowed either
    write_table(
        tampered.lake_uri,
        ALBUM_ART,
        pl.concat([art, dangling.with_columns(pl.lit(None, pl.Int64).alias("album_key"))]),
    )
    evaluations = run_checks(platform, tampered, enrich_checks())
    evaluation = evaluations["album_art:foreign_keys_resolve"]
    assert (evaluation.passed, evaluation.metadata["dangling_album_key_rows"].value) == (False, 0)
    assert evaluation.metadata["null_album_key_rows"].value == 1
    assert not evaluations["album_art:primary_key_unique_not_null"].passed


def test_a_dangling_recording_key_fails_dim_track(platform, tampered):
    tracks = pl.read_delta(f"{tampered.lake_uri}/dim_track")
    bumped = pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(777)).otherwise(pl.col("recording_key"))
    write_table(tampered.lake_uri, DIM_TRACK, tracks.with_columns(bumped.alias("recording_key")))
    evaluation = run_checks(platform, tampered, lake_checks)["dim_track:foreign_keys_resolve"]
    assert (evaluation.passed, evaluation.severity) == (False, ERROR)
    assert evaluation.metadata["dangling_recording_key_rows"].value == 1
    assert evaluation.metadata["dangling_album_key_rows"].value == 0


def resolution_share(resolution: pl.DataFrame) -> float:
    resolved = resolution.filter(pl.col("status").is_in(RESOLVED_STATUSES))["plays"].sum()
    return round(resolved / resolution["plays"].sum(), 4)


def test_the_share_of_resolved_basic_plays_is_model_metadata_and_a_warning_check(platform):
    resolution = platform.table("track_resolution")
    assert resolution.height > 0 and resolution["plays"].sum() > 0
    evaluation = run_checks(platform, platform.settings, lake_checks)["track_resolution:basic_plays_resolved"]
    assert evaluation.severity == WARN
    assert evaluation.metadata["resolved_share"].value == pytest.approx(resolution_share(resolution))
    assert evaluation.metadata["basic_plays"].value == resolution["plays"].sum()
    assert evaluation.passed == (resolution_share(resolution) >= evaluation.metadata["threshold"].value)
    event = platform.instance.get_latest_materialization_event(dg.AssetKey("track_resolution"))
    metadata = event.asset_materialization.metadata
    assert metadata["resolved_share"].value == pytest.approx(resolution_share(resolution))
    fact = platform.instance.get_latest_materialization_event(
        dg.AssetKey("fact_streams")
    ).asset_materialization
    assert fact.metadata["basic_plays_resolved_share"].value == pytest.approx(resolution_share(resolution))


def test_resolved_share_on_a_basic_and_extended_history(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lake = Lake(tmp_path / "lake")
    lake.ingest(histories.write_export(landing, "extended_json", 1, histories.plays(16, seed=0)))
    lake.model()
    only_extended = evaluations_of(run_bundle(build_lake_checks()[-1], str(lake.root)))
    evaluation = only_extended["track_resolution:basic_plays_resolved"]
    assert evaluation.passed and evaluation.metadata["resolved_share"].value == 1.0
    assert evaluation.metadata["basic_plays"].value == 0 and evaluation.description == "no basic plays"

    later = histories.plays(16, offset_minutes=10_000, seed=0)  # the same tracks, a week later, basic only
    lake.ingest(histories.write_export(landing, "basic_json", 2, later))
    lake.model()
    resolution = lake.table("track_resolution")
    plays = dict(zip(resolution["status"], resolution["plays"], strict=False))
    assert "ambiguous" in plays and "matched" in plays  # Blinding Lights has two ids, the others one
    share = resolution_share(resolution)
    assert 0 < share < 1
    for threshold, passes in ((share, True), (min(1.0, share + 0.01), False)):
        checks = build_lake_checks(resolved_share_threshold=threshold)[-1]
        evaluation = evaluations_of(run_bundle(checks, str(lake.root)))[
            "track_resolution:basic_plays_resolved"
        ]
        assert (evaluation.passed, evaluation.severity) == (passes, WARN)
        assert evaluation.metadata["resolved_share"].value == pytest.approx(share)
        assert evaluation.metadata["basic_plays"].value == 16
        assert evaluation.metadata["matched_plays"].value + evaluation.metadata["ambiguous_plays"].value == 16
        unresolved = evaluation.metadata["sample_unresolved_pairs"].value
        assert {pair["track_name"] for pair in unresolved} == {"Blinding Lights"}


def test_every_check_runs_on_an_empty_lake(tmp_path):
    checks = [*lake_checks, *enrich_checks()]
    defs = dg.Definitions(
        asset_checks=checks,
        jobs=[dg.define_asset_job("checks", selection=dg.AssetSelection.checks(*checks))],
        resources=build_resources(
            Settings(lake_uri=str(tmp_path / "lake"), landing_dir=str(tmp_path / "landing"))
        ),
    )
    (tmp_path / "landing").mkdir()
    result = defs.resolve_job_def("checks").execute_in_process(raise_on_error=False)
    evaluations = evaluations_of(result)
    assert result.success and set(evaluations) == CHECK_NAMES
    assert all(evaluation.passed for evaluation in evaluations.values())
    assert evaluations["track_resolution:basic_plays_resolved"].metadata["resolved_share"].value == 1.0


def test_a_per_file_check_looks_at_the_partition_of_its_run(platform, tampered):
    raw = pl.read_delta(f"{tampered.lake_uri}/raw_plays")
    partitions = sorted(raw["landing_file"].unique())
    broken, other = partitions[0], partitions[1]
    write_table(
        tampered.lake_uri, TABLES["raw_plays"], pl.concat([raw, raw.filter(landing_file=broken).head(1)])
    )
    raw_checks = lake_checks[0]
    assert raw_checks.node_def.name == "raw_plays_checks"
    whole = evaluations_of(run_bundle(raw_checks, tampered.lake_uri))["raw_plays:primary_key_unique_not_null"]
    assert not whole.passed and whole.metadata["scope"].value == "whole table"
    for partition, passes in ((other, True), (broken, False)):
        result = run_bundle(raw_checks, tampered.lake_uri, partition=partition)
        evaluation = evaluations_of(result)["raw_plays:primary_key_unique_not_null"]
        assert (evaluation.passed, evaluation.metadata["scope"].value) == (passes, f"partition {partition}")
        assert evaluation.metadata["rows"].value == raw.filter(landing_file=partition).height + (not passes)


def test_a_failed_blocking_check_of_the_model_stops_the_publish(platform, tampered):
    fact = pl.read_delta(f"{tampered.lake_uri}/fact_streams")
    bad = fact.head(1).with_columns(
        pl.lit(424242, pl.Int64).alias("track_key"), pl.lit(1, pl.Int64).alias("play_key")
    )
    write_table(tampered.lake_uri, FACT_STREAMS, pl.concat([fact, bad]))
    settings = Settings(
        **{**tampered.__dict__, "warehouse_url": f"sqlite:///{Path(tampered.lake_uri).parent}/w.db"}
    )
    result = (
        build_definitions(settings)
        .resolve_job_def("refresh_model")
        .execute_in_process(instance=platform.instance, raise_on_error=False)
    )
    evaluations = evaluations_of(result)
    assert not evaluations["fact_streams:foreign_keys_resolve"].passed
    assert evaluations["dim_track:foreign_keys_resolve"].passed
    assert {event.step_key for event in result.all_events if event.is_step_failure} == {"star_schema_checks"}
    ran = {event.step_key for event in result.all_events if event.is_step_success}
    assert "star_schema" in ran and "warehouse_publish" not in ran and "listening_report" not in ran
