"""The lake checks: they pass on a graph built from real files and fail, with metadata, on tampered tables."""

import shutil

import dagster as dg
import polars as pl
import pytest

from spotify_assets import sample
from spotify_assets.checks import lake_checks
from spotify_assets.definitions import build_resources, cleaned_plays, raw_plays, star_schema
from spotify_assets.io_managers.delta import write_table
from spotify_assets.settings import Settings
from spotify_assets.tables import DIM_DATE, FACT_STREAMS, FILE_ACCOUNTING, LAKE_TABLES, STAR_SCHEMA

from .graph import Platform

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform.on(tmp_path_factory.mktemp("checks"))
    sample.write_maven_csv(platform.landing.root / "Spotify_Streaming_History.csv", rows=3000, seed=11)
    sample.write_extended_zip(platform.landing.root / "my_spotify_data.zip", rows=1000, seed=12)
    assert platform.run().success
    return platform


def run_checks(platform: Platform, settings: Settings) -> dict[str, dg.AssetCheckEvaluation]:
    """Every lake check against the lake of `settings`, as `<asset>:<check>` -> evaluation."""
    defs = dg.Definitions(
        assets=[raw_plays, cleaned_plays, star_schema],
        asset_checks=lake_checks,
        jobs=[dg.define_asset_job("lake_checks", selection=dg.AssetSelection.checks(*lake_checks))],
        resources=build_resources(settings),
    )
    result = defs.resolve_job_def("lake_checks").execute_in_process(instance=platform.instance, raise_on_error=False)
    return {
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}": evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


@pytest.fixture
def tampered(platform, tmp_path) -> Settings:
    """The platform's settings on a copy of its lake, to tamper with."""
    lake = tmp_path / "lake"
    shutil.copytree(platform.settings.lake_uri, lake)
    return Settings(**{**platform.settings.__dict__, "lake_uri": str(lake)})


def test_every_check_passes_on_a_good_graph(platform):
    evaluations = run_checks(platform, platform.settings)
    assert len(evaluations) == len(lake_checks)
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == set()
    for spec in LAKE_TABLES:
        assert f"{spec.name}:primary_key_unique_not_null" in evaluations
    assert evaluations["fact_streams:foreign_keys_resolve"].metadata["dangling_track_key_rows"].value == 0


def test_integrity_checks_are_blocking_and_coverage_checks_are_not():
    blocking = {
        f"{spec.asset_key.to_user_string()}:{spec.name}": spec.blocking
        for checks_def in lake_checks for spec in checks_def.check_specs
    }
    assert all(blocking[f"{spec.name}:primary_key_unique_not_null"] for spec in LAKE_TABLES)
    assert blocking["fact_streams:foreign_keys_resolve"] and blocking["file_accounting:every_row_accounted_for"]
    assert not any(blocking[name] for name in (
        "dim_date:covers_every_fact_date", "fact_streams:ms_played_in_range",
        "fact_streams:fresher_than_newest_landing_file",
    ))


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
    assert references.metadata["sample_dangling_track_key"].value == [{"track_key": 424242, "rows": 1}]
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
    assert evaluation.metadata["verdicts_do_not_add_up"].value == 1
    assert evaluation.metadata["clean_differs_from_fact_streams"].value == 1
    assert evaluation.metadata["valid_differs_from_clean_plays"].value == 1
    assert evaluation.metadata["sample_files_out_of_balance"].value[0]["landing_file"] == partition


def test_a_new_landing_file_makes_the_fact_stale(platform, tampered, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(platform.settings.landing_dir, landing)
    sample.write_maven_csv(landing / "new_export.csv", rows=50, seed=13)
    stale = Settings(**{**tampered.__dict__, "landing_dir": str(landing)})
    evaluation = run_checks(platform, stale)["fact_streams:fresher_than_newest_landing_file"]
    assert (evaluation.passed, evaluation.severity) == (False, WARN)
    assert evaluation.metadata["sample_files_not_in_fact"].value == ["new_export.csv"]
