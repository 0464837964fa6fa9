"""Running the lake checks in tests: the name of every check, one check step against a lake, and
the evaluations of a run by `<asset>:<check>`; every lake check against a platform's lake."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from spotify_assets.assets.enrich import enrich_checks
from spotify_assets.checks import lake_checks
from spotify_assets.definitions import build_resources, cleaned_plays, raw_plays, star_schema
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.landing import LandingFolder
from spotify_assets.settings import Settings

from .graph import Platform

ALL_LAKE_CHECKS = [*lake_checks, *enrich_checks()]
CHECK_NAMES = {
    f"{spec.asset_key.to_user_string()}:{spec.name}"
    for checks_def in ALL_LAKE_CHECKS
    for spec in checks_def.check_specs
}

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def evaluations_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}": evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def run_bundle(
    checks_def: dg.AssetChecksDefinition, lake_uri: str, *, partition: str | None = None
) -> dg.ExecuteInProcessResult:
    """One check step against the lake at `lake_uri` (and an empty landing folder), in a run of
    `partition` as the ingest runs are (a run of checks alone cannot name a partition key)."""
    landing = Path(lake_uri).parent / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    defs = dg.Definitions(
        asset_checks=[checks_def],
        jobs=[dg.define_asset_job("checks", selection=dg.AssetSelection.checks(checks_def))],
        resources={"lake": LakeResource(lake_uri=lake_uri), "landing": LandingFolder(path=str(landing))},
    )
    tags = {"dagster/partition": partition} if partition else None
    return defs.resolve_job_def("checks").execute_in_process(raise_on_error=False, tags=tags)


def run_checks(
    platform: Platform, settings: Settings, checks=ALL_LAKE_CHECKS
) -> dict[str, dg.AssetCheckEvaluation]:
    """Every lake check against the lake of `settings`, as `<asset>:<check>` -> evaluation."""
    defs = dg.Definitions(
        assets=[raw_plays, cleaned_plays, star_schema],
        asset_checks=checks,
        jobs=[dg.define_asset_job("lake_checks", selection=dg.AssetSelection.checks(*checks))],
        resources=build_resources(settings),
    )
    result = defs.resolve_job_def("lake_checks").execute_in_process(
        instance=platform.instance, raise_on_error=False
    )
    return evaluations_of(result)
