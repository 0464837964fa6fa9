"""The Spark twin of the `ts` grammar reads the same table of texts to the same instants."""

from __future__ import annotations

import polars as pl
import pytest

pytest.importorskip("pyspark")

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_assets.transforms import spark_clean, spark_timestamps
from spotify_assets.transforms.timestamps import parse_timestamp

from .test_timestamps import near_timestamps, near_year_last
from .timestamp_cases import CASES, expected

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    builder = SparkSession.builder.master("local[1]").appName("spark-timestamps")
    for key, value in {**spark_clean.SESSION_CONFIG, "spark.ui.enabled": "false"}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_read(spark: SparkSession, rows: list[tuple[int, str | None, str | None]]) -> dict[int, object]:
    frame = spark.createDataFrame(rows, "id int, text string, date_order string")
    timestamp = spark_timestamps.parse_timestamp(F.col("text"), F.col("date_order"))
    result = frame.select("id", timestamp.alias("ts"))
    return {row["id"]: row["ts"] for row in pl.from_arrow(result.toArrow()).iter_rows(named=True)}


def test_spark_reads_every_case_as_documented(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    found = spark_read(spark, [(index, text, order) for index, (text, order, _) in enumerate(CASES)])
    wrong = {
        (text, order): (found[index], expected(iso))
        for index, (text, order, iso) in enumerate(CASES)
        if found[index] != expected(iso)
    }
    assert wrong == {}


def test_spark_and_polars_agree_on_texts_near_the_grammar(spark):
    texts = near_timestamps(4_000, seed=9) + near_year_last(4_000, seed=9)
    orders = [("dmy", "mdy", None)[index % 3] for index in range(len(texts))]
    found = spark_read(spark, list(zip(range(len(texts)), texts, orders, strict=True)))
    polars = pl.DataFrame({"text": texts, "order": orders}, schema={"text": pl.String, "order": pl.String})
    expected_values = polars.select(parse_timestamp(pl.col("text"), pl.col("order"))).to_series().to_list()
    assert sum(value is not None for value in expected_values[:4_000]) > 200
    assert sum(value is not None for value in expected_values[4_000:]) > 200
    differ = [
        (texts[index], orders[index], found[index], value)
        for index, value in enumerate(expected_values)
        if found[index] != value
    ]
    assert differ == []
