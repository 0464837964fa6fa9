"""The Spark engine gives exactly the Polars engine's tables: same rows, keys, verdicts, texts, types.

The same landing files go through the whole asset graph once per engine (`SPOTIFY_ENGINE=spark`
in place of the Polars engine); every table the engines produce is compared row for row, sorted by
its primary key. The files: the hostile CSV and JSON, an edge-case Extended JSON, an edge-case basic
account-data file, a spreadsheet-saved Maven CSV, a 2,000-play Maven CSV, an Extended Streaming
History ZIP and the basic account-data ZIP of the same listening (so plays are copies across files
and exports: `same_play` and `export_overlap` duplicates, names resolved to ids), the last one in an
incremental model update of its own. A second graph gets only files that count nothing: an empty
export, a header-only CSV, records too short to count and records whose every field but `ts` is null.
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
from spotify_assets.io_managers.delta import scan_table  # noqa: E402
from spotify_assets.resources.spark_engine import SparkEngine  # noqa: E402
from spotify_assets.tables import CONTENT_TYPES, DUPLICATE_RULES, REJECT_REASONS, TABLES  # noqa: E402
from spotify_assets.transforms import spark_clean  # noqa: E402
from spotify_assets_tests import hostile  # noqa: E402
from spotify_assets_tests.graph import Platform  # noqa: E402
from spotify_assets_tests.spreadsheets import write_spreadsheet_csv  # noqa: E402

pytestmark = pytest.mark.spark

TIMEZONE = "America/New_York"  # local dates and hours differ from UTC, and DST applies
# every table an engine's transforms decide (model_members: the per-file members Spark aggregates)
ENGINE_TABLES = (
    "clean_plays",
    "rejected_plays",
    "file_reads",
    "file_accounting",
    "duplicate_plays",
    "model_members",
    "dim_artist",
    "dim_album",
    "dim_recording",
    "dim_track",
    "dim_date",
    "dim_platform",
    "dim_reason",
    "track_resolution",
    "fact_streams",
)
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
    "2019-03-10 06:59:59", "2019-03-10 07:00:00", "２０19-09-20 14:40:30", "7/8/2013 2:44 PM",
]  # fmt: skip
MS_PLAYED = ["007", "-0", "+5", "1e3", "99999999999999999999", "-9223372036854775808", "٣٣٣", "0x10", ""]
URIS = [
    f"spotify:episode:{hostile.TRACK_A}",
    f"spotify:album:{hostile.TRACK_A}",
    f"Spotify:track:{hostile.TRACK_A}",
    f" {TRACK}\u00a0",
    f"spotify::{hostile.TRACK_A}",
    hostile.TRACK_A.lower(),
]
NAMES = [
    "Beyonce\u0301",
    "\u3000Zoe\u0308 ",
    "a\x1fb\x01c",
    "x\\u001Fy",
    "Ǆ Σ İ",
    "\u2028line",
    "del\x7f",
    "Beyoncé",
]
SHUFFLES = [True, "TRUE", "yes", None, "False ", "x", "1", False]


def edge_records() -> list[dict]:
    base = {"platform": "android", "ms_played": 1000, "spotify_track_uri": TRACK}
    return (
        [base | {"ts": ts} for ts in TIMESTAMPS]
        + [base | {"ts": "2019-09-20T14:40:30Z", "ms_played": ms} for ms in MS_PLAYED]
        + [base | {"ts": "2019-09-20T14:40:31Z", "spotify_track_uri": uri} for uri in URIS]
        + [
            base | {"ts": "2019-09-20T14:40:32Z", "spotify_track_uri": None, "audiobook_uri": uri}
            for uri in URIS
        ]
        + [
            base
            | {
                "ts": f"2019-09-20T14:41:{second:02d}Z",
                "platform": name,
                "master_metadata_track_name": name,
                "master_metadata_album_artist_name": name,
                "master_metadata_album_album_name": name,
                "shuffle": shuffle,
            }
            for second, (name, shuffle) in enumerate(zip(NAMES, SHUFFLES, strict=True))
        ]
        # a play of the listener's own file, twice (a duplicate in the file): a track known by name
        + [
            base
            | {
                "ts": "2019-09-20T14:42:00Z",
                "spotify_track_uri": "spotify:local:Me:Tapes:My+Demo:201",
                "master_metadata_track_name": "My Demo ",
                "master_metadata_album_artist_name": "Me",
            }
        ]
        * 2
    )


def basic_edge_records() -> list[dict]:
    """Basic account data: names by NFC and white space (one play twice: a duplicate in the file), a
    podcast and an audiobook, missing titles, short plays and bad values."""
    play = {"endTime": "2019-09-20 14:40", "msPlayed": 74465}
    return [
        play | {"artistName": "Beyonce\u0301 ", "trackName": "Halo"},
        play | {"artistName": "Beyoncé", "trackName": " halo\u00a0"},
        play | {"artistName": "Post Malone", "trackName": "Classy Girls  "},
        play | {"endTime": "2019-09-20 14:41", "artistName": "\u3000Zoe\u0308 ", "trackName": "a\x1fb"},
        play | {"podcastName": "The Daily ", "episodeName": "An Episode", "msPlayed": 1_800_000},
        play | {"audiobookName": "A Book", "chapterName": "Chapter 1", "authorName": "An Author"},
        play | {"audiobookName": "A Book", "chapterName": None},
        play | {"artistName": "Someone", "trackName": "   "},
        play | {"artistName": "Someone", "trackName": "Short", "msPlayed": 499},
        play | {"endTime": "2019-09-20 25:00", "artistName": "Someone", "trackName": "Late"},
        play | {"artistName": "Someone", "trackName": "Negative", "msPlayed": -1},
        play | {"artistName": "Someone", "trackName": "Text", "msPlayed": "many"},
        {"endTime": "2019-09-21 08:00", "artistName": None, "trackName": "No artist", "msPlayed": 1000},
    ]


def nothing_counted(folder: Path) -> list[Path]:
    """Files that count no play: no records, only a header, only short plays, nothing but `ts` (the
    reader needs one) and null fields."""
    empty = folder / "empty.json"
    empty.write_text("[]")
    header = folder / "header.csv"
    header.write_text(hostile.HEADER + "\n")
    short = folder / "short.json"
    short.write_text(json.dumps([{"ts": "2020-01-01T00:00:00Z", "ms_played": ms, "spotify_track_uri": TRACK}
                                 for ms in (0, 499)]))  # fmt: skip
    nulls = folder / "nulls.json"
    fields = ("ms_played", "platform", "spotify_track_uri", "master_metadata_track_name", "shuffle")
    nulls.write_text(
        json.dumps([{"ts": f"2020-01-0{day}T00:00:00Z"} | dict.fromkeys(fields) for day in (1, 2, 3)])
    )
    return [nulls, empty, header, short]  # every row of `nulls` is rejected: its ingest fails, not last


@pytest.fixture(scope="module")
def spark_engine() -> SparkEngine:
    return SparkEngine(timezone=TIMEZONE, pyspark=LazyPySparkResource(spark_config=TEST_SPARK_CONFIG))


@pytest.fixture(scope="module")
def landing_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    edge = folder / "edge_cases.json"
    edge.write_text(json.dumps(edge_records(), ensure_ascii=False), encoding="utf-8")
    basic_edge = folder / "StreamingHistory_music_0.json"
    basic_edge.write_text(json.dumps(basic_edge_records(), ensure_ascii=False), encoding="utf-8")
    return [
        hostile.write_hostile_csv(folder / "hostile.csv"),
        hostile.write_hostile_json(folder / "hostile.json"),
        edge,
        basic_edge,
        write_spreadsheet_csv(folder / "spreadsheet.csv", "eu_semicolon"),
        sample.write_maven_csv(folder / "history.csv", rows=2000, seed=11),
        sample.write_extended_zip(folder / "my_spotify_data.zip", rows=600, seed=11),
        sample.write_account_data_zip(folder / "account_data.zip", rows=600, seed=11, days=4000),
    ]


class SparkPlatform(Platform):
    """The platform with the Spark engine in place of the profile's engine."""

    engine: SparkEngine

    @property
    def defs(self):
        defs = super().defs
        return dg.Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            sensors=defs.sensors,
            schedules=defs.schedules,
            executor=defs.executor,
            resources={**defs.resources, "engine": self.engine},
        )


def lake_tables(platform: Platform) -> dict[str, pl.DataFrame]:
    return {
        name: scan_table(platform.lake, TABLES[name]).collect().sort(TABLES[name].primary_key)
        for name in ENGINE_TABLES
    }


def run_both(tmp_path_factory, spark_engine: SparkEngine, batches: list[list[Path]], name: str):
    """Both engines' tables after the same runs (one per batch of files: each updates the model),
    and each engine's failed runs."""
    polars_platform = Platform.on(tmp_path_factory.mktemp(f"{name}_polars"), timezone=TIMEZONE)
    spark_platform = SparkPlatform.on(tmp_path_factory.mktemp(f"{name}_spark"), timezone=TIMEZONE)
    spark_platform.engine = spark_engine
    failures, modes = [], []
    for platform in (polars_platform, spark_platform):
        runs = [run for files in batches for run in platform.run(*files).runs]
        failures.append([(run["job"], run["partition"]) for run in runs if not run["success"]])
        modes.append(last_model_mode(platform))
    assert modes[0] == modes[1] == ("incremental" if len(batches) > 1 else "rebuild")
    return lake_tables(polars_platform), lake_tables(spark_platform), failures


def last_model_mode(platform: Platform) -> str:
    """How the last model update ran (rebuild or incremental), from its materialization."""
    event = platform.instance.get_latest_materialization_event(dg.AssetKey("fact_streams"))
    assert event is not None and event.asset_materialization is not None
    return event.asset_materialization.metadata["mode"].value


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory, landing_files, spark_engine):
    """A rebuild from every file but the account data, then an incremental update adding it (its
    plays lose to the extended copies; the basic edge-case file's facts are recomputed)."""
    batches = [landing_files[:-1], landing_files[-1:]]
    polars_tables, spark_tables, failures = run_both(tmp_path_factory, spark_engine, batches, "full")
    assert failures == [[], []]
    return polars_tables, spark_tables


@pytest.fixture(scope="module")
def both_engines_nothing_counted(tmp_path_factory, spark_engine):
    files = nothing_counted(tmp_path_factory.mktemp("nothing"))
    polars_tables, spark_tables, failures = run_both(tmp_path_factory, spark_engine, [files], "nothing")
    polars_failures, spark_failures = failures
    assert len(polars_failures) == 1 and spark_failures == polars_failures  # nulls.json: all rejected
    return polars_tables, spark_tables


@pytest.mark.parametrize("table", ENGINE_TABLES)
def test_spark_builds_the_same_table(both_engines, table):
    polars_tables, spark_tables = both_engines
    assert polars_tables[table].height > 0
    assert_frame_equal(spark_tables[table], polars_tables[table])


@pytest.mark.parametrize("table", ENGINE_TABLES)
def test_spark_builds_the_same_table_when_nothing_counts(both_engines_nothing_counted, table):
    polars_tables, spark_tables = both_engines_nothing_counted
    assert_frame_equal(spark_tables[table], polars_tables[table])


def test_nothing_counted_means_empty_model_tables(both_engines_nothing_counted):
    polars_tables, _ = both_engines_nothing_counted
    accounting = polars_tables["file_accounting"]
    assert accounting.height == 4 and accounting["clean"].sum() == 0
    assert accounting["rows_read"].sum() == 5 and accounting["filtered"].sum() == 2
    assert polars_tables["rejected_plays"].height == 3
    assert all(polars_tables[name].is_empty() for name in ("clean_plays", "fact_streams", "dim_track"))


def test_every_verdict_occurs(both_engines):
    """The input exercises every verdict, reject reason, duplicate rule, export and content type, so
    the comparison means something."""
    polars_tables, _ = both_engines
    accounting = polars_tables["file_accounting"]
    verdicts = ("clean", "filtered", "duplicate", "rejected", "duplicate_in_file", "duplicate_across_files")
    assert all(accounting[verdict].sum() > 0 for verdict in verdicts)
    assert set(polars_tables["rejected_plays"]["reason"]) == set(REJECT_REASONS)
    assert set(polars_tables["duplicate_plays"]["rule"]) == set(DUPLICATE_RULES)
    clean = polars_tables["clean_plays"]
    assert set(clean["source_format"]) == {"extended_json", "maven_csv", "basic_json"}
    assert set(clean.filter(pl.col("source_format") == "basic_json")["content_type"]) == set(CONTENT_TYPES)
    assert clean["track_name"].str.ends_with(" ").any()  # names kept as written
    local = clean.filter((pl.col("source_format") == "extended_json") & pl.col("content_id").is_null())
    assert local["track_name"].to_list() == ["My Demo "]  # a local file: kept once, without an id
    assert {"matched", "unmatched"} <= set(polars_tables["track_resolution"]["status"])


def test_the_spark_engine_really_ran(both_engines):
    assert SparkSession.getActiveSession() is not None
