"""An asset check's last completed evaluation before the current run, from the Dagster instance.

Dagster's public surface reaches the latest execution record of a check
(`DagsterInstance.get_latest_asset_check_evaluation_record`), but while a check runs that is its own
run's PLANNED record. The one before it needs the event log storage's history filtered by status:
`DagsterInstance.event_log_storage.get_asset_check_execution_history(check_key, limit, status=...)`
with `AssetCheckExecutionRecordStatus` from `dagster._core.storage.asset_check_execution_record`,
and the record's `event.dagster_event.event_specific_data`, the `AssetCheckEvaluation`.
spotify_assets_tests/test_dagster_check_history.py names each of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def last_evaluation(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, run_id: str
) -> tuple[bool, Mapping[str, Any]] | None:
    """Whether the check's last completed evaluation in a run other than `run_id` passed, and its
    metadata values (JSON metadata as plain data); None when there is none."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=2, status=COMPLETED
    )
    for record in records:
        if record.run_id == run_id or record.event is None or record.event.dagster_event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            return None
        values = {name: getattr(value, "value", value) for name, value in evaluation.metadata.items()}
        return evaluation.passed, values
    return None
