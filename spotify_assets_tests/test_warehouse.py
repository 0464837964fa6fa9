"""The warehouse against real servers: an embedded SQLite file and the MariaDB at 127.0.0.1:3306."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets.io_managers.delta import scan_table
from spotify_assets.io_managers.warehouse import WarehouseIOManager
from spotify_assets.resources.warehouse import BI_VIEWS, Warehouse, WarehouseError, table_stats
from spotify_assets.resources.warehouse.sqlite import SORTER_THREADS
from spotify_assets.tables import DIM_ARTIST, FACT_STREAMS, REJECTED_PLAYS, WAREHOUSE_TABLES

from .mysql_fixtures import mysql_database_url  # noqa: F401  (fixture)
from .warehouse_data import FACT_ROWS, lake_frame, publish_graph, write_lake

FULL_RECONCILE = {"ops": {"warehouse_reconcile_with_lake": {"config": {"full": True}}}}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.asset_key.path[-1]: evaluation for evaluation in result.get_asset_check_evaluations()}


def table_snapshot(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    return {spec.name: warehouse.read(spec).sort(spec.primary_key) for spec in WAREHOUSE_TABLES}


def schema_snapshot(warehouse: Warehouse) -> list[tuple]:
    if warehouse.dialect == "sqlite":
        return warehouse.query("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    tables = [row[0] for row in warehouse.query("SHOW FULL TABLES")]
    return [warehouse.query(f"SHOW CREATE TABLE `{table}`")[0] for table in sorted(tables)]


MYSQL = pytest.param("mysql", marks=pytest.mark.mysql)
DIALECTS = ["sqlite", MYSQL]
mysql_only = pytest.mark.parametrize("published", [MYSQL], indirect=True)


@pytest.fixture(scope="module", params=DIALECTS)
def published(request, tmp_path_factory) -> tuple[str, str, dg.ExecuteInProcessResult]:
    """(lake URI, warehouse URL, result of the first publish of the whole graph)."""
    root = tmp_path_factory.mktemp(f"warehouse-{request.param}")
    lake_uri = str(root / "lake")
    url = (
        f"sqlite:///{root}/warehouse.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("mysql_database_url")
    )
    write_lake(lake_uri)
    return lake_uri, url, publish_graph(lake_uri, url)


def test_every_table_lands_byte_exact(published):
    lake_uri, url, result = published
    assert result.success
    warehouse = Warehouse(url=url)
    io_manager = WarehouseIOManager(warehouse=warehouse)
    for spec in WAREHOUSE_TABLES:
        loaded = io_manager.load_input(
            dg.build_input_context(asset_key=dg.AssetKey(["warehouse", spec.name]))
        )
        assert_frame_equal(loaded.sort(spec.primary_key), lake_frame(lake_uri, spec))
    names = set(warehouse.read(DIM_ARTIST)["artist_name"])
    assert {"坂本龍一", "🎸 Emoji Band 😀", "Tab\there", "New\nline\r\nCRLF", "Back\\slash \\N \\t"} <= names
    materializations = {
        event.asset_key.path[-1]: event
        for event in result.asset_materializations_for_node("warehouse_publish")
    }
    assert set(materializations) == {spec.name for spec in WAREHOUSE_TABLES} | set(BI_VIEWS)
    fact = materializations["fact_streams"].metadata
    assert (fact["dagster/row_count"].value, fact["action"].value, fact["rows_written"].value) == (
        FACT_ROWS,
        "full",
        FACT_ROWS,
    )
    assert "://" in fact["dagster/uri"].value
    assert materializations["v_streams"].metadata["view"].value == "created"
    warehouse.close()


@mysql_only
def test_mysql_uses_real_types_keys_and_unicode_collations(published):
    _, url, _ = published
    warehouse = Warehouse(url=url)
    ddl = dict(warehouse.query("SHOW CREATE TABLE fact_streams")[0:1])["fact_streams"]
    assert "`ts_utc` datetime(6) NOT NULL" in ddl and "`shuffle` tinyint(1) NOT NULL" in ddl
    assert ddl.count("FOREIGN KEY") == 6 and "REFERENCES `dim_date` (`date_key`)" in ddl
    assert "KEY `ix_date_key` (`date_key`)" in ddl and "utf8mb4_uca1400_as_ci" in ddl
    rejected = dict(warehouse.query("SHOW CREATE TABLE rejected_plays"))["rejected_plays"]
    assert "`source_file` varchar(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL" in rejected
    # a partitioned table's landing_file compares byte-wise too: partitions are deleted by it
    album_art = dict(warehouse.query("SHOW CREATE TABLE album_art"))["album_art"]
    assert "`landing_file` varchar(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL" in album_art
    assert warehouse.query("SELECT date FROM dim_date WHERE date_key = 20240101")[0][0] == date(2024, 1, 1)
    warehouse.close()


def test_bi_views_sum_to_the_fact(published):
    _, url, _ = published
    warehouse = Warehouse(url=url)
    assert warehouse.query("SELECT COUNT(*), COUNT(artist_name), COUNT(local_date) FROM v_streams")[0] == (
        FACT_ROWS,
        FACT_ROWS,
        FACT_ROWS,
    )
    total_minutes = sum(range(FACT_ROWS)) / 60 + FACT_ROWS * 501 / 60_000
    for view in ("v_minutes_by_month", "v_top_artists", "v_listening_by_weekday_hour"):
        plays, minutes = warehouse.query(f"SELECT SUM(plays), SUM(minutes_played) FROM {view}")[0]
        assert int(plays) == FACT_ROWS
        assert float(minutes) == pytest.approx(total_minutes, abs=0.1 * 200)
    assert warehouse.query("SELECT artist_rank FROM v_top_artists ORDER BY artist_rank LIMIT 1")[0][0] == 1
    assert set(BI_VIEWS) <= {
        row[0]
        for row in warehouse.query(
            "SELECT name FROM sqlite_master WHERE type = 'view'"
            if warehouse.dialect == "sqlite"
            else "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()"
        )
    }
    warehouse.close()


def test_reconcile_passes_then_fails_on_tampered_data_then_repair(published):
    lake_uri, url, result = published
    assert all(evaluation.passed for evaluation in check_results(result).values())
    assert len(check_results(result)) == len(WAREHOUSE_TABLES)
    warehouse = Warehouse(url=url)
    warehouse.query("UPDATE fact_streams SET ms_played = ms_played + 1 WHERE hour = 3")
    warehouse.query("DELETE FROM rejected_plays WHERE source_line = 4")
    if warehouse.dialect == "mysql":
        warehouse.query("SET foreign_key_checks = 0")
    warehouse.query("UPDATE dim_artist SET artist_key = artist_key + 1 WHERE artist_name = 'NULL'")
    warehouse.close()

    # rows edited behind the publisher's back in verified partitions: only a full reconcile sees them
    checks_only = publish_graph(
        lake_uri, url, selection=dg.AssetSelection.all_asset_checks(), run_config=FULL_RECONCILE
    )
    evaluations = check_results(checks_only)
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == {
        "fact_streams",
        "rejected_plays",
        "dim_artist",
    }
    assert all(evaluation.severity == dg.AssetCheckSeverity.ERROR for evaluation in evaluations.values())
    assert "SUM(ms_played)" in evaluations["fact_streams"].metadata["mismatch"].value
    assert "row count: lake 6, warehouse 5" in evaluations["rejected_plays"].metadata["mismatch"].value
    assert "key checksum" in evaluations["dim_artist"].metadata["mismatch"].value

    repaired = publish_graph(lake_uri, url)
    assert all(evaluation.passed for evaluation in check_results(repaired).values())


def test_republishing_the_same_lake_changes_nothing(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    before, ddl_before = table_snapshot(warehouse), schema_snapshot(warehouse)
    again = publish_graph(lake_uri, url)
    materializations = [event.materialization for event in again.get_asset_materialization_events()]
    actions = {
        materialization.asset_key.path[-1]: materialization.metadata["action"].value
        for materialization in materializations
        if "action" in materialization.metadata
    }
    assert actions == {spec.name: "unchanged" for spec in WAREHOUSE_TABLES}
    assert all(evaluation.passed for evaluation in check_results(again).values())
    after, ddl_after = table_snapshot(warehouse), schema_snapshot(warehouse)
    for name in before:
        assert_frame_equal(before[name], after[name])
    assert ddl_before == ddl_after
    assert not [row for row in ddl_after if "__staging" in str(row[:2]) or "__retired" in str(row[:2])]
    warehouse.close()


def test_table_stats_agree_between_polars_and_sql(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    for spec in WAREHOUSE_TABLES:
        assert table_stats(spec, scan_table(lake_uri, spec)) == warehouse.table_stats(spec)
    warehouse.close()


def test_a_load_with_duplicate_keys_fails_and_keeps_the_live_table(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    artists = lake_frame(lake_uri, DIM_ARTIST)
    expected = (
        "loaded 12 of 13 rows; warnings: Warning 1062: Duplicate entry"
        if warehouse.dialect == "mysql"
        else "UNIQUE constraint failed: dim_artist.artist_key"
    )
    with pytest.raises(WarehouseError, match=expected):
        warehouse.replace_table(DIM_ARTIST, pl.concat([artists, artists.head(1)]))
    assert_frame_equal(warehouse.read(DIM_ARTIST).sort("artist_key"), artists)
    warehouse.close()


@mysql_only
def test_a_fact_row_without_its_dimension_row_is_refused(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    facts = lake_frame(lake_uri, FACT_STREAMS)
    orphan = facts.head(1).with_columns(play_key=pl.lit(1, pl.Int64), track_key=pl.lit(42, pl.Int64))
    with pytest.raises(
        WarehouseError, match=r"fact_streams\.track_key: 1 distinct values missing from dim_track"
    ):
        warehouse.replace_table(FACT_STREAMS, pl.concat([facts, orphan]))
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts)
    warehouse.close()


@mysql_only
def test_refused_local_infile_falls_back_to_insert_batches(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url, local_infile=False, batch_size=50)
    facts = lake_frame(lake_uri, FACT_STREAMS)
    result = warehouse.replace_table(FACT_STREAMS, facts)
    assert (result.load_method, result.row_count) == ("insert_batches", FACT_ROWS)
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts)
    warehouse.close()


@pytest.mark.mysql
def test_wrong_password_names_the_masked_url(mysql_database_url):  # noqa: F811
    host_and_db = mysql_database_url.split("@", 1)[1]
    warehouse = Warehouse(url=f"mysql://root:Sup3r-Secret@{host_and_db}", connect_timeout=5)
    with pytest.raises(WarehouseError) as raised:
        warehouse.replace_table(DIM_ARTIST, DIM_ARTIST.empty())
    message = str(raised.value)
    assert "access denied" in message and f"mysql://root:***@{host_and_db}" in message
    assert "Sup3r-Secret" not in message and raised.value.__cause__ is None


KILL_SCRIPT = textwrap.dedent("""
    import sys
    import polars as pl
    from spotify_assets.resources.warehouse import Warehouse
    from spotify_assets.tables import REJECTED_PLAYS
    rows = int(sys.argv[2])
    frame = pl.DataFrame({"source_line": pl.int_range(rows, eager=True)}).with_columns(
        landing_file=pl.lit("big"), source_file=pl.lit("big.csv"), reason=pl.lit("bad_timestamp"),
        detail=pl.lit("ts is not a timestamp"), raw_text=pl.lit("x" * 200))
    Warehouse(url=sys.argv[1]).replace_table(REJECTED_PLAYS, frame)
""")


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_half_way_keeps_the_old_version_and_the_next_run_repairs(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    old_version = lake_frame(lake_uri, REJECTED_PLAYS)
    loader = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, url, "1000000"],
        cwd=Path(__file__).parents[1],
        env=os.environ.copy(),
    )
    try:
        if warehouse.dialect == "mysql":
            wait_until(
                lambda: warehouse.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%'"
                )[0][0]
            )
        else:
            wal = Path(url.removeprefix("sqlite:///") + "-wal")
            wait_until(lambda: wal.exists() and wal.stat().st_size > 8_000_000)
    finally:
        loader.send_signal(signal.SIGKILL)
        loader.wait()
    assert loader.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    assert_frame_equal(warehouse.read(REJECTED_PLAYS).sort(REJECTED_PLAYS.primary_key), old_version)

    repaired = publish_graph(lake_uri, url)
    assert all(evaluation.passed for evaluation in check_results(repaired).values())
    assert_frame_equal(warehouse.read(REJECTED_PLAYS).sort(REJECTED_PLAYS.primary_key), old_version)
    if warehouse.dialect == "mysql":
        assert not warehouse.query("SHOW TABLES LIKE 'rejected\\_plays\\_\\_%'")
    warehouse.close()


def test_a_first_sqlite_publish_killed_half_way_leaves_no_table_and_the_next_one_ends_in_wal_mode(tmp_path):
    """A first publish (no table yet) writes in rollback-journal mode: the database file itself grows
    while it loads (in WAL mode only the -wal would), and a kill rolls it back to the empty file."""
    path = tmp_path / "warehouse.sqlite"
    url = f"sqlite:///{path}"
    loader = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, url, "1000000"],
        cwd=Path(__file__).parents[1],
        env=os.environ.copy(),
    )
    try:
        wait_until(lambda: path.exists() and path.stat().st_size > 8_000_000)
    finally:
        loader.send_signal(signal.SIGKILL)
        loader.wait()
    assert loader.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    assert not Path(f"{path}-wal").exists()
    warehouse = Warehouse(url=url)
    assert warehouse.query("SELECT name FROM sqlite_master") == []

    rows = REJECTED_PLAYS.conform(
        pl.DataFrame({"source_line": [3, 1, 2]}).with_columns(
            landing_file=pl.lit("small"),
            source_file=pl.lit("small.csv"),
            reason=pl.lit("bad_timestamp"),
            detail=pl.lit("ts is not a timestamp"),
            raw_text=pl.lit("x"),
        )
    ).collect()
    warehouse.replace_table(REJECTED_PLAYS, rows)
    assert warehouse.query("PRAGMA journal_mode") == [("wal",)]
    assert_frame_equal(warehouse.read(REJECTED_PLAYS).sort("source_line"), rows.sort("source_line"))
    # the publishing connection sorts index builds with helper threads (SQLite's default is none)
    assert warehouse.backend._pragma("threads") == SORTER_THREADS > 0
    warehouse.close()


def test_the_settings_accept_exactly_the_warehouse_dialects():
    """Settings check SPOTIFY_WAREHOUSE_URL's scheme up front against the dialects the warehouse has."""
    from spotify_assets.resources.warehouse.core import DIALECTS
    from spotify_assets.settings import WAREHOUSE_SCHEMES, warehouse_scheme

    assert set(WAREHOUSE_SCHEMES) == set(DIALECTS)
    assert warehouse_scheme("mysql+pymysql://root@127.0.0.1:3306/x") == "mysql"
    assert warehouse_scheme("sqlite:///data/warehouse.sqlite") == "sqlite"
    with pytest.raises(WarehouseError, match=r"expected a sqlite:/// or mysql:// URL"):
        Warehouse(url="postgres://me@db/x").dialect  # noqa: B018  (the property raises)
