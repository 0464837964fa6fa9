"""The warehouse against real servers: an embedded SQLite file and the MariaDB at 127.0.0.1:3306."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets.assets.publish import warehouse_assets, warehouse_checks
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.io_managers.warehouse import WarehouseIOManager
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.warehouse import BI_VIEWS, Warehouse, WarehouseError, table_stats
from spotify_assets.tables import (
    DIM_ARTIST, FACT_STREAMS, REJECTED_PLAYS, WAREHOUSE_TABLES, TableSpec,
)
from spotify_assets.transforms.keys import stable_key_of

from .mysql_fixtures import mysql_database_url  # noqa: F401  (fixture)

NASTY_NAMES = [
    "Beyoncé", "Beyonce", "坂本龍一", "🎸 Emoji Band 😀", 'Quote "Q" O\'Brien', "Back\\slash \\N \\t",
    "Tab\there", "New\nline\r\nCRLF", " padded ", "NULL", "Zoë Ångström", "👩🏽‍🎤 ZWJ",
]
LANDING_FILES = ("endsong_0-1a2b3c", "Streaming_History_Audio_2024-9f8e7d")
FACT_ROWS = 240


def sample_lake() -> dict[str, pl.DataFrame]:
    """A small star schema whose text exercises every escaping and collation trap."""
    artists = pl.DataFrame({
        "artist_key": [stable_key_of(name.strip().lower()) for name in NASTY_NAMES],
        "artist_name": NASTY_NAMES,
    })
    albums = pl.DataFrame({
        "album_key": [stable_key_of(f"album {name}") for name in NASTY_NAMES],
        "album_name": [f"Album «{name}»" for name in NASTY_NAMES],
        "artist_key": artists["artist_key"],
        "content_type": "track",
        "sample_track_id": [f"{index:022d}" for index in range(len(NASTY_NAMES))],
        "first_landing_file": LANDING_FILES[0],
    })
    tracks = pl.DataFrame({
        "track_key": [stable_key_of(f"track {index}") for index in range(36)],
        "track_id": [f"T{index:021d}" for index in range(36)],
        "track_name": [f"Song {index} — {NASTY_NAMES[index % 12]}" for index in range(36)],
        "artist_key": [artists["artist_key"][index % 12] for index in range(36)],
        "album_key": [albums["album_key"][index % 12] for index in range(36)],
    }).with_columns(
        track_uri=pl.lit("spotify:track:") + pl.col("track_id"), content_type=pl.lit("track"),
    )
    days = pl.date_range(date(2023, 12, 25), date(2024, 2, 5), eager=True)
    dates = pl.DataFrame({"date": days}).with_columns(
        date_key=pl.col("date").dt.strftime("%Y%m%d").cast(pl.Int32),
        year=pl.col("date").dt.year(), quarter=pl.col("date").dt.quarter(),
        month=pl.col("date").dt.month(), month_name=pl.col("date").dt.strftime("%B"),
        day=pl.col("date").dt.day(), weekday=pl.col("date").dt.weekday(),
        weekday_name=pl.col("date").dt.strftime("%A"), iso_week=pl.col("date").dt.week(),
        is_weekend=pl.col("date").dt.weekday() >= 6,
    )
    platforms = pl.DataFrame({"platform": ["Android OS 14 API 34", "iOS 17.1 (iPhone15,2)", "web_player"],
                              "platform_family": ["android", "ios", "web"]})
    platforms = platforms.with_columns(platform_key=pl.Series([stable_key_of(p.lower()) for p in platforms["platform"]]))
    reasons = pl.DataFrame({"reason_start": ["trackdone", "clickrow", "fwdbtn"],
                            "reason_end": ["trackdone", "endplay", "fwdbtn"]})
    reasons = reasons.with_columns(reason_key=pl.Series([stable_key_of(*pair) for pair in reasons.rows()]))
    index = pl.int_range(FACT_ROWS, eager=True)
    track_rows = tracks[[i % 36 for i in range(FACT_ROWS)]]
    facts = pl.DataFrame({
        "play_key": [stable_key_of(f"play {i}") for i in range(FACT_ROWS)],
        "ts_utc": [datetime(2023, 12, 25, tzinfo=timezone.utc) + timedelta(hours=3 * i, microseconds=7 * i)
                   for i in range(FACT_ROWS)],
        "track_key": track_rows["track_key"], "artist_key": track_rows["artist_key"],
        "album_key": track_rows["album_key"],
        "platform_key": platforms["platform_key"][[i % 3 for i in range(FACT_ROWS)]],
        "reason_key": reasons["reason_key"][[i % 3 for i in range(FACT_ROWS)]],
        "ms_played": index * 1_000 + 501,
        "shuffle": index % 2 == 0, "skipped": index % 5 == 0, "offline": index % 7 == 0,
        "incognito_mode": index % 11 == 0, "content_type": "track",
        "source_file": "Spotify Extended Streaming History/Streaming_History_Audio_2024.json",
        "landing_file": LANDING_FILES[1],
    }).with_columns(
        date_key=pl.col("ts_utc").dt.strftime("%Y%m%d").cast(pl.Int32), hour=pl.col("ts_utc").dt.hour(),
    )
    album_art = albums.select(
        "album_key",
        landing_file=pl.lit(LANDING_FILES[0]),
        album_id=pl.col("sample_track_id").str.replace("^0", "A"),
        image_url_large=pl.lit("https://i.scdn.co/image/ab67616d0000b273"),
        image_url_medium=pl.lit(None, pl.String),
        image_url_small=pl.lit("https://i.scdn.co/image/ab67616d00004851?x=1&y='2'"),
        status=pl.lit("found"),
        fetched_at=pl.lit(datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)),
    ).with_columns(status=pl.when(pl.int_range(pl.len()) % 4 == 0).then(pl.lit("pending"))
                   .otherwise("status"))
    rejected = pl.DataFrame({
        # Keys differing only by an accent, case or a trailing space must stay distinct.
        "source_file": ["café.json", "cafe.json", "Cafe.json", "cafe.json ", "plays\t2.csv", "😀.csv"],
        "source_line": [2, 2, 2, 2, 3, 4],
        "reason": ["bad_timestamp", "ms_played_negative", "bad_boolean", "bad_timestamp",
                   "wrong_column_count", "missing_content_id"],
        "detail": ['ts "2024-13-01" is not a timestamp', "ms_played -5 < 0", "shuffle='yes'",
                   "ts ''", "3 fields, header has 5", "no URI \\ at all"],
        "raw_text": ['{"ts": "2024-13-01", "name": "x\\ny"}', "a,b,\"c\nd\"", "tab\there\r\n",
                     "", "\\N", "😀,中文,é\\"],
    })
    return {
        "dim_artist": artists, "dim_album": albums, "dim_track": tracks, "dim_date": dates,
        "dim_platform": platforms, "dim_reason": reasons, "fact_streams": facts,
        "album_art": album_art, "rejected_plays": rejected,
    }


def write_lake(lake_uri: str) -> None:
    for spec in WAREHOUSE_TABLES:
        frame = sample_lake()[spec.name]
        if spec.partitioned:
            for number, landing_file in enumerate(LANDING_FILES):
                write_table(lake_uri, spec, frame.filter(pl.int_range(pl.len()) % 2 == number), landing_file)
        else:
            write_table(lake_uri, spec, frame)


def publish_graph(lake_uri: str, url: str, selection=None, **warehouse_options) -> dg.ExecuteInProcessResult:
    warehouse = Warehouse(url=url, **warehouse_options)
    return dg.materialize(
        [*(dg.AssetSpec(spec.name) for spec in WAREHOUSE_TABLES), *warehouse_assets, *warehouse_checks],
        resources={
            "io_manager": DeltaLakeIOManager(lake_uri=lake_uri),
            "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
            "warehouse": warehouse,
            "lake": LakeResource(lake_uri=lake_uri),
        },
        selection=selection,
    )


def lake_frame(lake_uri: str, spec: TableSpec) -> pl.DataFrame:
    return scan_table(lake_uri, spec).select(spec.column_names).sort(spec.primary_key).collect()


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
    url = (f"sqlite:///{root}/warehouse.sqlite" if request.param == "sqlite"
           else request.getfixturevalue("mysql_database_url"))
    write_lake(lake_uri)
    return lake_uri, url, publish_graph(lake_uri, url)


def test_every_table_lands_byte_exact(published):
    lake_uri, url, result = published
    assert result.success
    warehouse = Warehouse(url=url)
    io_manager = WarehouseIOManager(warehouse=warehouse)
    for spec in WAREHOUSE_TABLES:
        loaded = io_manager.load_input(dg.build_input_context(asset_key=dg.AssetKey(["warehouse", spec.name])))
        assert_frame_equal(loaded.sort(spec.primary_key), lake_frame(lake_uri, spec))
    names = set(warehouse.read(DIM_ARTIST)["artist_name"])
    assert {"坂本龍一", "🎸 Emoji Band 😀", "Tab\there", "New\nline\r\nCRLF", "Back\\slash \\N \\t"} <= names
    materialization = result.asset_materializations_for_node("warehouse__fact_streams")[0]
    assert materialization.metadata["dagster/row_count"].value == FACT_ROWS
    assert "://" in materialization.metadata["dagster/uri"].value
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
    assert warehouse.query("SELECT date FROM dim_date WHERE date_key = 20240101")[0][0] == date(2024, 1, 1)
    warehouse.close()


def test_bi_views_sum_to_the_fact(published):
    _, url, _ = published
    warehouse = Warehouse(url=url)
    assert warehouse.query("SELECT COUNT(*), COUNT(artist_name), COUNT(local_date) FROM v_streams")[0] == (
        FACT_ROWS, FACT_ROWS, FACT_ROWS)
    total_minutes = sum(range(FACT_ROWS)) / 60 + FACT_ROWS * 501 / 60_000
    for view in ("v_minutes_by_month", "v_top_artists", "v_listening_by_weekday_hour"):
        plays, minutes = warehouse.query(f"SELECT SUM(plays), SUM(minutes_played) FROM {view}")[0]
        assert int(plays) == FACT_ROWS
        assert float(minutes) == pytest.approx(total_minutes, abs=0.1 * 200)
    assert warehouse.query("SELECT artist_rank FROM v_top_artists ORDER BY artist_rank LIMIT 1")[0][0] == 1
    assert set(BI_VIEWS) <= {row[0] for row in warehouse.query(
        "SELECT name FROM sqlite_master WHERE type = 'view'" if warehouse.dialect == "sqlite"
        else "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()")}
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

    checks_only = publish_graph(lake_uri, url, selection=dg.AssetSelection.all_asset_checks())
    evaluations = check_results(checks_only)
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == {
        "fact_streams", "rejected_plays", "dim_artist"}
    assert all(evaluation.severity == dg.AssetCheckSeverity.ERROR for evaluation in evaluations.values())
    assert "SUM(ms_played)" in evaluations["fact_streams"].metadata["mismatch"].value
    assert "row count: lake 6, warehouse 5" in evaluations["rejected_plays"].metadata["mismatch"].value
    assert "key checksum" in evaluations["dim_artist"].metadata["mismatch"].value

    repaired = publish_graph(lake_uri, url)
    assert all(evaluation.passed for evaluation in check_results(repaired).values())


def test_republishing_is_idempotent(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    before, ddl_before = table_snapshot(warehouse), schema_snapshot(warehouse)
    again = publish_graph(lake_uri, url)
    materializations = [event.materialization for event in again.get_asset_materialization_events()]
    swaps = {materialization.asset_key.path[-1]: materialization.metadata["swap"].value
             for materialization in materializations if "swap" in materialization.metadata}
    expected_swaps = {"dim_artist": "replace_rows", "fact_streams": "rename", "rejected_plays": "rename"} \
        if warehouse.dialect == "mysql" else dict.fromkeys(("dim_artist", "fact_streams"), "transaction")
    assert expected_swaps.items() <= swaps.items()
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
    expected = "loaded 12 of 13 rows; warnings: Warning 1062: Duplicate entry" if warehouse.dialect == "mysql" \
        else "UNIQUE constraint failed: dim_artist.artist_key"
    with pytest.raises(WarehouseError, match=expected):
        warehouse.publish(DIM_ARTIST, pl.concat([artists, artists.head(1)]))
    assert_frame_equal(warehouse.read(DIM_ARTIST).sort("artist_key"), artists)
    warehouse.close()


@mysql_only
def test_a_fact_row_without_its_dimension_row_is_refused(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url)
    facts = lake_frame(lake_uri, FACT_STREAMS)
    orphan = facts.head(1).with_columns(play_key=pl.lit(1, pl.Int64), track_key=pl.lit(42, pl.Int64))
    with pytest.raises(WarehouseError, match="fact_streams.track_key: 1 distinct values missing from dim_track"):
        warehouse.publish(FACT_STREAMS, pl.concat([facts, orphan]))
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts)
    warehouse.close()


@mysql_only
def test_refused_local_infile_falls_back_to_insert_batches(published):
    lake_uri, url, _ = published
    warehouse = Warehouse(url=url, local_infile=False, batch_size=50)
    facts = lake_frame(lake_uri, FACT_STREAMS)
    result = warehouse.publish(FACT_STREAMS, facts)
    assert (result.load_method, result.row_count) == ("insert_batches", FACT_ROWS)
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts)
    warehouse.close()


@pytest.mark.mysql
def test_wrong_password_names_the_masked_url(mysql_database_url):  # noqa: F811
    host_and_db = mysql_database_url.split("@", 1)[1]
    warehouse = Warehouse(url=f"mysql://root:Sup3r-Secret@{host_and_db}", connect_timeout=5)
    with pytest.raises(WarehouseError) as raised:
        warehouse.publish(DIM_ARTIST, DIM_ARTIST.empty())
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
    Warehouse(url=sys.argv[1]).publish(REJECTED_PLAYS, frame)
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
    loader = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, url, "600000"],
                              cwd=Path(__file__).parents[1], env=os.environ.copy())
    try:  # kill it as soon as the load is under way
        if warehouse.dialect == "mysql":
            wait_until(lambda: warehouse.query(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%'")[0][0])
        else:
            wal = Path(url.removeprefix("sqlite:///") + "-wal")
            wait_until(lambda: wal.exists() and wal.stat().st_size > 4_000_000)
    finally:
        loader.send_signal(signal.SIGKILL)
    assert loader.wait() == -signal.SIGKILL, "the load finished before it could be killed"
    assert_frame_equal(warehouse.read(REJECTED_PLAYS).sort(REJECTED_PLAYS.primary_key), old_version)

    result = warehouse.publish(REJECTED_PLAYS, old_version)
    assert result.row_count == len(old_version)
    assert_frame_equal(warehouse.read(REJECTED_PLAYS).sort(REJECTED_PLAYS.primary_key), old_version)
    if warehouse.dialect == "mysql":
        assert not warehouse.query("SHOW TABLES LIKE 'rejected\\_plays\\_\\_%'")
    warehouse.close()
