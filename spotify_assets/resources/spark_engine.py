"""The Spark engines: the same transforms in PySpark, locally (`spark`) or on Databricks (`databricks`).

`SparkEngine` runs `transforms/spark_clean.py` and `spark_model.py` in a local SparkSession from
dagster-pyspark. The lake stays Delta via delta-rs: local Spark cannot load the Delta jars here, so
frames cross between Polars and Spark as Arrow tables (`createDataFrame(arrow)` / `toArrow()`).

`DatabricksEngine` submits `spotify_assets/databricks_job.py` as a one-time Databricks job run
through dagster-databricks Pipes; the job reads and writes the Delta tables under the lake URI
itself (`replaceWhere` for a landing file's partition) and reports its counts back through Pipes.
The engine then hands the assets lazy scans of what the job wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster._core.errors import DagsterPipesExecutionError
from dagster_databricks import PipesDatabricksClient, PipesDbfsMessageReader
from dagster_pyspark import LazyPySparkResource
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from pydantic import Field
from pyspark.sql import DataFrame, SparkSession

from ..io_managers.delta import scan_table
from ..tables import CLEAN_PLAYS, PARTITION_COLUMN, REJECTED_PLAYS, STAR_SCHEMA, TABLES, TableSpec
from ..transforms import spark_clean, spark_model
from ..transforms.clean import CleanResult
from .engine import TransformEngine

LOCAL_SPARK_CONFIG = {
    "spark.master": "local[*]",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    **spark_clean.SESSION_CONFIG,
}
REJECTED_COLUMNS = [name for name in REJECTED_PLAYS.column_names if name != PARTITION_COLUMN]


def to_spark(spark: SparkSession, frame: pl.LazyFrame | pl.DataFrame) -> DataFrame:
    """A Polars frame as a Spark DataFrame, through Arrow (plain, not view, strings for Spark)."""
    return spark.createDataFrame(frame.lazy().collect().to_arrow(compat_level=pl.CompatLevel.oldest()))


def from_spark(frame: DataFrame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())


class SparkEngine(TransformEngine):
    """`SPOTIFY_ENGINE=spark`: PySpark in a local session (dagster-pyspark), data exchanged as Arrow."""

    pyspark: LazyPySparkResource

    def clean(self, raw: pl.LazyFrame, kept_elsewhere: pl.LazyFrame, scratch: Path,
              *, context: dg.AssetExecutionContext | None = None) -> CleanResult:
        spark = self.pyspark.spark_session
        result = spark_clean.clean_plays(
            to_spark(spark, raw), to_spark(spark, kept_elsewhere.select("play_key").unique())
        )
        return CleanResult(
            clean=_typed(from_spark(result.clean), CLEAN_PLAYS).lazy(),
            rejected=_typed(from_spark(result.rejected), REJECTED_PLAYS),
            counts=result.counts,
        )

    def star_schema(self, clean: pl.LazyFrame, *, context: dg.AssetExecutionContext | None = None,
                    ) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        tables = spark_model.star_schema(to_spark(self.pyspark.spark_session, clean), self.timezone)
        return _polars_star_schema({name: from_spark(frame) for name, frame in tables.items()})


def _typed(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """`frame` cast to the table's Polars types (Spark's Arrow types are close, not equal)."""
    return frame.cast({name: dtype for name, dtype in spec.polars_schema().items() if name in frame.columns})


def _polars_star_schema(frames: dict[str, pl.DataFrame | pl.LazyFrame],
                        ) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Frames typed like the Polars engine's: sorted dimensions, `fact_streams` lazy."""
    tables = {spec.name: spec.conform(frames[spec.name]) for spec in STAR_SCHEMA}
    return {
        name: frame if name == "fact_streams" else frame.collect().sort(TABLES[name].primary_key)
        for name, frame in tables.items()
    }


class PipesDatabricksClientWithTaskErrors(PipesDatabricksClient):
    """PipesDatabricksClient whose failure names the task's own error (from `runs/get-output`),
    not only the run's state message ("Workload failed, see run output for details")."""

    def _poll_til_success(self, context, run_id: int) -> None:
        try:
            super()._poll_til_success(context, run_id)
        except DagsterPipesExecutionError as error:
            raise DagsterPipesExecutionError(f"{error}\n{self._task_errors(run_id)}".rstrip()) from error

    def _task_errors(self, run_id: int) -> str:
        run = self.client.jobs.get_run(run_id)
        outputs = [self.client.jobs.get_run_output(task.run_id) for task in run.tasks or [] if task.run_id]
        return "\n".join(
            f"{task_output.error}\n{task_output.error_trace or ''}".strip()
            for task_output in outputs if task_output.error
        )


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

    def clean(self, raw: pl.LazyFrame, kept_elsewhere: pl.LazyFrame, scratch: Path,
              *, context: dg.AssetExecutionContext | None = None) -> CleanResult:
        """Cleans the context's partition in the workspace; `raw` and `kept_elsewhere` are the
        lake tables the job reads there itself."""
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
        return _polars_star_schema({spec.name: scan_table(self.lake_uri, spec) for spec in STAR_SCHEMA})

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
        workspace = WorkspaceClient(host=self.host, token=self.token)
        client = PipesDatabricksClientWithTaskErrors(
            client=workspace,
            message_reader=PipesDbfsMessageReader(client=workspace, interval=self.message_poll_seconds),
            poll_interval_seconds=self.poll_interval_seconds,
        )
        try:
            completed = client.run(context=context, task=self.submit_task(step, arguments))
        except DagsterPipesExecutionError as error:
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
