"""What a publish decides to write: lake markers from real Delta tables, and the plan per table."""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets.io_managers.delta import write_table
from spotify_assets.resources.warehouse import LakeTable, read_lake_table
from spotify_assets.resources.warehouse.plan import (
    PublishedTable,
    parents_first,
    plan_table,
    whole_tables_when_any_full,
)
from spotify_assets.tables import DIM_ARTIST, WAREHOUSE_TABLES

from .warehouse_data import LANDING_FILES, PARTITIONED_FACT, sample_lake

FILES = (*LANDING_FILES, "endsong_1-4d5e6f")


def write_facts(lake_uri: str) -> pl.DataFrame:
    facts = sample_lake()["fact_streams"]
    for number, landing_file in enumerate(FILES):
        write_table(
            lake_uri, PARTITIONED_FACT, facts.filter(pl.int_range(pl.len()) % 3 == number), landing_file
        )
    return facts


def test_a_rewritten_partition_changes_only_its_marker_and_rows_come_from_the_pinned_version(tmp_path):
    lake_uri = str(tmp_path)
    write_facts(lake_uri)
    before = read_lake_table(lake_uri, PARTITIONED_FACT)
    assert set(before.markers) == set(FILES) and before.row_counts == dict.fromkeys(FILES, 80)

    rows = before.scan([FILES[1]]).collect()
    write_table(lake_uri, PARTITIONED_FACT, rows.head(50), FILES[1])  # the model replaces that partition
    after = read_lake_table(lake_uri, PARTITIONED_FACT)
    assert after.version == before.version + 1
    assert {name for name in FILES if after.markers[name] != before.markers[name]} == {FILES[1]}
    assert after.marker != before.marker and after.row_counts[FILES[1]] == 50

    assert before.scan([FILES[1]]).collect().height == 80  # still the version the markers describe
    assert after.scan([FILES[1]]).collect().height == 50
    assert set(after.scan([FILES[0]]).collect()["landing_file"]) == {FILES[0]}
    pinned = read_lake_table(lake_uri, PARTITIONED_FACT, before.version)
    assert pinned.markers == before.markers
    assert_frame_equal(pinned.scan().collect().sort("play_key"), before.scan().collect().sort("play_key"))


def test_the_same_rows_written_again_are_a_new_marker(tmp_path):
    lake_uri = str(tmp_path)
    write_table(lake_uri, DIM_ARTIST, sample_lake()["dim_artist"])
    first = read_lake_table(lake_uri, DIM_ARTIST)
    assert list(first.markers) == [""] and first.row_count == 12
    assert read_lake_table(lake_uri, DIM_ARTIST).marker == first.marker  # reading changes nothing
    write_table(lake_uri, DIM_ARTIST, sample_lake()["dim_artist"])
    assert read_lake_table(lake_uri, DIM_ARTIST).marker != first.marker


@pytest.mark.parametrize("spec", [PARTITIONED_FACT, DIM_ARTIST], ids=["partitioned", "unpartitioned"])
def test_a_table_never_written_is_empty(tmp_path, spec):
    table = read_lake_table(str(tmp_path), spec)
    assert table.version is None and table.row_count == 0
    assert table.scan().collect().schema == spec.polars_schema()
    assert table.marker == read_lake_table(str(tmp_path), spec).marker


def lake(markers: dict[str, str], counts: dict[str, int], spec=PARTITIONED_FACT) -> LakeTable:
    return LakeTable(spec, 3, markers, counts)


def published(table: LakeTable, ddl: str = "ddl", **partitions: str) -> PublishedTable:
    return PublishedTable(
        ddl, table.marker, table.version, table.row_count, partitions or dict(table.markers)
    )


def decide(table: LakeTable, state: PublishedTable | None, *, live=True, full_refresh=False, limit=1_000):
    return plan_table(table, state, "ddl", live=live, full_refresh=full_refresh, row_diff_limit=limit)


def test_the_plan_per_table():
    now = lake({"a": "1", "b": "2", "c": "3"}, {"a": 10, "b": 10, "c": 10})
    state = published(now)
    assert decide(now, state).action == "unchanged"
    assert (decide(now, None).action, decide(now, None).reason) == ("full", "first publish")
    assert decide(now, state, live=False).action == "full"
    assert decide(now, state, full_refresh=True).action == "full"
    assert decide(now, PublishedTable("old", state.marker, 3, 30, state.partitions)).action == "full"

    changed = lake({"a": "1", "b": "2b", "d": "4"}, {"a": 10, "b": 10, "d": 5})
    plan = decide(changed, state)
    assert (plan.action, plan.reload, plan.drop) == ("partitions", ("b", "d"), ("c",))

    big = lake({"a": "1", "b": "2b"}, {"a": 100_000, "b": 200_000})
    assert decide(big, published(lake({"a": "1", "b": "2"}, {"a": 100_000, "b": 200_000}))).action == "full"

    artists = lake({"": "x"}, {"": 500}, DIM_ARTIST)
    moved = lake({"": "y"}, {"": 500}, DIM_ARTIST)
    assert decide(moved, published(artists)).action == "rows"
    assert decide(moved, published(artists), limit=499).action == "full"


def test_a_whole_table_swap_takes_every_changed_table_with_it():
    plans = [
        decide(lake({"a": "2"}, {"a": 1}), published(lake({"a": "1"}, {"a": 1}))),
        decide(lake({"a": "1"}, {"a": 1}), None),
        decide(lake({"a": "1"}, {"a": 1}), published(lake({"a": "1"}, {"a": 1}))),
    ]
    assert [plan.action for plan in plans] == ["partitions", "full", "unchanged"]
    assert [plan.action for plan in whole_tables_when_any_full(plans)] == ["full", "full", "unchanged"]
    assert whole_tables_when_any_full([plans[0], plans[2]]) == [plans[0], plans[2]]


def test_parents_come_before_the_tables_that_reference_them():
    shuffled = list(WAREHOUSE_TABLES)
    random.Random(7).shuffle(shuffled)
    order = [spec.name for spec in parents_first(shuffled)]
    for spec in WAREHOUSE_TABLES:
        for parent in spec.foreign_keys.values():
            assert order.index(parent) < order.index(spec.name), (parent, spec.name)
