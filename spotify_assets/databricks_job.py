"""The Databricks side of `DatabricksEngine`: one step of the per-play work as a Spark job on Delta tables.

Submitted as a `spark_python_task` (this file, uploaded to the workspace) on a cluster that has the
spotify-assets wheel installed:

    databricks_job.py clean --lake URI --timezone ZONE --landing-file KEY
    databricks_job.py members --lake URI --timezone ZONE --landing-file KEY
    databricks_job.py facts --lake URI --timezone ZONE --landing-file KEY

`clean` reads the landing file's `raw_plays` partition, runs `spark_clean.clean_plays` (file-local
verdicts) and replaces the file's partition of `clean_plays` and `rejected_plays` (`replaceWhere`).
`members` and `facts` read the file's `clean_plays` without the plays staged as excluded and write
`spark_model.file_members` or `spark_model.fact_rows` (with the staged catalogue track keys) into the
file's staging folder (`databricks_staging.py`); the model update itself runs on the Dagster side.
Counts go back to Dagster through Pipes (DBFS context and messages).
"""

from __future__ import annotations

import argparse
from typing import Any

from dagster_pipes import PipesDbfsContextLoader, PipesDbfsMessageWriter, open_dagster_pipes
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_assets.databricks_staging import (
    EXCLUDED_PLAYS,
    FILE_FACTS,
    FILE_MEMBERS,
    TRACK_KEYS,
    staging_folder,
)
from spotify_assets.tables import CLEAN_PLAYS, PARTITION_COLUMN, RAW_PLAYS, REJECTED_PLAYS, TableSpec
from spotify_assets.transforms import spark_clean, spark_model

STEPS = ("clean", "members", "facts")


def table_path(lake: str, spec: TableSpec) -> str:
    return f"{lake.rstrip('/')}/{spec.name}"


def sql_string(value: str) -> str:
    """`value` as a Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def read_table(spark: SparkSession, lake: str, spec: TableSpec) -> DataFrame:
    """The Delta table, or an empty frame of its schema if it was never written."""
    path = table_path(lake, spec)
    if DeltaTable.isDeltaTable(spark, path):
        return spark.read.format("delta").load(path)
    schema = ", ".join(f"`{column.name}` {spark_clean.SPARK_TYPES[column.type]}" for column in spec.columns)
    return spark.createDataFrame([], schema)


def write_table(frame: DataFrame, lake: str, spec: TableSpec, partition: str | None = None) -> int:
    """Replace the table, or (for a partitioned table) exactly one landing file's partition; returns
    the rows written."""
    conformed = spark_clean.conform(frame, spec).localCheckpoint()
    writer = conformed.write.format("delta").mode("overwrite")
    if partition is None:
        writer = writer.option("overwriteSchema", "true")
    else:
        writer = writer.partitionBy(PARTITION_COLUMN).option(
            "replaceWhere", f"{PARTITION_COLUMN} = {sql_string(partition)}"
        )
    writer.save(table_path(lake, spec))
    return conformed.count()


def clean_partition(spark: SparkSession, lake: str, landing_file: str) -> dict[str, Any]:
    raw = read_table(spark, lake, RAW_PLAYS).where(F.col(PARTITION_COLUMN) == landing_file)
    result = spark_clean.clean_plays(raw)
    for frame, spec in ((result.clean, CLEAN_PLAYS), (result.rejected, REJECTED_PLAYS)):
        write_table(frame.withColumn(PARTITION_COLUMN, F.lit(landing_file)), lake, spec, landing_file)
    return {"counts": result.counts}


def counted_plays(spark: SparkSession, lake: str, landing_file: str) -> DataFrame:
    """The file's clean plays without those staged as excluded (its plays that count)."""
    plays = read_table(spark, lake, CLEAN_PLAYS).where(F.col(PARTITION_COLUMN) == landing_file)
    excluded = read_table(spark, staging_folder(lake, landing_file), EXCLUDED_PLAYS)
    return plays.join(excluded, on="play_key", how="left_anti")


def members(spark: SparkSession, lake: str, landing_file: str) -> dict[str, Any]:
    frame = spark_model.file_members(counted_plays(spark, lake, landing_file))
    return {"rows": write_table(frame, staging_folder(lake, landing_file), FILE_MEMBERS)}


def facts(spark: SparkSession, lake: str, landing_file: str, timezone: str) -> dict[str, Any]:
    staging = staging_folder(lake, landing_file)
    track_keys = read_table(spark, staging, TRACK_KEYS)
    frame = spark_model.fact_rows(counted_plays(spark, lake, landing_file), track_keys, timezone)
    return {"rows": write_table(frame, staging, FILE_FACTS)}


def run_step(spark: SparkSession, step: str, lake: str, landing_file: str, timezone: str) -> dict[str, Any]:
    if step == "clean":
        return clean_partition(spark, lake, landing_file)
    if step == "members":
        return members(spark, lake, landing_file)
    return facts(spark, lake, landing_file, timezone)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--landing-file", required=True)
    args = parser.parse_args(argv)
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    with open_dagster_pipes(
        context_loader=PipesDbfsContextLoader(), message_writer=PipesDbfsMessageWriter()
    ) as pipes:
        reported = run_step(spark, args.step, args.lake, args.landing_file, args.timezone)
        pipes.log.info(f"{args.step} {args.landing_file}: {reported}")
        pipes.report_custom_message(reported)


if __name__ == "__main__":
    main()
