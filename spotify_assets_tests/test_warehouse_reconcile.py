"""reconcile_with_lake scoped to the partitions changed since last verified, against real SQLite files
and the MariaDB at 127.0.0.1:3306 (resources/warehouse/reconcile.py).

A row edited by hand in a partition verified earlier is the probe: a scoped reconcile cannot see it
(so it did not read that partition), a full one does.
"""

from __future__ import annotations

from contextlib import closing

import pytest
from deltalake import DeltaTable

from spotify_assets.io_managers.delta import table_uri
from spotify_assets.resources.warehouse import (
    BI_VIEWS,
    PublishReport,
    PublishRequest,
    Reconciliation,
    Warehouse,
    read_lake_table,
    table_stats,
)
from spotify_assets.tables import FACT_STREAMS, WAREHOUSE_TABLES

from .mysql_fixtures import fresh_database, fresh_mysql_url  # noqa: F401  (fixture)
from .warehouse_data import LANDING_FILES, NEW_FILE, add_new_file, publish_graph, sample_lake, write_lake

OLD, OTHER = LANDING_FILES
PARTITIONED = tuple(spec for spec in WAREHOUSE_TABLES if spec.partitioned)


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def setup(request, tmp_path):
    """(lake URI, warehouse) with the sample lake written and published once, nothing reconciled."""
    url = (
        f"sqlite:///{tmp_path}/warehouse.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_mysql_url")
    )
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri)
    warehouse = Warehouse(url=url)
    publish(lake_uri, warehouse)
    yield lake_uri, warehouse
    warehouse.close()


def publish(lake_uri: str, warehouse: Warehouse, **options) -> PublishReport:
    return warehouse.publish(
        PublishRequest(
            tables=tuple(read_lake_table(lake_uri, spec) for spec in WAREHOUSE_TABLES),
            views=BI_VIEWS,
            **options,
        )
    )


def reconcile(lake_uri: str, warehouse: Warehouse, *, full: bool = False) -> dict[str, Reconciliation]:
    """Every table's reconcile against the current lake (what was just published)."""
    with warehouse.reconciler(full=full) as reconciler:
        return {spec.name: reconciler.reconcile(read_lake_table(lake_uri, spec)) for spec in WAREHOUSE_TABLES}


def scopes(results: dict[str, Reconciliation], table: str = "fact_streams") -> tuple[str, int, int, bool]:
    result = results[table]
    return result.scope, result.verified_now, result.verified_earlier, result.passed


def tamper(warehouse: Warehouse, landing_file: str) -> None:
    """One fact row of `landing_file` edited behind the publisher's back."""
    (play_key,) = warehouse.query(
        f"SELECT MIN(play_key) FROM fact_streams WHERE landing_file = '{landing_file}'"
    )[0]
    warehouse.query(f"UPDATE fact_streams SET ms_played = ms_played + 1 WHERE play_key = {play_key}")


def verified(warehouse: Warehouse, table: str = "fact_streams") -> dict[str, tuple]:
    return {
        landing_file: tuple(figures)
        for landing_file, *figures in warehouse.query(
            "SELECT landing_file, marker, row_count, key_checksum, ms_played_sum FROM reconcile_partitions "
            f"WHERE table_name = '{table}'"
        )
    }


def test_first_reconcile_is_full_then_an_unchanged_lake_costs_no_partition(setup):
    lake_uri, warehouse = setup
    first = reconcile(lake_uri, warehouse)
    assert all(result.passed for result in first.values())
    assert scopes(first) == ("full", 2, 0, True)
    assert {first[spec.name].scope for spec in WAREHOUSE_TABLES if not spec.partitioned} == {"whole table"}
    lake_fact = read_lake_table(lake_uri, FACT_STREAMS)
    assert first["fact_streams"].lake == table_stats(FACT_STREAMS, lake_fact.scan())
    stored = verified(warehouse)
    assert {name: figures[0] for name, figures in stored.items() if name} == dict(lake_fact.markers)
    assert sum(figures[1] for name, figures in stored.items() if name) == lake_fact.row_count

    tamper(warehouse, OLD)
    again = reconcile(lake_uri, warehouse)
    assert scopes(again) == ("changed partitions", 0, 2, True)  # nothing read: the edit is unseen
    assert (
        again["fact_streams"].summary == "changed partitions: 0 partitions verified now, 2 verified earlier"
    )
    assert verified(warehouse) == stored  # and nothing written

    full = reconcile(lake_uri, warehouse, full=True)
    assert scopes(full) == ("full", 2, 0, False)
    # a full reconcile compares SUM(ms_played) over the whole table (rows and keys per partition)
    assert full["fact_streams"].mismatches == [
        "SUM(ms_played): lake {:,}, warehouse {:,} (difference +1)".format(
            full["fact_streams"].lake.ms_played_sum, full["fact_streams"].lake.ms_played_sum + 1
        )
    ]
    assert verified(warehouse) == {}  # forgotten: the next publish replaces the table whole
    assert publish(lake_uri, warehouse).tables["fact_streams"].action == "full"
    assert scopes(reconcile(lake_uri, warehouse)) == ("full", 2, 0, True)


def test_a_new_file_is_reconciled_alone(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    tamper(warehouse, OLD)  # in a partition verified earlier
    add_new_file(lake_uri, sample_lake())
    assert publish(lake_uri, warehouse).tables["fact_streams"].partitions_reloaded == 1

    scoped = reconcile(lake_uri, warehouse)
    assert scopes(scoped) == ("changed partitions", 1, 2, True)
    assert set(verified(warehouse)) == {"", *LANDING_FILES, NEW_FILE}
    lake_new = table_stats(FACT_STREAMS, read_lake_table(lake_uri, FACT_STREAMS).scan([NEW_FILE]))
    assert verified(warehouse)[NEW_FILE][1:] == (
        lake_new.row_count,
        lake_new.key_checksum,
        lake_new.ms_played_sum,
    )
    # the full reconcile sees what the scoped one did not read
    full = reconcile(lake_uri, warehouse, full=True)["fact_streams"]
    assert not full.passed and full.mismatches[0].startswith("SUM(ms_played)")


def test_a_full_reconcile_names_a_partition_whose_rows_or_keys_differ(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    # one play moved to the other file: the table's totals hold, the partitions' do not
    warehouse.query(
        f"UPDATE fact_streams SET landing_file = '{OTHER}' WHERE play_key = "
        f"(SELECT play_key FROM (SELECT MIN(play_key) AS play_key FROM fact_streams "
        f"WHERE landing_file = '{OLD}') AS first_play)"
    )
    assert reconcile(lake_uri, warehouse)["fact_streams"].passed  # unseen: both verified earlier
    full = reconcile(lake_uri, warehouse, full=True)["fact_streams"]
    assert (full.passed, full.differing, full.lake == full.warehouse) == (False, sorted(LANDING_FILES), True)
    assert full.mismatches == ["2 partitions differ: " + ", ".join(sorted(LANDING_FILES))]


def test_tampering_in_the_new_partition_is_caught(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    add_new_file(lake_uri, sample_lake())
    publish(lake_uri, warehouse)
    tamper(warehouse, NEW_FILE)

    caught = reconcile(lake_uri, warehouse)
    assert scopes(caught) == ("changed partitions", 1, 2, False)
    assert caught["fact_streams"].differing == [NEW_FILE]
    assert caught["fact_streams"].mismatches == [
        "SUM(ms_played): lake {:,}, warehouse {:,} (difference +1)".format(
            caught["fact_streams"].lake.ms_played_sum, caught["fact_streams"].lake.ms_played_sum + 1
        ),
        f"1 partitions differ: {NEW_FILE}",
    ]
    assert publish(lake_uri, warehouse).tables["fact_streams"].action == "full"  # repaired whole
    assert scopes(reconcile(lake_uri, warehouse)) == ("full", 3, 0, True)


def test_a_removed_partition_is_verified_gone(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    DeltaTable(table_uri(lake_uri, FACT_STREAMS.name)).delete(f"landing_file = '{OLD}'")
    assert publish(lake_uri, warehouse).tables["fact_streams"].partitions_dropped == 1
    assert verified(warehouse)[OLD][0] == ""  # to verify: the publish marked it

    gone = reconcile(lake_uri, warehouse)
    assert scopes(gone) == ("changed partitions", 1, 1, True)
    assert set(verified(warehouse)) == {"", OTHER}


def test_rows_left_under_a_removed_partition_are_caught(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    DeltaTable(table_uri(lake_uri, FACT_STREAMS.name)).delete(f"landing_file = '{OLD}'")
    publish(lake_uri, warehouse)
    columns = ", ".join(FACT_STREAMS.column_names)
    copy = columns.replace("play_key", "play_key + 1000000000").replace("landing_file", f"'{OLD}'")
    warehouse.query(  # as if the publish's delete had missed a row
        f"INSERT INTO fact_streams ({columns}) SELECT {copy} FROM fact_streams "
        f"WHERE play_key = (SELECT MIN(play_key) FROM fact_streams)"
    )
    missed = reconcile(lake_uri, warehouse)["fact_streams"]
    assert (missed.scope, missed.verified_now, missed.passed, missed.differing) == (
        "changed partitions",
        1,
        False,
        [OLD],
    )
    assert "row count: lake 120, warehouse 121 (difference +1)" in missed.mismatches
    assert publish(lake_uri, warehouse).tables["fact_streams"].action == "full"
    assert scopes(reconcile(lake_uri, warehouse)) == ("full", 1, 0, True)
    assert set(verified(warehouse)) == {"", OTHER}


def test_a_warehouse_older_than_verified_stats_just_works(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    warehouse.query("DROP TABLE reconcile_partitions")  # as a warehouse published before it existed
    with closing(Warehouse(url=warehouse.url)) as older:
        assert {outcome.action for outcome in publish(lake_uri, older).tables.values()} == {"unchanged"}
        assert scopes(reconcile(lake_uri, older)) == ("full", 2, 0, True)
        assert scopes(reconcile(lake_uri, older)) == ("changed partitions", 0, 2, True)


def test_a_whole_table_replacement_makes_the_next_reconcile_full(setup):
    lake_uri, warehouse = setup
    reconcile(lake_uri, warehouse)
    assert publish(lake_uri, warehouse, full_refresh=True).tables["fact_streams"].action == "full"
    assert verified(warehouse) == {}
    assert scopes(reconcile(lake_uri, warehouse)) == ("full", 2, 0, True)


@pytest.mark.mysql
def test_sqlite_and_mysql_verify_the_same_figures(tmp_path):
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri)
    stored = []
    with fresh_database() as mysql_url:
        for url in (f"sqlite:///{tmp_path}/warehouse.sqlite", mysql_url):
            with closing(Warehouse(url=url)) as warehouse:
                publish(lake_uri, warehouse)
                full = reconcile(lake_uri, warehouse)
                stored.append({spec.name: verified(warehouse, spec.name) for spec in PARTITIONED})
                stored.append({name: (result.lake, result.warehouse) for name, result in full.items()})
        add_new_file(lake_uri, sample_lake())
        for url in (f"sqlite:///{tmp_path}/warehouse.sqlite", mysql_url):
            with closing(Warehouse(url=url)) as warehouse:
                publish(lake_uri, warehouse)
                scoped = reconcile(lake_uri, warehouse)
                stored.append(
                    {
                        name: (result.scope, result.verified_now, result.lake)
                        for name, result in scoped.items()
                    }
                )
    assert stored[0] == stored[2] and stored[1] == stored[3] and stored[4] == stored[5]
    assert {name for name, figures in stored[0].items() if figures} == {spec.name for spec in PARTITIONED}


def test_the_check_says_what_it_verified(tmp_path):
    lake_uri = str(tmp_path / "lake")
    write_lake(lake_uri)
    url = f"sqlite:///{tmp_path}/warehouse.sqlite"
    for expected in ("full: 2 partitions verified now", "changed partitions: 0 partitions verified now"):
        result = publish_graph(lake_uri, url)
        fact = next(
            evaluation
            for evaluation in result.get_asset_check_evaluations()
            if evaluation.asset_key.path[-1] == "fact_streams"
        )
        assert fact.passed and fact.metadata["reconcile"].value.startswith(expected)
        assert (
            fact.metadata["partitions_verified_now"].value
            + fact.metadata["partitions_verified_earlier"].value
            == 2
        )
