"""The Spark engine gives exactly the Polars engine's tables: same rows, keys, verdicts, texts, types.

The same landing files (the hostile CSV and JSON, an edge-case JSON, a 2,000-play Maven CSV and an
Extended Streaming History ZIP) go through the whole asset graph once per engine; every table the
engines produce is compared row for row, sorted by its primary key.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets_tests.requirements import need, need_command

need("pyspark", "the spark extra")
need_command("java", "PySpark runs on Java 17")

from dagster_pyspark import LazyPySparkResource  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from spotify_assets import sample  # noqa: E402
from spotify_assets.resources.spark_engine import SparkEngine  # noqa: E402
from spotify_assets.tables import REJECT_REASONS, TABLES  # noqa: E402
from spotify_assets.transforms import spark_clean  # noqa: E402
from spotify_assets_tests import hostile  # noqa: E402
from spotify_assets_tests.graph import Platform  # noqa: E402

pytestmark = pytest.mark.spark

TIMEZONE = "America/New_York"  # local dates and hours differ from UTC, and DST applies
ENGINE_TABLES = ("clean_plays", "rejected_plays", "file_accounting", "dim_artist", "dim_album", "dim_track",
                 "dim_date", "dim_platform", "dim_reason", "fact_streams")
TEST_SPARK_CONFIG = {
    "spark.master": "local[2]",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    **spark_clean.SESSION_CONFIG,
}
TRACK = f"spotify:track:{hostile.TRACK_A}"
# Values where Spark's and Polars' parsers, trimming, Unicode and JSON encoding could part ways.
TIMESTAMPS = [
    "2019-09-20T14:40:30.5Z", "2019-09-20 14:40:30.123456789", "2019-9-2 4:4:3", "2019-02-30 10:00:00",
    "2019-09-20 24:00:00", "2019-09-20 14:40", "2019-09-20 14:40:30.", "+2019-09-20 14:40:30",
    "2016-12-31 23:59:60", "2016-12-31 23:59:60.5", "2019-09-20 14:40:61", "0999-01-01 00:00:00",
    "2019-09-20  14:40:30", "2019-09-2014:40:30", "2019-09-20T14:40:30ZZ", "2019-09-20 14:40:30+01:00",
    "2019-03-10 06:59:59", "2019-03-10 07:00:00", "２０19-09-20 14:40:30",
]
MS_PLAYED = ["007", "-0", "+5", "1e3", "99999999999999999999", "-9223372036854775808", "٣٣٣", "0x10", ""]
URIS = [f"spotify:episode:{hostile.TRACK_A}", f"spotify:album:{hostile.TRACK_A}", f"Spotify:track:{hostile.TRACK_A}",
        f" {TRACK}\u00a0", f"spotify::{hostile.TRACK_A}", hostile.TRACK_A.lower()]
NAMES = ["Beyonce\u0301", "\u3000Zoe\u0308 ", "a\x1fb\x01c", "x\\u001Fy", "Ǆ Σ İ", "\u2028line", "del\x7f", "Beyoncé"]
SHUFFLES = [True, "TRUE", "yes", None, "False ", "x", "1", False]


def edge_records() -> list[dict]:
    base = {"platform": "android", "ms_played": 1000, "spotify_track_uri": TRACK}
    return (
        [base | {"ts": ts} for ts in TIMESTAMPS]
        + [base | {"ts": "2019-09-20T14:40:30Z", "ms_played": ms} for ms in MS_PLAYED]
        + [base | {"ts": "2019-09-20T14:40:31Z", "spotify_track_uri": uri} for uri in URIS]
        + [base | {"ts": "2019-09-20T14:40:32Z", "spotify_track_uri": None, "audiobook_uri": uri} for uri in URIS]
        + [base | {"ts": f"2019-09-20T14:41:{second:02d}Z", "platform": name, "master_metadata_track_name": name,
                   "master_metadata_album_artist_name": name, "master_metadata_album_album_name": name,
                   "shuffle": shuffle}
           for second, (name, shuffle) in enumerate(zip(NAMES, SHUFFLES))]
    )


@pytest.fixture(scope="module")
def spark_engine() -> SparkEngine:
    return SparkEngine(timezone=TIMEZONE, pyspark=LazyPySparkResource(spark_config=TEST_SPARK_CONFIG))


@pytest.fixture(scope="module")
def landing_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    edge = folder / "edge_cases.json"
    edge.write_text(json.dumps(edge_records(), ensure_ascii=False), encoding="utf-8")
    return [
        hostile.write_hostile_csv(folder / "hostile.csv"),
        hostile.write_hostile_json(folder / "hostile.json"),
        edge,
        sample.write_maven_csv(folder / "history.csv", rows=2000, seed=11),
        sample.write_extended_zip(folder / "my_spotify_data.zip", rows=600, seed=11),
    ]


class SparkPlatform(Platform):
    """The platform with the Spark engine in place of the profile's engine."""

    engine: SparkEngine

    @property
    def defs(self):
        defs = super().defs
        return dg.Definitions(
            assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs, sensors=defs.sensors,
            schedules=defs.schedules, executor=defs.executor, resources={**defs.resources, "engine": self.engine},
        )


def lake_tables(platform: Platform) -> dict[str, pl.DataFrame]:
    return {name: platform.table(name).sort(TABLES[name].primary_key) for name in ENGINE_TABLES}


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory, landing_files, spark_engine):
    polars_platform = Platform.on(tmp_path_factory.mktemp("polars"), timezone=TIMEZONE)
    spark_platform = SparkPlatform.on(tmp_path_factory.mktemp("spark"), timezone=TIMEZONE)
    spark_platform.engine = spark_engine
    for platform in (polars_platform, spark_platform):
        report = platform.run(*landing_files)
        assert report.success, report.runs
    return lake_tables(polars_platform), lake_tables(spark_platform)


@pytest.mark.parametrize("table", ENGINE_TABLES)
def test_spark_builds_the_same_table(both_engines, table):
    polars_tables, spark_tables = both_engines
    assert polars_tables[table].height > 0
    assert_frame_equal(spark_tables[table], polars_tables[table])


def test_every_verdict_occurs(both_engines):
    """The input exercises every verdict and every reject reason, so the comparison means something."""
    polars_tables, _ = both_engines
    accounting = polars_tables["file_accounting"]
    assert all(accounting[verdict].sum() > 0 for verdict in ("clean", "filtered", "duplicate", "rejected"))
    assert set(polars_tables["rejected_plays"]["reason"]) == set(REJECT_REASONS)


def test_the_spark_engine_really_ran(both_engines):
    assert SparkSession.getActiveSession() is not None
