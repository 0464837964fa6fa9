"""The Databricks side of `DatabricksEngine`: one step of the model as a Spark job on Delta tables.

Submitted as a `spark_python_task` (this file, uploaded to the workspace) on a cluster that has the
spotify-assets wheel installed:

    databricks_job.py clean --lake URI --timezone ZONE --landing-file KEY
    databricks_job.py star_schema --lake URI --timezone ZONE

`clean` reads the landing file's `raw_plays` partition and the other files' `clean_plays`, runs
`spark_clean.clean_plays` and replaces the file's partition of `clean_plays` and `rejected_plays`
(`replaceWhere`). `star_schema` rebuilds the dimensions and `fact_streams` from all clean plays.
Counts go back to Dagster through Pipes (DBFS context and messages).
"""

from __future__ import annotations

import argparse

from dagster_pipes import PipesDbfsContextLoader, PipesDbfsMessageWriter, open_dagster_pipes
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_assets.tables import (
    CLEAN_PLAYS, PARTITION_COLUMN, RAW_PLAYS, REJECTED_PLAYS, STAR_SCHEMA, TableSpec,
)
from spotify_assets.transforms import spark_clean, spark_model


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


def write_table(frame: DataFrame, lake: str, spec: TableSpec, partition: str | None = None) -> None:
    """Replace the table, or (for a partitioned table) exactly one landing file's partition."""
    writer = spark_clean.conform(frame, spec).write.format("delta").mode("overwrite")
    if partition is None:
        writer = writer.option("overwriteSchema", "true")
    else:
        writer = writer.partitionBy(PARTITION_COLUMN).option(
            "replaceWhere", f"{PARTITION_COLUMN} = {sql_string(partition)}"
        )
    writer.save(table_path(lake, spec))


def clean_partition(spark: SparkSession, lake: str, landing_file: str) -> dict[str, int]:
    in_file = F.col(PARTITION_COLUMN) == landing_file
    raw = read_table(spark, lake, RAW_PLAYS).where(in_file)
    kept_elsewhere = read_table(spark, lake, CLEAN_PLAYS).where(~in_file).select("play_key")
    result = spark_clean.clean_plays(raw, kept_elsewhere)
    for frame, spec in ((result.clean, CLEAN_PLAYS), (result.rejected, REJECTED_PLAYS)):
        write_table(frame.withColumn(PARTITION_COLUMN, F.lit(landing_file)), lake, spec, landing_file)
    return result.counts


def build_star_schema(spark: SparkSession, lake: str, timezone: str) -> dict[str, int]:
    tables = spark_model.star_schema(read_table(spark, lake, CLEAN_PLAYS), timezone)
    for spec in STAR_SCHEMA:
        write_table(tables[spec.name], lake, spec)
    return {spec.name: read_table(spark, lake, spec).count() for spec in STAR_SCHEMA}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["clean", "star_schema"])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--landing-file")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    with open_dagster_pipes(context_loader=PipesDbfsContextLoader(),
                            message_writer=PipesDbfsMessageWriter()) as pipes:
        if args.step == "clean":
            counts = clean_partition(spark, args.lake, args.landing_file)
            summary = ", ".join(f"{name} {value}" for name, value in counts.items())
            pipes.log.info(f"{args.landing_file}: {summary}")
            pipes.report_custom_message({"counts": counts})
        else:
            rows = build_star_schema(spark, args.lake, args.timezone)
            pipes.report_custom_message({"rows": rows})


if __name__ == "__main__":
    main()
