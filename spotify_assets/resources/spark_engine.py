"""The local Spark engine (`SPOTIFY_ENGINE=spark`): the same transforms in PySpark on this machine.

`SparkEngine` runs `transforms/spark_clean.py` and `spark_model.py` in a local SparkSession from
dagster-pyspark. The lake stays Delta via delta-rs: local Spark cannot load the Delta jars here, so
frames cross between Polars and Spark as Arrow tables (`createDataFrame(arrow)` / `toArrow()`).
The Databricks engine, which runs the same Spark transforms remotely, is `databricks_engine.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import dagster as dg
import polars as pl
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame, SparkSession

from ..tables import CLEAN_PLAYS, REJECTED_PLAYS, TableSpec
from ..transforms import spark_clean, spark_model
from ..transforms.clean import CleanResult
from .conform import polars_star_schema
from .engine import TransformEngine

LOCAL_SPARK_CONFIG = {
    "spark.master": "local[*]",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    **spark_clean.SESSION_CONFIG,
}


def to_spark(spark: SparkSession, frame: pl.LazyFrame | pl.DataFrame) -> DataFrame:
    """A Polars frame as a Spark DataFrame, through Arrow (plain, not view, strings for Spark)."""
    return spark.createDataFrame(frame.lazy().collect().to_arrow(compat_level=pl.CompatLevel.oldest()))


def from_spark(frame: DataFrame) -> pl.DataFrame:
    return cast(pl.DataFrame, pl.from_arrow(frame.toArrow()))  # an Arrow table gives a DataFrame


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
        return polars_star_schema({name: from_spark(frame) for name, frame in tables.items()})


def _typed(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """`frame` cast to the table's Polars types (Spark's Arrow types are close, not equal)."""
    return frame.cast({name: dtype for name, dtype in spec.polars_schema().items() if name in frame.columns})
