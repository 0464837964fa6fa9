"""The Databricks engine (`SPOTIFY_ENGINE=databricks`): the Spark transforms as one-time job runs.

`DatabricksEngine` submits `spotify_assets/databricks_job.py` as a one-time Databricks job run
through dagster-databricks Pipes (`adapters/databricks.py`); the job reads and writes the Delta tables
under the lake URI itself (`replaceWhere` for a landing file's partition) and reports its counts back
through Pipes. The engine then hands the assets lazy scans of what the job wrote. Nothing here needs
Spark or Java on this machine: the cluster runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from databricks.sdk.service import compute, jobs
from pydantic import Field

from ..adapters.databricks import DatabricksRunFailed, RecordingWorkspaceClient, run_task
from ..io_managers.delta import scan_table
from ..tables import CLEAN_PLAYS, PARTITION_COLUMN, REJECTED_PLAYS, STAR_SCHEMA
from ..transforms.clean import CleanResult
from .conform import polars_star_schema
from .engine import TransformEngine

REJECTED_COLUMNS = [name for name in REJECTED_PLAYS.column_names if name != PARTITION_COLUMN]


class DatabricksEngine(TransformEngine):
    """`SPOTIFY_ENGINE=databricks`: each transform is a one-time Databricks job run (Pipes) on a
    new cluster that reads and writes the Delta tables under `lake_uri`.

    `lake_uri` must be storage both the workspace and this process reach (s3://, abfss://, gs://):
    the job writes there and the assets read the results back lazily.
    """

    host: str = Field(description="Workspace URL, from DATABRICKS_HOST.")
    token: str = Field(description="Personal access token, from DATABRICKS_TOKEN.")
    lake_uri: str
    job_script: str = Field(description="Workspace or DBFS path of spotify_assets/databricks_job.py.")
    package_wheel: str = Field(description="Path of the spotify-assets wheel the cluster installs.")
    spark_version: str = "15.4.x-scala2.12"
    node_type_id: str = "i3.xlarge"
    num_workers: int = 2
    poll_interval_seconds: float = 5.0
    message_poll_seconds: float = 10.0

    def clean(self, raw: pl.LazyFrame, scratch: Path,
              *, context: dg.AssetExecutionContext | None = None) -> CleanResult:
        """Cleans the context's partition in the workspace; `raw` is the lake table the job reads
        there itself."""
        context = self._required(context)
        key = context.partition_key
        reported = self._run(context, "clean", ["--landing-file", key])
        clean = scan_table(self.lake_uri, CLEAN_PLAYS, [key]).drop(PARTITION_COLUMN)
        rejected = scan_table(self.lake_uri, REJECTED_PLAYS, [key]).select(REJECTED_COLUMNS)
        return CleanResult(clean=clean, rejected=rejected.sort("source_file", "source_line").collect(),
                           counts=reported["counts"])

    def star_schema(self, clean: pl.LazyFrame, *, context: dg.AssetExecutionContext | None = None,
                    ) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        self._run(self._required(context), "star_schema", [])
        return polars_star_schema({spec.name: scan_table(self.lake_uri, spec) for spec in STAR_SCHEMA})

    def submit_task(self, step: str, arguments: list[str]) -> jobs.SubmitTask:
        """The one-task job run that performs `step` in the workspace."""
        return jobs.SubmitTask(
            task_key=f"spotify_assets_{step}",
            new_cluster=compute.ClusterSpec(
                spark_version=self.spark_version,
                node_type_id=self.node_type_id,
                num_workers=self.num_workers,
                spark_conf={"spark.sql.session.timeZone": "UTC"},
            ),
            libraries=[compute.Library(whl=self.package_wheel)],
            spark_python_task=jobs.SparkPythonTask(
                python_file=self.job_script,
                parameters=[step, "--lake", self.lake_uri, "--timezone", self.timezone, *arguments],
            ),
        )

    def _run(self, context: dg.AssetExecutionContext, step: str, arguments: list[str]) -> dict[str, Any]:
        """Runs `step` remotely and returns what the job reported (its last custom message)."""
        workspace = RecordingWorkspaceClient(host=self.host, token=self.token)
        try:
            completed = run_task(context, workspace, self.submit_task(step, arguments),
                                 poll_interval_seconds=self.poll_interval_seconds,
                                 message_poll_seconds=self.message_poll_seconds)
        except DatabricksRunFailed as error:
            raise dg.Failure(description=f"Databricks {step} run failed: {error}") from error
        messages = completed.get_custom_messages()
        if not messages:
            raise dg.Failure(description=f"Databricks {step} run reported nothing back through Pipes")
        return messages[-1]

    @staticmethod
    def _required(context: dg.AssetExecutionContext | None) -> dg.AssetExecutionContext:
        if context is None:
            raise ValueError("DatabricksEngine submits job runs through Pipes: pass the asset's context")
        return context
