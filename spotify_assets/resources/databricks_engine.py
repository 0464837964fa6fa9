"""The Databricks engine (`SPOTIFY_ENGINE=databricks`): the Spark per-play transforms as one-time job runs.

`DatabricksEngine` submits `spotify_assets/databricks_job.py` as a one-time Databricks job run
through dagster-databricks Pipes (`adapters/databricks.py`); the job reads and writes the Delta tables
under the lake URI itself (`replaceWhere` for a landing file's partition) and reports back through
Pipes. The engine then hands the assets lazy scans of what the job wrote. Nothing here needs Spark
or Java on this machine: the cluster runs them.

- `clean`: one job run cleans the landing file's partition (`spark_clean.clean_plays`).
- `model_update`: `model_update.plan_update` runs here, as for every engine (cross-file verdicts
  and the catalogue read members and few plays); its per-play work, each file's members and fact
  rows, is one job run per file and step (`DatabricksPlays`), exchanged through the file's staging
  tables (`databricks_staging.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from databricks.sdk.service import compute, jobs
from pydantic import Field

from ..adapters.databricks import DatabricksRunFailed, RecordingWorkspaceClient, run_task
from ..databricks_staging import EXCLUDED_PLAYS, FILE_FACTS, FILE_MEMBERS, TRACK_KEYS, staging_folder
from ..io_managers.delta import scan_table, write_table
from ..tables import CLEAN_PLAYS, PARTITION_COLUMN, REJECTED_PLAYS, TableSpec
from ..transforms.clean import CleanResult
from ..transforms.model_update import ModelUpdate, plan_update
from ..transforms.verdicts import LakeReader
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
    lake_uri: str = Field(
        description="The lake both the workspace and this process reach (SPOTIFY_LAKE_URI)."
    )
    job_script: str = Field(description="Workspace or DBFS path of spotify_assets/databricks_job.py.")
    package_wheel: str = Field(description="Path of the spotify-assets wheel the cluster installs.")
    spark_version: str = "15.4.x-scala2.12"
    node_type_id: str = "i3.xlarge"
    num_workers: int = 2
    poll_interval_seconds: float = 5.0
    message_poll_seconds: float = 10.0

    def clean(
        self, raw: pl.LazyFrame, scratch: Path, *, context: dg.AssetExecutionContext | None = None
    ) -> CleanResult:
        """Cleans the context's partition in the workspace; `raw` is the lake table the job reads
        there itself."""
        context = self._required(context)
        key = context.partition_key
        reported = self.run_step(context, "clean", ["--landing-file", key])
        clean = scan_table(self.lake_uri, CLEAN_PLAYS, [key]).drop(PARTITION_COLUMN)
        rejected = scan_table(self.lake_uri, REJECTED_PLAYS, [key]).select(REJECTED_COLUMNS)
        return CleanResult(
            clean=clean,
            rejected=rejected.sort("source_file", "source_line").collect(),
            counts=reported["counts"],
        )

    def model_update(
        self, lake: LakeReader, *, context: dg.AssetExecutionContext | None = None
    ) -> ModelUpdate:
        """`plan_update` here, with each file's members and fact rows computed in the workspace;
        `lake` must be the lake under `lake_uri`."""
        return plan_update(lake, self.model_settings(), DatabricksPlays(self, self._required(context)))

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

    def run_step(self, context: dg.AssetExecutionContext, step: str, arguments: list[str]) -> dict[str, Any]:
        """Runs `step` remotely and returns what the job reported (its last custom message)."""
        workspace = RecordingWorkspaceClient(host=self.host, token=self.token)
        try:
            completed = run_task(
                context,
                workspace,
                self.submit_task(step, arguments),
                poll_interval_seconds=self.poll_interval_seconds,
                message_poll_seconds=self.message_poll_seconds,
            )
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


class DatabricksPlays:
    """`model_update.PlayTransforms` as Databricks job runs: one per landing file and step.

    `winners` is a file's `clean_plays` without the plays the cross-file verdicts made duplicates.
    Only which plays those are travels (`EXCLUDED_PLAYS`, read here from the narrow play_key
    column): the job reads the plays themselves from the lake.
    """

    def __init__(self, engine: DatabricksEngine, context: dg.AssetExecutionContext):
        self.engine, self.context = engine, context

    def file_members(self, winners: pl.LazyFrame) -> pl.DataFrame:
        staging = self._submit("members", winners, [])
        return FILE_MEMBERS.empty() if staging is None else scan_table(staging, FILE_MEMBERS).collect()

    def fact_rows(self, winners: pl.LazyFrame, track_keys: pl.DataFrame, timezone: str) -> pl.LazyFrame:
        if timezone != self.engine.timezone:
            raise ValueError(
                f"the job runs in the engine's time zone {self.engine.timezone!r}, not {timezone!r}"
            )
        staging = self._submit("facts", winners, [(TRACK_KEYS, track_keys)])
        return FILE_FACTS.empty().lazy() if staging is None else scan_table(staging, FILE_FACTS)

    def _submit(
        self, step: str, winners: pl.LazyFrame, staged: list[tuple[TableSpec, pl.DataFrame]]
    ) -> str | None:
        """Stages what the job needs, runs `step` for the file of `winners`; returns the staging
        folder it wrote into, or None when no play counts (nothing to run)."""
        files = winners.select(PARTITION_COLUMN).unique().collect()[PARTITION_COLUMN].to_list()
        if not files:
            return None
        if len(files) > 1:
            raise ValueError(f"the plays of one landing file were expected, got {len(files)} files")
        [key] = files
        staging = staging_folder(self.engine.lake_uri, key)
        excluded = (
            scan_table(self.engine.lake_uri, CLEAN_PLAYS, [key])
            .select("play_key")
            .join(winners.select("play_key"), on="play_key", how="anti")
        )
        write_table(staging, EXCLUDED_PLAYS, excluded)
        for spec, frame in staged:
            write_table(staging, spec, frame)
        self.engine.run_step(self.context, step, ["--landing-file", key])
        return staging
