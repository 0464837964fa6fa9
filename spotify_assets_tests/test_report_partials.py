"""The report's per-landing-file cache of the fact's aggregations (transforms/report_partials.py):
whatever the cache holds, the figures equal those of one full pass over the same tables."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets.assets.report import REPORT_INPUTS, listening_report
from spotify_assets.io_managers.delta import (
    DeltaLakeIOManager,
    scan_table,
    write_partitions,
    write_table,
)
from spotify_assets.io_managers.updates import PartitionedUpdate
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.report import ReportFolder
from spotify_assets.tables import FACT_STREAMS, TABLES
from spotify_assets.transforms.listens import ListenRule, parse_listen_rule
from spotify_assets.transforms.report import ListeningFigures, figures_of_aggregates, listening_figures
from spotify_assets.transforms.report_aggregates import AGGREGATION_KEYS, FactAggregates, aggregate_fact
from spotify_assets.transforms.report_partials import (
    PARTIALS_FOLDER,
    CacheOutcome,
    cached_aggregates,
)

from .report_history import ANDROID, TRACKS, WEB, star_schema

DIMENSIONS = REPORT_INPUTS[1:]  # the dimensions and album_art, in listening_figures' order
THIRTY_SECONDS, HALF_OR_4MIN = parse_listen_rule("30s"), parse_listen_rule("half_or_4min")


def random_plays(landing_file: str, count: int, seed: int) -> pl.DataFrame:
    """`count` plays of report_history's tracks in its date range, with coarse lengths (many ties)."""
    rng = np.random.default_rng(seed)
    days = star_schema()["dim_date"].select("date_key").collect()["date_key"].to_numpy()
    track_key = rng.choice(list(TRACKS), count)
    frame = pl.DataFrame(
        {
            "play_key": np.arange(count) + seed * 1_000_000,
            "ts_utc": [None] * count,
            "date_key": rng.choice(days, count),
            "hour": rng.integers(0, 24, count),
            "track_key": track_key,
            "artist_key": [TRACKS[key][1] for key in track_key],
            "album_key": [TRACKS[key][2] for key in track_key],
            "platform_key": rng.choice([ANDROID, WEB], count),
            "reason_key": np.zeros(count, dtype=np.int64),
            "ms_played": rng.integers(0, 60, count) * 5_000,
            "shuffle": rng.integers(0, 2, count).astype(bool),
            "skipped": rng.integers(0, 2, count).astype(bool),
            "offline": np.zeros(count, dtype=bool),
            "incognito_mode": np.zeros(count, dtype=bool),
            "content_type": [TRACKS[key][3] for key in track_key],
            "source_file": [f"{landing_file}.json"] * count,
            "source_format": ["extended_json"] * count,
            "landing_file": [landing_file] * count,
        }
    )
    return FACT_STREAMS.conform(frame).collect()


class History:
    """A lake holding the fact in landing-file partitions, report_history's dimensions and a report
    folder's cache, computing the figures both ways."""

    def __init__(self, tmp_path: Path) -> None:
        self.lake = str(tmp_path / "lake")
        self.cache = tmp_path / "reports" / PARTIALS_FOLDER
        self.dimensions = {name: frame for name, frame in star_schema().items() if name in DIMENSIONS}

    def write(self, landing_file: str, count: int, seed: int) -> None:
        write_table(self.lake, FACT_STREAMS, random_plays(landing_file, count, seed), landing_file)

    def cached(self, rule: ListenRule) -> tuple[FactAggregates, ListeningFigures, CacheOutcome]:
        fact = LakeResource(lake_uri=self.lake).current_version(FACT_STREAMS)
        aggregates, outcome = cached_aggregates(fact, self.dimensions["dim_track"], rule, self.cache)
        figures = figures_of_aggregates(aggregates, *self.dimensions.values(), rule=rule, top_n=5)
        return aggregates, figures, outcome

    def full(self, rule: ListenRule) -> tuple[FactAggregates, ListeningFigures]:
        fact = scan_table(self.lake, FACT_STREAMS)
        figures = listening_figures(fact, *self.dimensions.values(), rule=rule, top_n=5)
        return aggregate_fact(fact, self.dimensions["dim_track"], rule), figures

    def assert_equal_to_a_full_pass(self, rule: ListenRule) -> CacheOutcome:
        aggregates, figures, outcome = self.cached(rule)
        full_aggregates, full_figures = self.full(rule)
        for part, full, keys in zip(aggregates, full_aggregates, AGGREGATION_KEYS, strict=True):
            assert_frame_equal(part.sort(keys), full.sort(keys))  # any order, same rows and types
        assert_same_figures(figures, full_figures)
        return outcome

    def entries(self) -> list[Path]:
        return sorted(self.cache.glob("*.partial"))


def assert_same_figures(actual: object, expected: object) -> None:
    """Every field equal, frames in the same row order too (derived figures are deterministic)."""
    assert type(actual) is type(expected)
    for field in dataclasses.fields(actual):  # type: ignore[arg-type]
        left, right = getattr(actual, field.name), getattr(expected, field.name)
        if isinstance(left, pl.DataFrame):
            assert_frame_equal(left, right)
        elif dataclasses.is_dataclass(left):
            assert_same_figures(left, right)
        else:
            assert left == right, field.name


@pytest.fixture
def history(tmp_path) -> History:
    history = History(tmp_path)
    for number in range(3):
        history.write(f"history-{number}", 800, seed=number)
    return history


def test_cold_warm_added_rewritten_and_removed_partitions_equal_a_full_pass(history):
    cold = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (cold.partitions, cold.reused, cold.computed, cold.rows_read) == (3, 0, 3, 2_400)
    assert len(history.entries()) == 3

    warm = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (warm.reused, warm.computed, warm.rows_read, warm.removed) == (3, 0, 0, 0)

    history.write("history-3", 500, seed=3)
    added = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (added.partitions, added.reused, added.computed, added.rows_read) == (4, 3, 1, 500)

    history.write("history-1", 300, seed=11)  # the same landing file's rows rewritten
    rewritten = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (rewritten.reused, rewritten.computed, rewritten.rows_read) == (3, 1, 300)
    assert rewritten.removed == 1 and len(history.entries()) == 4  # the old entry of history-1 is gone

    write_partitions(history.lake, FACT_STREAMS, PartitionedUpdate(removed=("history-0",)))
    removed = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (removed.partitions, removed.computed, removed.removed) == (3, 0, 1)
    assert len(history.entries()) == 3


def test_a_rule_reading_track_lengths_recomputes_when_a_length_changes(history):
    assert history.assert_equal_to_a_full_pass(HALF_OR_4MIN).computed == 3
    assert history.assert_equal_to_a_full_pass(HALF_OR_4MIN).computed == 0
    _, before = history.full(HALF_OR_4MIN)
    dim_track = history.dimensions["dim_track"]
    history.dimensions["dim_track"] = dim_track.with_columns(  # 102 looked up as 4 min; 103 at last
        pl.when(pl.col("track_key") == 102)
        .then(240_000)
        .when(pl.col("track_key") == 103)
        .then(100_000)
        .otherwise(pl.col("duration_ms"))
        .alias("duration_ms")
    )
    changed = history.assert_equal_to_a_full_pass(HALF_OR_4MIN)
    assert (changed.reused, changed.computed, changed.removed) == (0, 3, 3)
    assert history.full(HALF_OR_4MIN)[1].totals["listens"] != before.totals["listens"]
    # a rule that ignores lengths does not read them: its entries outlive a change of lengths
    assert history.assert_equal_to_a_full_pass(THIRTY_SECONDS).computed == 3
    history.dimensions["dim_track"] = dim_track
    assert history.assert_equal_to_a_full_pass(THIRTY_SECONDS).computed == 0


def test_a_damaged_entry_is_computed_again_and_stale_files_are_removed(history):
    history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    truncated, flipped, garbage = history.entries()
    truncated.write_bytes(truncated.read_bytes()[:-100])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    garbage.write_bytes(b"not an entry")
    stray = history.cache / "0123.partial"  # an entry of no current partition
    stray.write_bytes(b"")
    killed = history.cache / "tmpkilled.tmp"  # a temporary file of a run killed long ago
    killed.write_bytes(b"half")
    os.utime(killed, (0, 0))
    running = history.cache / "tmprunning.tmp"  # one being written now
    running.write_bytes(b"half")

    outcome = history.assert_equal_to_a_full_pass(THIRTY_SECONDS)
    assert (outcome.reused, outcome.computed, outcome.damaged, outcome.removed) == (0, 3, 3, 1)
    assert sorted(path.name for path in history.cache.iterdir()) == sorted(
        [*(path.name for path in (truncated, flipped, garbage)), running.name]
    )
    assert history.assert_equal_to_a_full_pass(THIRTY_SECONDS).reused == 3  # the rewritten entries are sound


@pytest.mark.parametrize("rule", [THIRTY_SECONDS, HALF_OR_4MIN], ids=lambda rule: rule.name)
def test_an_empty_fact_and_an_empty_partition(tmp_path, rule):
    history = History(tmp_path)
    never_written = history.assert_equal_to_a_full_pass(rule)
    assert (never_written.partitions, never_written.computed) == (0, 0)
    assert history.cached(rule)[1].totals["plays"] == 0

    write_table(history.lake, FACT_STREAMS, FACT_STREAMS.empty(), "empty")
    empty = history.assert_equal_to_a_full_pass(rule)
    assert (empty.partitions, empty.computed, empty.rows_read) == (1, 1, 0)
    assert history.assert_equal_to_a_full_pass(rule).reused == 1

    history.write("history-0", 50, seed=5)
    assert history.assert_equal_to_a_full_pass(rule).computed == 1


def test_the_asset_reads_only_changed_landing_files_and_deleting_the_cache_changes_nothing(tmp_path):
    lake, reports = str(tmp_path / "lake"), tmp_path / "reports"
    for name, frame in star_schema().items():
        if name != FACT_STREAMS.name:
            write_table(lake, TABLES[name], frame)
    for number in range(2):
        write_table(lake, FACT_STREAMS, random_plays(f"history-{number}", 200, number), f"history-{number}")
    resources = {
        "lake_io_manager": DeltaLakeIOManager(lake_uri=lake),
        "lake": LakeResource(lake_uri=lake),
        "report_folder": ReportFolder(path=str(reports), listen_rule="half_or_4min"),
    }

    def run() -> tuple[dict, str]:
        result = dg.materialize(
            [listening_report, *(dg.AssetSpec(name) for name in REPORT_INPUTS)], resources=resources
        )
        metadata = result.asset_materializations_for_node("listening_report")[0].metadata
        page = (reports / "listening_report.html").read_text(encoding="utf-8")
        return {
            name: metadata[name].value for name in ("landing_files_aggregated", "plays_read", "listens")
        }, page

    cold, cold_page = run()
    assert cold == {"landing_files_aggregated": 2, "plays_read": 400, "listens": cold["listens"]}
    warm, warm_page = run()
    assert warm == {**cold, "landing_files_aggregated": 0, "plays_read": 0}
    for entry in (reports / PARTIALS_FOLDER).iterdir():
        entry.unlink()
    again, again_page = run()
    assert again == cold
    assert "Generated " in cold_page  # the pages differ only in when they were generated
    assert _without_time(cold_page) == _without_time(warm_page) == _without_time(again_page)


def _without_time(page: str) -> str:
    return re.sub(r"Generated [^<]* by spotify-assets", "", page)
