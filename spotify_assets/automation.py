"""Declarative automation: what updates by itself once the landing sensor has ingested a file.

The landing sensor runs `raw_plays` and the cleaning step for a new file (one run per file); from
there every asset follows its `AutomationCondition`:

- the cleaning outputs and the star schema are `eager`: they update when something upstream did.
  The star schema waits while any file is still being ingested (so a burst of files gives one
  rebuild, not one per file) and does not wait for files whose ingest failed;
- `spotify_lookup` (album_art, track_metadata) looks up a landing file's albums and tracks once,
  after the star schema has been rebuilt with that file; a failed lookup is retried on the next
  rebuild or by the `refresh_album_art` schedule.
  Nothing else depends on it except its own warehouse table, so a quota stop holds nothing back;
- warehouse tables and the report are `eager` and also wait until the blocking checks of the lake
  tables they read have passed, so bad data is never published.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from .assets.common import ENRICH, INGEST, MODEL
from .assets.enrich import pending_lookups
from .resources.lake import LakeResource
from .resources.spotify import SpotifyApi
from .tables import CLEAN_PLAYS, TRACK_METADATA

AutomationCondition = dg.AutomationCondition
AUTOMATION_INTERVAL_SECONDS = 10
REFRESH_ALBUM_ART_CRON = "0 4 * * *"  # daily, at night when no one is listening


def eager_through_failed_files() -> dg.AutomationCondition:
    """`eager()` for an asset built from every file: it does not wait for files whose ingest failed."""
    return (
        AutomationCondition.eager()
        .without(~AutomationCondition.any_deps_missing())
        .with_label("eager_through_failed_files")
    )


def once_per_file_after_model() -> dg.AutomationCondition:
    """For a per-file enrichment: run a missing partition after its upstream was rebuilt with that
    file, never while that rebuild is still planned or running."""
    file_ingested = AutomationCondition.asset_matches(
        CLEAN_PLAYS.name, ~AutomationCondition.missing() & ~AutomationCondition.in_progress()
    )
    return (
        AutomationCondition.missing()
        & AutomationCondition.any_deps_updated().since_last_handled()
        & file_ingested
        & ~AutomationCondition.any_deps_match(
            AutomationCondition.in_progress() | AutomationCondition.will_be_requested()
        )
        & ~AutomationCondition.in_progress()
    ).with_label("once_per_file_after_model")


def model_when_files_or_answers_change() -> dg.AutomationCondition:
    """The model follows new files eagerly, takes in new Web API answers (`track_metadata`,
    downstream of it) once they land (a catalogue-only update, the fact is not rewritten), and
    rebuilds when its settings changed: its code version is the model's settings key (model
    version, time zone, overrides file), so a code location loaded with other settings runs it."""
    # typed as a condition on assets or checks: `since_last_handled` is declared for those only
    matches: dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey] = AutomationCondition.asset_matches(
        TRACK_METADATA.name, AutomationCondition.newly_updated()
    )
    answers = matches.since_last_handled()
    settings = AutomationCondition.code_version_changed()
    return (
        eager_through_failed_files()
        | (
            (answers | settings)
            & ~AutomationCondition.in_progress()
            & ~AutomationCondition.any_deps_in_progress()
        )
    ).with_label("model_when_files_or_answers_change")


def publish_when_checks_pass() -> dg.AutomationCondition:
    """`eager()` that also waits for the blocking checks of the tables it reads."""
    return eager_through_failed_files() & AutomationCondition.all_deps_blocking_checks_passed()


def condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition | None:
    """The automation condition of one asset, by its stage (None: started by the landing sensor)."""
    if spec.key.to_user_string() == "raw_plays":
        return None
    if spec.group_name == INGEST:
        return AutomationCondition.eager()
    if spec.group_name == MODEL:
        return model_when_files_or_answers_change()
    if spec.group_name == ENRICH:
        return once_per_file_after_model()
    return publish_when_checks_pass()


def with_automation(assets: Iterable[dg.AssetsDefinition], model_version: str) -> list[dg.AssetsDefinition]:
    """`assets` with the automation condition of their stage on every asset they produce, and the
    model's settings key (`ModelSettings.key`) as the code version of the model's tables."""

    def automated(spec: dg.AssetSpec) -> dg.AssetSpec:
        spec = spec.replace_attributes(automation_condition=condition_for(spec))
        return spec.replace_attributes(code_version=model_version) if spec.group_name == MODEL else spec

    return [assets_def.map_asset_specs(automated) for assets_def in assets]


automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates every asset's automation condition: what a new landing file brings up to date.",
)


@dg.schedule(
    cron_schedule=REFRESH_ALBUM_ART_CRON,
    job_name="refresh_album_art",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: one refresh_album_art run per landing file with Spotify lookups still due.",
)
def refresh_album_art_schedule(
    context: dg.ScheduleEvaluationContext, lake: LakeResource, spotify: SpotifyApi
) -> list[dg.RunRequest] | dg.SkipReason:
    pending = pending_lookups(lake.location, not_found_retry_days=spotify.not_found_retry_days)
    partitions = pending["partitions"]
    if not partitions:
        return dg.SkipReason("every album and track has been looked up")
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [dg.RunRequest(run_key=f"{partition}@{day}", partition_key=partition) for partition in partitions]
