"""MySQL's bulk load (`resources/warehouse/loads.py`) on the MariaDB at 127.0.0.1:3306: repeated
text sent as dictionary codes and many chunks over two connections land byte-exact, and a failure
half-way through the chunks leaves the live table as it was and no chunk file behind."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spotify_assets.resources.warehouse import Warehouse, WarehouseError, loads
from spotify_assets.resources.warehouse.connection import database_name
from spotify_assets.tables import FACT_STREAMS, WAREHOUSE_TABLES

from .mysql_fixtures import fresh_mysql_url  # noqa: F401  (fixture)
from .warehouse_data import FACT_ROWS, NASTY_NAMES, lake_frame, write_lake

pytestmark = pytest.mark.mysql
CHUNK_ROWS = 17  # the sample's 240 fact rows in 15 chunks


@pytest.fixture
def warehouse(tmp_path, fresh_mysql_url, monkeypatch) -> Iterator[tuple[str, Warehouse]]:  # noqa: F811
    """(lake URI, a warehouse holding every table of that lake), loads cut into small chunks
    over two connections."""
    monkeypatch.setattr(loads, "CHUNK_ROWS", CHUNK_ROWS)
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri)
    warehouse = Warehouse(url=fresh_mysql_url, load_connections=2)
    for spec in WAREHOUSE_TABLES:  # parents first
        warehouse.replace_table(spec, lake_frame(lake_uri, spec))
    yield lake_uri, warehouse
    warehouse.close()


def chunk_files(warehouse: Warehouse) -> list[str]:
    return sorted(path.name for path in loads.LOAD_FILE_DIRECTORY.glob(f"{database_name(warehouse.url)}.*"))


def test_the_load_order_cuts_the_keys_into_one_part_per_connection_taken_in_turns():
    assert loads.load_order(8, 2) == [0, 4, 1, 5, 2, 6, 3, 7]
    assert loads.load_order(5, 2) == [0, 2, 1, 3, 4]
    assert loads.load_order(3, 1) == [0, 1, 2]
    assert loads.load_order(1, 2) == [0]
    assert loads.load_order(0, 2) == []


def test_repeated_text_travels_as_codes_and_lands_byte_exact(warehouse, monkeypatch):
    lake_uri, warehouse = warehouse
    monkeypatch.setattr(loads, "DICTIONARY_LIMIT", 20)
    facts = lake_frame(lake_uri, FACT_STREAMS).with_columns(
        # every escaping trap, repeated: coded
        source_file=pl.Series(NASTY_NAMES).gather(pl.int_range(FACT_ROWS, eager=True) % len(NASTY_NAMES)),
        # 240 distinct values: sent as text
        landing_file=pl.format("file {}", pl.int_range(pl.len())),
    )
    text = loads.LoadText.of("t", FACT_STREAMS, facts)
    assert set(text.dictionaries) == {"content_type", "source_file", "source_format"}
    assert sorted(text.dictionaries["source_file"]) == sorted(NASTY_NAMES)
    warehouse.replace_table(FACT_STREAMS, facts)
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts.sort("play_key"))


def test_many_chunks_over_two_connections_land_byte_exact_and_leave_no_file(warehouse):
    lake_uri, warehouse = warehouse
    facts = lake_frame(lake_uri, FACT_STREAMS)
    # rows of each chunk changed, so the table shows whether every chunk landed once
    changed = facts.with_columns(ms_played=pl.col("ms_played") + 1)
    result = warehouse.replace_table(FACT_STREAMS, changed)
    assert warehouse.load_connections == 2 and FACT_ROWS > 2 * CHUNK_ROWS
    assert (result.load_method, result.row_count) == ("load_data_local_infile", FACT_ROWS)
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), changed.sort("play_key"))
    assert chunk_files(warehouse) == []


def test_a_failure_half_way_keeps_the_live_table_and_removes_every_chunk_file(warehouse):
    lake_uri, warehouse = warehouse
    facts = lake_frame(lake_uri, FACT_STREAMS)
    leftover = loads.LOAD_FILE_DIRECTORY / f"{database_name(warehouse.url)}.fact_streams__staging.99.tsv"
    leftover.write_text("a file a killed run left behind\n")
    # the largest key twice: sorted by key, the pair ends up in the last chunk
    duplicated = pl.concat([facts, facts.sort("play_key").tail(1)])
    with pytest.raises(WarehouseError, match=r"fact_streams: loaded \d+ of \d+ rows; warnings: Warning 1062"):
        warehouse.replace_table(FACT_STREAMS, duplicated)
    loaded_before_the_failure = warehouse.query("SELECT COUNT(*) FROM fact_streams__staging")[0][0]
    assert loaded_before_the_failure >= CHUNK_ROWS  # it failed half-way, not at the first chunk
    assert_frame_equal(warehouse.read(FACT_STREAMS).sort("play_key"), facts)
    assert chunk_files(warehouse) == []
    # the next publish starts over: the half-loaded staging table goes, the new version lands
    warehouse.replace_table(FACT_STREAMS, facts.head(100))
    assert warehouse.query("SELECT COUNT(*) FROM fact_streams")[0][0] == 100
    assert "fact_streams__staging" not in {row[0] for row in warehouse.query("SHOW TABLES")}
