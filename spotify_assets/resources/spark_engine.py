"""The local Spark engine (`SPOTIFY_ENGINE=spark`): the per-play transforms in PySpark on this machine.

`SparkEngine` runs `transforms/spark_clean.py` (one file's verdicts) and, through `SparkPlays`,
`transforms/spark_model.py` (the per-play work of a model update: members and fact rows) in a
local SparkSession from dagster-pyspark. The cross-file verdicts and the catalogue run in Polars
for every engine (`model_update.plan_update`). The lake stays Delta via delta-rs: local Spark cannot
load the Delta jars here, so frames cross between Polars and Spark as Arrow tables
(`createDataFrame(arrow)` / `toArrow()`). The Databricks engine, which runs the same Spark
transforms remotely, is `databricks_engine.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import dagster as dg
import polars as pl
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame, SparkSession

from ..tables import CLEAN_PLAYS, FACT_STREAMS, MODEL_MEMBERS, PARTITION_COLUMN, REJECTED_PLAYS, TableSpec
from ..transforms import spark_clean, spark_model
from ..transforms.clean import CleanResult
from ..transforms.model_update import ModelUpdate, plan_update
from ..transforms.verdicts import LakeReader
from .engine import TransformEngine

LOCAL_SPARK_CONFIG = {
    "spark.master": "local[*]",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # no stage progress bars through the CLI's progress line
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    **spark_clean.SESSION_CONFIG,
}


def to_spark(spark: SparkSession, frame: pl.LazyFrame | pl.DataFrame) -> DataFrame:
    """A Polars frame as a Spark DataFrame, through Arrow (plain, not view, strings for Spark)."""
    return spark.createDataFrame(frame.lazy().collect().to_arrow(compat_level=pl.CompatLevel.oldest()))


def from_spark(frame: DataFrame) -> pl.DataFrame:
    return cast(pl.DataFrame, pl.from_arrow(frame.toArrow()))  # an Arrow table gives a DataFrame


def typed(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """`frame` cast to the table's Polars types (Spark's Arrow types are close, not equal)."""
    return frame.cast({name: dtype for name, dtype in spec.polars_schema().items() if name in frame.columns})


class SparkPlays:
    """`model_update.PlayTransforms` in a Spark session: one file's counted plays go to Spark as
    Arrow, members and fact rows come back as Polars frames."""

    def __init__(self, spark: SparkSession):
        self.spark = spark

    def file_members(self, winners: pl.LazyFrame) -> pl.DataFrame:
        members = spark_model.file_members(to_spark(self.spark, winners))
        return typed(from_spark(members), MODEL_MEMBERS)

    def fact_rows(self, winners: pl.LazyFrame, track_keys: pl.DataFrame, timezone: str) -> pl.LazyFrame:
        facts = spark_model.fact_rows(
            to_spark(self.spark, winners), to_spark(self.spark, track_keys), timezone
        )
        return typed(from_spark(facts), FACT_STREAMS).lazy()


class SparkEngine(TransformEngine):
    """`SPOTIFY_ENGINE=spark`: PySpark in a local session (dagster-pyspark), data exchanged as Arrow."""

    pyspark: LazyPySparkResource

    def clean(
        self, raw: pl.LazyFrame, scratch: Path, *, context: dg.AssetExecutionContext | None = None
    ) -> CleanResult:
        result = spark_clean.clean_plays(to_spark(self.pyspark.spark_session, raw))
        rejected_columns = [name for name in REJECTED_PLAYS.column_names if name != PARTITION_COLUMN]
        return CleanResult(
            clean=typed(from_spark(result.clean), CLEAN_PLAYS).lazy(),
            rejected=typed(from_spark(result.rejected), REJECTED_PLAYS).select(rejected_columns),
            counts=result.counts,
        )

    def model_update(
        self, lake: LakeReader, *, context: dg.AssetExecutionContext | None = None
    ) -> ModelUpdate:
        return plan_update(lake, self.model_settings(), SparkPlays(self.pyspark.spark_session))
