"""The primary key check of a partitioned model table reads only what changed since it last passed
(checks._partitioned_key_problems), and the Dagster API it reads that from
(spotify_assets/adapters/dagster_check_history.py)."""

from __future__ import annotations

import inspect

import dagster as dg
import polars as pl
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)
from deltalake import write_deltalake

from spotify_assets import sample
from spotify_assets.adapters.dagster_check_history import last_evaluation
from spotify_assets.checks import PRIMARY_KEY_CHECK, lake_checks
from spotify_assets.tables import FACT_STREAMS, PARTITION_COLUMN

from .check_runs import run_checks
from .graph import Platform

FACT_KEY_CHECK = dg.AssetCheckKey(dg.AssetKey(FACT_STREAMS.name), PRIMARY_KEY_CHECK)
MODEL_CHECKS = [checks for checks in lake_checks if checks.node_def.name == "star_schema_checks"]
FIX = "update spotify_assets/adapters/dagster_check_history.py for this Dagster version"


def latest(platform: Platform) -> tuple[bool, dict]:
    evaluation = last_evaluation(platform.instance, FACT_KEY_CHECK, run_id="")
    assert evaluation is not None
    return evaluation[0], dict(evaluation[1])


def test_the_fact_key_check_reads_what_changed_since_it_passed_and_all_after_a_failure(tmp_path):
    platform = Platform.on(tmp_path)
    sample.write_maven_csv(platform.landing.root / "first.csv", rows=1500, seed=21)
    sample.write_extended_zip(platform.landing.root / "second.zip", rows=800, seed=22)
    assert platform.run().success
    passed, first = latest(platform)
    assert passed and first["scope"] == "whole table"  # nothing verified before
    assert set(first["verified_partitions"]) == set(platform.table(FACT_STREAMS.name)[PARTITION_COLUMN])

    evaluations = run_checks(platform, platform.settings, MODEL_CHECKS)
    keys = evaluations[f"{FACT_STREAMS.name}:{PRIMARY_KEY_CHECK}"]
    assert keys.passed
    assert keys.metadata["scope"].value == "0 changed partition(s) against 2 verified by an earlier check"
    assert keys.metadata["rows"].value == platform.table(FACT_STREAMS.name).height

    new_file = tmp_path / "third.csv"
    sample.write_maven_csv(new_file, rows=700, seed=23)
    assert platform.run(new_file).success
    passed, third = latest(platform)
    assert passed and third["scope"] == "1 changed partition(s) against 2 verified by an earlier check"
    assert third["rows"] == platform.table(FACT_STREAMS.name).height

    # a new partition repeating a play of a verified one: found without reading the others' rows again
    fact = platform.table(FACT_STREAMS.name)
    copied = fact.head(1).with_columns(pl.lit("forged").alias(PARTITION_COLUMN))
    write_deltalake(
        f"{platform.settings.lake_uri}/{FACT_STREAMS.name}",
        copied.to_arrow(),
        mode="append",
        partition_by=[PARTITION_COLUMN],
    )
    keys = run_checks(platform, platform.settings, MODEL_CHECKS)[f"{FACT_STREAMS.name}:{PRIMARY_KEY_CHECK}"]
    assert (keys.passed, keys.metadata["duplicated_keys"].value) == (False, 1)
    assert keys.metadata["scope"].value == "1 changed partition(s) against 3 verified by an earlier check"
    assert keys.metadata["sample_duplicates"].value == [
        {
            "play_key": fact["play_key"][0],
            "rows": 2,
            PARTITION_COLUMN: sorted([fact[PARTITION_COLUMN][0], "forged"]),
        }
    ]
    assert "verified_partitions" not in keys.metadata

    # after a failure nothing counts as verified: the next evaluation reads the whole table
    keys = run_checks(platform, platform.settings, MODEL_CHECKS)[f"{FACT_STREAMS.name}:{PRIMARY_KEY_CHECK}"]
    assert (keys.passed, keys.metadata["scope"].value) == (False, "whole table")


def test_the_dagster_api_of_the_check_history_adapter():
    """What dagster_check_history.py reaches beyond Dagster's public surface, named one by one."""
    assert {"SUCCEEDED", "FAILED"} <= set(AssetCheckExecutionRecordStatus.__members__), FIX
    history = dg.DagsterInstance.ephemeral().event_log_storage.get_asset_check_execution_history
    assert {"check_key", "limit", "status"} <= set(inspect.signature(history).parameters), FIX
    assert {"run_id", "event", "status"} <= set(AssetCheckExecutionRecord._fields), FIX
