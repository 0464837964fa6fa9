"""Which checks the table specifications imply and how they are bundled: every foreign key has
its check, integrity checks block and coverage checks warn, one check step per producing step; a
bundle reports each check's own result and a failed blocking one stops what is downstream; a
foreign key holds on handwritten tables, and one that cannot hold is refused when tables are
declared. (The checks' verdicts on real lakes: test_checks.py.)"""

from dataclasses import replace

import dagster as dg
import polars as pl
import pytest

from spotify_assets.assets.enrich import enrich_checks
from spotify_assets.checks import Check, CheckRun, bundle, foreign_key_check, lake_checks
from spotify_assets.io_managers.delta import write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.table_spec import Column, TableSpec, check_foreign_keys
from spotify_assets.tables import DIM_TRACK, LAKE_TABLES, TABLES

from .check_runs import ALL_LAKE_CHECKS, CHECK_NAMES, ERROR, WARN, evaluations_of, run_bundle
from .graph import Platform


@pytest.fixture(scope="module")
def definitions(tmp_path_factory) -> dg.Definitions:
    """The real Definitions on temporary folders (nothing needs to have run)."""
    return Platform.on(tmp_path_factory.mktemp("definitions")).defs


def test_every_foreign_key_of_tables_py_has_its_check():
    for spec in LAKE_TABLES:
        if spec.foreign_keys:
            assert f"{spec.name}:foreign_keys_resolve" in CHECK_NAMES
    assert {
        "album_art:foreign_keys_resolve",
        "track_metadata:foreign_keys_resolve",
        "track_resolution:foreign_keys_resolve",
        "dim_track:foreign_keys_resolve",
    } <= CHECK_NAMES


def test_integrity_checks_are_blocking_and_coverage_checks_are_not():
    blocking = {
        f"{spec.asset_key.to_user_string()}:{spec.name}": spec.blocking
        for checks_def in ALL_LAKE_CHECKS
        for spec in checks_def.check_specs
    }
    assert all(blocking[f"{spec.name}:primary_key_unique_not_null"] for spec in LAKE_TABLES)
    assert (
        blocking["fact_streams:foreign_keys_resolve"] and blocking["file_accounting:every_row_accounted_for"]
    )
    assert blocking["track_resolution:foreign_keys_resolve"] and blocking["dim_track:foreign_keys_resolve"]
    assert not any(
        blocking[name]
        for name in (
            "dim_date:covers_every_fact_date",
            "fact_streams:ms_played_in_range",
            "fact_streams:fresher_than_newest_landing_file",
            "track_metadata:foreign_keys_resolve",
            "album_art:foreign_keys_resolve",
            "track_resolution:basic_plays_resolved",
            "album_art:album_art_coverage",
            "track_metadata:track_metadata_coverage",
        )
    )


def test_the_everything_job_runs_the_checks_in_one_step_per_producing_step(definitions):
    job = definitions.resolve_job_def("everything")
    steps = {node.name for node in job.nodes}
    assert steps == {
        "raw_plays",
        "cleaned_plays",
        "star_schema",
        "spotify_lookup",
        "warehouse_publish",
        "listening_report",
        "raw_plays_checks",
        "cleaned_plays_checks",
        "star_schema_checks",
        "spotify_lookup_checks",
        "warehouse_reconcile_with_lake",
    }
    checks = {
        f"{key.asset_key.to_user_string()}:{key.name}" for key in job.asset_layer.asset_graph.asset_check_keys
    }
    assert checks >= CHECK_NAMES


def test_each_check_bundle_checks_the_tables_of_one_step(definitions):
    graph = definitions.resolve_asset_graph()
    for checks_def in [*lake_checks, *enrich_checks()]:
        producers = {graph.get(spec.asset_key).assets_def.node_def.name for spec in checks_def.check_specs}
        assert producers == {checks_def.node_def.name.removesuffix("_checks")}, checks_def.node_def.name


def test_a_nullable_foreign_key_passes_on_nulls_and_references_the_parents_primary_key(tmp_path):
    # a foreign key whose column is named otherwise than the primary key it references
    child = TableSpec(
        name="favourite",
        description="A test table.",
        columns=(
            Column("favourite_key", "int64", "key", nullable=False),
            Column("sample_track_key", "int64", "track"),
        ),
        primary_key=("favourite_key",),
        foreign_keys={"sample_track_key": DIM_TRACK.name},
    )
    lake = str(tmp_path / "lake")
    tracks = DIM_TRACK.conform(
        pl.DataFrame({name: [None, None] for name in DIM_TRACK.column_names}).with_columns(
            track_key=pl.Series([1, 2]), track_name=pl.Series(["a", "b"])
        )
    ).collect()
    write_table(lake, DIM_TRACK, tracks)
    write_table(lake, child, pl.DataFrame({"favourite_key": [10, 11, 12], "sample_track_key": [1, None, 2]}))
    check = foreign_key_check(child, {**TABLES, child.name: child})
    assert check.spec.description == "Every sample_track_key is a dim_track.track_key or null."
    result = run_bundle(bundle("favourite_checks", [check], description="test"), lake)
    evaluation = evaluations_of(result)["favourite:foreign_keys_resolve"]
    assert evaluation.passed and evaluation.metadata["dangling_sample_track_key_rows"].value == 0
    assert "null_sample_track_key_rows" not in evaluation.metadata

    write_table(lake, child, pl.DataFrame({"favourite_key": [10, 11], "sample_track_key": [3, None]}))
    evaluation = evaluations_of(run_bundle(bundle("favourite_checks", [check], description="test"), lake))[
        "favourite:foreign_keys_resolve"
    ]
    assert not evaluation.passed and evaluation.metadata["dangling_sample_track_key_rows"].value == 1


def _broken(run: CheckRun) -> dg.AssetCheckResult:
    raise RuntimeError("the lake is gone")


def test_bundled_checks_report_each_result_and_a_failed_blocking_one_stops_downstream(tmp_path):
    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset(deps=[upstream])
    def downstream() -> int:
        return 2

    def checks(passed: bool) -> dg.AssetChecksDefinition:
        def verdict(run: CheckRun) -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=passed, severity=ERROR, metadata={"rows": 3})

        def warning(run: CheckRun) -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=False, severity=WARN)

        return bundle(
            "upstream_checks",
            [
                Check(dg.AssetCheckSpec("keys", asset="upstream", blocking=True), verdict),
                Check(dg.AssetCheckSpec("range", asset="upstream"), warning),
                Check(dg.AssetCheckSpec("broken", asset="upstream"), _broken),
            ],
            description="test",
        )

    for passed in (True, False):
        result = dg.materialize(
            [upstream, downstream, checks(passed)],
            resources={"lake": LakeResource(lake_uri=str(tmp_path / "lake"))},
            raise_on_error=False,
        )
        evaluations = evaluations_of(result)
        assert set(evaluations) == {"upstream:keys", "upstream:range", "upstream:broken"}
        assert (evaluations["upstream:keys"].passed, evaluations["upstream:keys"].metadata["rows"].value) == (
            passed,
            3,
        )
        assert (evaluations["upstream:range"].passed, evaluations["upstream:range"].severity) == (False, WARN)
        assert evaluations["upstream:broken"].metadata["error"].value == "RuntimeError: the lake is gone"
        assert evaluations["upstream:broken"].severity == WARN
        materialized = {
            event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
        }
        assert materialized == ({"upstream", "downstream"} if passed else {"upstream"})
        assert result.success == passed


def test_a_foreign_key_that_cannot_hold_is_refused_when_tables_are_declared():
    child = TableSpec(
        name="favourite",
        description="A test table.",
        columns=(Column("favourite_key", "int64", "key", nullable=False), Column("track", "string", "track")),
        primary_key=("favourite_key",),
        foreign_keys={"track": DIM_TRACK.name},
    )
    with pytest.raises(ValueError, match=r"favourite\.track -> dim_track: track is not of the type"):
        check_foreign_keys({**TABLES, child.name: child})
    with pytest.raises(ValueError, match="no table dim_nothing"):
        check_foreign_keys({**TABLES, child.name: replace(child, foreign_keys={"track": "dim_nothing"})})
    with pytest.raises(ValueError, match="no column missing"):
        check_foreign_keys({**TABLES, child.name: replace(child, foreign_keys={"missing": DIM_TRACK.name})})
    check_foreign_keys(TABLES)
