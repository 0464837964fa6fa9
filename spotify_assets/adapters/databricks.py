"""dagster-databricks Pipes runs whose failure names the Databricks task's own error.

When a job run fails, `PipesDatabricksClient.run` raises "Error running Databricks job: Workload
failed, see run output for details" (the run's state message). The task's own exception
(`ValueError: ...` and its trace) is only in `runs/get-output` of the task run, and the client exposes
neither the run id nor a hook that sees it. So, with public APIs only, the workspace client given to
the Pipes client records the id of every run submitted through it (`WorkspaceClient.jobs.submit`),
and a failure is described with the errors of those runs' tasks (`jobs.get_run`, `jobs.get_run_output`).

Relied on: `PipesDatabricksClient.run` submits through `client.jobs.submit(...)` of the
WorkspaceClient it is given (dagster-databricks 0.29, databricks-sdk 0.60, pinned in pyproject.toml).
`spotify_assets_tests/test_databricks.py::test_the_adapter_sees_the_run_the_pipes_client_submits`
fails naming that if an upgrade changes it.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_databricks import PipesDatabricksClient, PipesDbfsMessageReader
from databricks.sdk import WorkspaceClient
from databricks.sdk.mixins.jobs import JobsExt
from databricks.sdk.service import jobs


class DatabricksRunFailed(Exception):
    """A Databricks job run failed (or could not be submitted); the message names the task's own error."""


class RecordingJobs(JobsExt):
    """The workspace's Jobs API, remembering the id of every run it submits."""

    def __init__(self, api_client: Any) -> None:
        super().__init__(api_client)
        self.submitted_run_ids: list[int] = []

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        waiter = super().submit(*args, **kwargs)
        self.submitted_run_ids.append(waiter.bind()["run_id"])
        return waiter


class RecordingWorkspaceClient(WorkspaceClient):
    """A WorkspaceClient whose `jobs` is a `RecordingJobs`."""

    def __init__(self, *, host: str, token: str) -> None:
        super().__init__(host=host, token=token)
        self._recording_jobs = RecordingJobs(self.api_client)

    @property
    def jobs(self) -> RecordingJobs:
        return self._recording_jobs


def run_task(
    context: dg.AssetExecutionContext,
    workspace: RecordingWorkspaceClient,
    task: jobs.SubmitTask,
    *,
    poll_interval_seconds: float,
    message_poll_seconds: float,
) -> dg.PipesClientCompletedInvocation:
    """Runs `task` as a one-time job run with Pipes (context and messages on DBFS).

    Raises DatabricksRunFailed with the client's error followed by the failed tasks' own errors.
    """
    client = PipesDatabricksClient(
        client=workspace,
        message_reader=PipesDbfsMessageReader(client=workspace, interval=message_poll_seconds),
        poll_interval_seconds=poll_interval_seconds,
    )
    try:
        return client.run(context=context, task=task)
    except Exception as error:
        raise DatabricksRunFailed(describe_failure(workspace, error)) from error


def describe_failure(workspace: RecordingWorkspaceClient, error: Exception) -> str:
    """`error`, then the error and trace of each failed task of the runs submitted through `workspace`."""
    try:
        task_errors = [
            f"{output.error}\n{output.error_trace or ''}".strip()
            for run_id in workspace.jobs.submitted_run_ids
            for task in workspace.jobs.get_run(run_id).tasks or []
            if task.run_id
            for output in [workspace.jobs.get_run_output(task.run_id)]
            if output.error
        ]
    except Exception as lookup_error:  # the run's own failure matters more than why its details are missing
        task_errors = [f"(the task errors could not be read: {lookup_error})"]
    return "\n".join([str(error), *task_errors])
