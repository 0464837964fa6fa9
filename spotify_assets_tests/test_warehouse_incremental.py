"""Incremental publishes against real SQLite files and the MariaDB at 127.0.0.1:3306.

The lake is written with the project's Delta writer and fact_streams partitioned by landing_file,
as the model will write it (warehouse_data.PARTITIONED_TABLES). After every publish the warehouse
must equal the lake table by table, and the publish report must say it wrote only what changed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from spotify_assets.io_managers.delta import table_uri, write_table
from spotify_assets.resources.warehouse import (
    BI_VIEWS,
    PublishReport,
    PublishRequest,
    Warehouse,
    WarehouseError,
    read_lake_table,
)
from spotify_assets.tables import DIM_ALBUM, DIM_ARTIST, DIM_TRACK, TableSpec

from .mysql_fixtures import fresh_mysql_url  # noqa: F401  (fixture)
from .warehouse_data import (
    LANDING_FILES,
    NEW_FILE,
    PARTITIONED_FACT,
    PARTITIONED_TABLES,
    add_new_file,
    lake_frame,
    sample_lake,
    write_lake,
)

TABLES_BY_NAME = {spec.name: spec for spec in PARTITIONED_TABLES}
WRITE_VERBS = (
    "insert",
    "update",
    "delete",
    "replace",
    "load",
    "create",
    "drop",
    "alter",
    "rename",
    "truncate",
)


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def setup(request, tmp_path) -> tuple[str, Warehouse]:
    """(lake URI, warehouse) with the sample lake written, nothing published yet."""
    url = (
        f"sqlite:///{tmp_path}/warehouse.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_mysql_url")
    )
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri, PARTITIONED_TABLES)
    warehouse = Warehouse(url=url)
    yield lake_uri, warehouse
    warehouse.close()


def publish(
    lake_uri: str, warehouse: Warehouse, specs: tuple[TableSpec, ...] = PARTITIONED_TABLES, **options
) -> PublishReport:
    return warehouse.publish(
        PublishRequest(
            tables=tuple(read_lake_table(lake_uri, spec) for spec in specs), views=BI_VIEWS, **options
        )
    )


def assert_equals_lake(
    lake_uri: str, warehouse: Warehouse, specs: tuple[TableSpec, ...] = PARTITIONED_TABLES
):
    for spec in specs:
        assert_frame_equal(warehouse.read(spec).sort(spec.primary_key), lake_frame(lake_uri, spec))
    assert (
        warehouse.query("SELECT COUNT(*) FROM v_streams")[0][0]
        == lake_frame(lake_uri, PARTITIONED_FACT).height
    )


def written(report: PublishReport) -> dict[str, tuple[str, int, int]]:
    """table -> (action, rows written, rows deleted), for the tables the publish touched."""
    return {
        name: (outcome.action, outcome.rows_written, outcome.rows_deleted)
        for name, outcome in report.tables.items()
        if outcome.action != "unchanged"
    }


class WriteWatch:
    """Evidence of writes: SQLite's data_version and file stamps seen from another connection;
    MySQL's per-statement counters of the warehouse's own session."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        if warehouse.dialect == "sqlite":
            self.path = Path(warehouse.url.removeprefix("sqlite:///"))
            self.observer = sqlite3.connect(self.path)
            # its own first read opens the WAL (creating an empty -wal file): not the publish's write
            self.observer.execute("PRAGMA data_version").fetchone()

    def snapshot(self) -> dict[str, int]:
        if self.warehouse.dialect == "sqlite":
            stamps = {
                f"{path.name} {field}": getattr(path.stat(), field)
                for path in (self.path, self.path.with_name(self.path.name + "-wal"))
                if path.exists()
                for field in ("st_size", "st_mtime_ns")
            }
            return {"data_version": self.observer.execute("PRAGMA data_version").fetchone()[0], **stamps}
        return {
            name: int(value)
            for name, value in self.warehouse.query("SHOW SESSION STATUS LIKE 'Com\\_%'")
            if name.removeprefix("Com_").startswith(WRITE_VERBS) or name in ("Com_begin", "Com_commit")
        }

    def changes(self, before: dict[str, int]) -> dict[str, int]:
        after = self.snapshot()
        return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name)}


def test_a_new_file_writes_only_its_rows_and_the_new_dimension_rows(setup):
    lake_uri, warehouse = setup
    first = publish(lake_uri, warehouse)
    assert {outcome.action for outcome in first.tables.values()} == {"full"}
    assert_equals_lake(lake_uri, warehouse)
    watch = WriteWatch(warehouse)
    before = watch.snapshot()

    add_new_file(lake_uri, sample_lake())
    report = publish(lake_uri, warehouse)
    assert written(report) == {
        "dim_artist": ("rows", 1, 0),
        "dim_album": ("rows", 1, 0),
        "dim_recording": ("rows", 1, 0),
        "dim_track": ("rows", 1, 0),
        "dim_date": ("rows", 1, 0),
        "fact_streams": ("partitions", 10, 0),
    }
    assert report.tables["fact_streams"].partitions_reloaded == 1
    assert set(report.views.values()) == {"unchanged"}
    assert_equals_lake(lake_uri, warehouse)
    if warehouse.dialect == "mysql":  # all of it in one transaction
        changes = watch.changes(before)
        assert (changes["Com_begin"], changes["Com_commit"]) == (1, 1)
    markers = dict(
        warehouse.query(
            "SELECT landing_file, marker FROM publish_partitions WHERE table_name = 'fact_streams'"
        )
    )
    assert set(markers) == {*LANDING_FILES, NEW_FILE}
    assert markers == dict(read_lake_table(lake_uri, PARTITIONED_FACT).markers)


def test_nothing_changed_writes_nothing(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    watch = WriteWatch(warehouse)
    before = watch.snapshot()
    report = publish(lake_uri, warehouse)
    assert not report.wrote and {outcome.action for outcome in report.tables.values()} == {"unchanged"}
    assert watch.changes(before) == {}
    assert_equals_lake(lake_uri, warehouse)


def test_a_rewritten_partition_and_changed_dimensions_replace_exactly_what_changed(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    data = sample_lake()
    # Artist 2 is heard only in landing file 0 (artist i's plays all sit in partition i % 2):
    # the rewrite of that partition drops its plays, so its artist, album, tracks and cover go.
    gone_artist = data["dim_artist"]["artist_key"][2]
    gone_album = data["dim_album"].filter(pl.col("artist_key") == gone_artist)["album_key"]
    data["dim_artist"] = (
        data["dim_artist"]
        .filter(pl.col("artist_key") != gone_artist)
        .with_columns(artist_name=pl.col("artist_name").str.replace("^Beyoncé$", "BEYONCÉ"))
    )  # a change of case only
    gone_tracks = data["dim_track"].filter(pl.col("artist_key") == gone_artist)["track_key"]
    for name in ("dim_album", "dim_track", "dim_recording"):
        data[name] = data[name].filter(pl.col("artist_key") != gone_artist)
    data["track_resolution"] = data["track_resolution"].filter(~pl.col("track_key").is_in(gone_tracks))
    kept = data["fact_streams"].filter(pl.int_range(pl.len()) % 2 == 0, pl.col("artist_key") != gone_artist)
    facts = pl.concat(
        [
            kept.with_columns(
                ms_played=pl.when(pl.col("hour") == 6).then(pl.col("ms_played") + 1).otherwise("ms_played")
            ),
            kept.head(2).with_columns(play_key=pl.int_range(2) + 9_000_000),
        ]
    )
    art = data["album_art"].filter(pl.int_range(pl.len()) % 2 == 0, ~pl.col("album_key").is_in(gone_album))
    for spec in (
        DIM_ARTIST,
        DIM_ALBUM,
        TABLES_BY_NAME["dim_recording"],
        DIM_TRACK,
        TABLES_BY_NAME["track_resolution"],
    ):
        write_table(lake_uri, spec, data[spec.name])
    write_table(lake_uri, PARTITIONED_FACT, facts, LANDING_FILES[0])
    write_table(lake_uri, TABLES_BY_NAME["album_art"], art, LANDING_FILES[0])

    report = publish(lake_uri, warehouse)
    assert written(report) == {
        "dim_artist": ("rows", 1, 1),
        "dim_album": ("rows", 0, 1),
        "dim_recording": ("rows", 0, 3),
        "dim_track": ("rows", 0, 3),
        "fact_streams": ("partitions", facts.height, 120),
        "album_art": ("partitions", 5, 6),
        "track_resolution": ("rows", 0, 1),
    }
    assert_equals_lake(lake_uri, warehouse)
    assert "BEYONCÉ" in set(warehouse.read(DIM_ARTIST)["artist_name"])


def test_a_partition_gone_from_the_lake_is_deleted(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    rejected = TABLES_BY_NAME["rejected_plays"]
    DeltaTable(table_uri(lake_uri, rejected.name)).delete(f"landing_file = '{LANDING_FILES[1]}'")
    report = publish(lake_uri, warehouse)
    assert written(report) == {"rejected_plays": ("partitions", 0, 3)}
    assert report.tables["rejected_plays"].partitions_dropped == 1
    assert_equals_lake(lake_uri, warehouse)
    assert warehouse.query(
        "SELECT landing_file FROM publish_partitions WHERE table_name = 'rejected_plays'"
    ) == [(LANDING_FILES[0],)]


def test_a_failing_publish_changes_no_table_and_the_next_one_completes(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    before = {spec.name: warehouse.read(spec).sort(spec.primary_key) for spec in PARTITIONED_TABLES}
    bookkeeping = warehouse.query("SELECT * FROM publish_partitions ORDER BY table_name, landing_file")
    data = sample_lake()
    facts = add_new_file(lake_uri, data)
    # the model's bug to survive: a play already counted in landing file 1 counted again
    taken = lake_frame(lake_uri, PARTITIONED_FACT).filter(pl.col("landing_file") == LANDING_FILES[1])[
        "play_key"
    ][0]
    write_table(lake_uri, PARTITIONED_FACT, facts.with_columns(play_key=pl.lit(taken)).head(1), NEW_FILE)

    with pytest.raises(WarehouseError, match=r"^fact_streams: .*(UNIQUE constraint|Duplicate entry)"):
        publish(lake_uri, warehouse)
    for spec in PARTITIONED_TABLES:  # the dimension rows upserted before the failure rolled back too
        assert_frame_equal(warehouse.read(spec).sort(spec.primary_key), before[spec.name])
    assert (
        warehouse.query("SELECT * FROM publish_partitions ORDER BY table_name, landing_file") == bookkeeping
    )

    write_table(lake_uri, PARTITIONED_FACT, facts, NEW_FILE)
    report = publish(lake_uri, warehouse)
    assert written(report)["fact_streams"] == ("partitions", 10, 0)
    assert_equals_lake(lake_uri, warehouse)


def test_an_empty_lake_publishes_empty_tables_then_grows_incrementally(tmp_path, setup):
    _, warehouse = setup
    empty_lake = str(tmp_path / "empty_lake")
    first = publish(empty_lake, warehouse)
    assert {outcome.row_count for outcome in first.tables.values()} == {0}
    assert_equals_lake(empty_lake, warehouse)
    assert warehouse.query("SELECT COUNT(*) FROM v_minutes_by_month") == [(0,)]
    watch = WriteWatch(warehouse)
    before = watch.snapshot()
    assert not publish(empty_lake, warehouse).wrote
    assert watch.changes(before) == {}

    write_lake(empty_lake, PARTITIONED_TABLES)
    report = publish(empty_lake, warehouse)
    assert {outcome.action for outcome in report.tables.values()} == {"rows", "partitions"}
    assert_equals_lake(empty_lake, warehouse)


def test_a_missing_table_a_full_refresh_and_a_changed_spec_replace_whole(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    warehouse.query("DROP TABLE rejected_plays")
    add_new_file(lake_uri, sample_lake())
    report = publish(lake_uri, warehouse)
    assert report.tables["rejected_plays"].action == "full"
    assert "missing" in report.tables["rejected_plays"].reason
    # MySQL swaps whole tables outside the transaction: every changed table then goes whole
    expected = "full" if warehouse.dialect == "mysql" else "partitions"
    assert report.tables["fact_streams"].action == expected
    assert_equals_lake(lake_uri, warehouse)

    refreshed = publish(lake_uri, warehouse, full_refresh=True)
    assert {outcome.action for outcome in refreshed.tables.values()} == {"full"}
    assert set(refreshed.views.values()) == {"created"}
    assert_equals_lake(lake_uri, warehouse)

    # a spec whose DDL differs (here: fact_streams as it was before the model partitioned it,
    # without the landing_file index) is replaced whole
    before = tuple(
        replace(spec, partitioned=False) if spec.partitioned and spec.name == "fact_streams" else spec
        for spec in PARTITIONED_TABLES
    )
    unpartitioned = publish(lake_uri, warehouse, before)
    assert written(unpartitioned) == {
        "fact_streams": ("full", lake_frame(lake_uri, PARTITIONED_FACT).height, 0)
    }
    assert "DDL" in unpartitioned.tables["fact_streams"].reason


def test_an_unpartitioned_table_too_big_to_compare_is_replaced_whole(setup):
    lake_uri, warehouse = setup
    publish(lake_uri, warehouse)
    small = Warehouse(url=warehouse.url, row_diff_limit=20)
    add_new_file(lake_uri, sample_lake())
    report = publish(lake_uri, small)
    assert report.tables["dim_track"].action == "full"  # 37 rows
    assert "too many to compare" in report.tables["dim_track"].reason
    # 13 rows: compared, unless MySQL replaces every changed table with the whole one
    assert report.tables["dim_artist"].action == ("full" if small.dialect == "mysql" else "rows")
    assert_equals_lake(lake_uri, small)
    small.close()
