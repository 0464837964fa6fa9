"""The lake's writer and readers behave the same on a local folder and on S3 (moto's server on loopback).

Every write is one Delta transaction: a partition update (one or several partitions, some removed),
a whole-table replace, the first write that creates the table, an empty update that writes nothing.
"""

from __future__ import annotations

import os
import threading
import uuid

import dagster as dg
import polars as pl
import pytest

from spotify_assets.io_managers.delta import (
    open_table,
    scan_table,
    table_exists,
    table_row_count,
    write_partitions,
    write_table,
)
from spotify_assets.io_managers.location import lake_location, storage_config
from spotify_assets.io_managers.updates import PartitionedUpdate
from spotify_assets.settings import Settings
from spotify_assets.tables import PARTITION_COLUMN, Column, TableSpec

from .s3_server import s3_with_bucket

PLAYS = TableSpec(
    name="plays",
    description="test: one row per play of a landing file",
    columns=(
        Column(PARTITION_COLUMN, "string", "file"),
        Column("play", "int64", "play"),
        Column("name", "string", "name"),
    ),
    primary_key=(PARTITION_COLUMN, "play"),
    partitioned=True,
)
TOTALS = TableSpec(
    name="totals",
    description="test: one row per name",
    columns=(Column("name", "string", "name"), Column("plays", "int64", "plays")),
    primary_key=("name",),
)
QUOTED = "it's-0a1b2c3d4e5f"  # a landing file key with a quote: the object-store predicate must escape it


def plays(partition: str, *numbers: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            PARTITION_COLUMN: [partition] * len(numbers),
            "play": list(numbers),
            "name": [f"{partition}:{n}" for n in numbers],
        }
    )


@pytest.fixture(scope="module")
def s3():
    with s3_with_bucket("lake-tests") as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path, s3):
    if request.param == "local":
        return str(tmp_path / "lake")
    return s3.location(f"s3://lake-tests/{uuid.uuid4().hex}")


def content(lake, spec: TableSpec, partitions: list[str] | None = None) -> pl.DataFrame:
    return scan_table(lake, spec, partitions).collect().sort(spec.primary_key)


def version(lake, spec: TableSpec) -> int:
    return open_table(lake, spec.name).version()


def test_the_first_write_creates_the_table_and_a_partition_update_is_one_commit(lake):
    assert not table_exists(lake, PLAYS.name)
    assert content(lake, PLAYS).is_empty() and content(lake, PLAYS).schema == PLAYS.polars_schema()
    assert (
        write_partitions(lake, PLAYS, PartitionedUpdate(frames={"a": plays("a", 1, 2), "b": plays("b", 3)}))
        == 3
    )
    first = version(lake, PLAYS)
    # replace a, add c and the quoted key, drop b: all in one transaction
    update = PartitionedUpdate(
        frames={"a": plays("a", 7).lazy(), "c": plays("c", 8, 9), QUOTED: plays(QUOTED, 5)}, removed=("b",)
    )
    assert write_partitions(lake, PLAYS, update) == 4
    assert version(lake, PLAYS) == first + 1
    assert content(lake, PLAYS).equals(
        pl.concat([plays("a", 7), plays("c", 8, 9), plays(QUOTED, 5)]).sort(PLAYS.primary_key)
    )
    assert content(lake, PLAYS, ["c", QUOTED])["play"].to_list() == [8, 9, 5]
    assert table_row_count(lake, PLAYS) == 4


def test_an_empty_update_writes_nothing_and_an_empty_partition_empties_it(lake):
    write_partitions(lake, PLAYS, PartitionedUpdate(frames={"a": plays("a", 1), "b": plays("b", 2)}))
    before = version(lake, PLAYS)
    assert write_partitions(lake, PLAYS, PartitionedUpdate()) == 0
    assert version(lake, PLAYS) == before
    assert write_partitions(lake, PLAYS, PartitionedUpdate(frames={"a": plays("a")})) == 0
    assert version(lake, PLAYS) == before + 1
    assert content(lake, PLAYS).equals(plays("b", 2))
    # the partition of one landing file, as an ingest writes it (a frame without the partition column)
    assert write_table(lake, PLAYS, plays("x", 4, 5).drop(PARTITION_COLUMN), "d") == 2
    assert content(lake, PLAYS, ["d"])[PARTITION_COLUMN].to_list() == ["d", "d"]


def test_replace_all_keeps_only_the_new_partitions(lake):
    write_partitions(lake, PLAYS, PartitionedUpdate(frames={"a": plays("a", 1), "b": plays("b", 2)}))
    before = version(lake, PLAYS)
    assert (
        write_partitions(lake, PLAYS, PartitionedUpdate(frames={"c": plays("c", 3)}, replace_all=True)) == 1
    )
    assert version(lake, PLAYS) == before + 1
    assert content(lake, PLAYS).equals(plays("c", 3))
    # a whole table given as one frame is split by landing_file
    assert write_table(lake, PLAYS, pl.concat([plays("e", 1), plays("f", 2, 3)])) == 3
    assert content(lake, PLAYS).equals(pl.concat([plays("e", 1), plays("f", 2, 3)]))
    assert write_partitions(lake, PLAYS, PartitionedUpdate(replace_all=True)) == 0
    assert table_exists(lake, PLAYS.name) and content(lake, PLAYS).is_empty()


def test_an_unpartitioned_table_is_replaced_whole(lake):
    assert write_table(lake, TOTALS, pl.DataFrame({"name": ["x", "y"], "plays": [1, 2]})) == 2
    assert write_table(lake, TOTALS, pl.DataFrame({"name": ["z"], "plays": [3]}).lazy()) == 1
    assert content(lake, TOTALS).rows() == [("z", 3)]
    assert write_table(lake, TOTALS, TOTALS.empty()) == 0
    assert table_exists(lake, TOTALS.name) and content(lake, TOTALS).is_empty()
    assert version(lake, TOTALS) == 2


def test_a_stored_table_of_another_layout_is_replaced(lake):
    unpartitioned = TableSpec(
        name=PLAYS.name, description="older layout", columns=PLAYS.columns[1:], primary_key=("play",)
    )
    write_table(lake, unpartitioned, pl.DataFrame({"play": [1], "name": ["old"]}))
    write_partitions(lake, PLAYS, PartitionedUpdate(frames={"a": plays("a", 2)}))
    assert content(lake, PLAYS).equals(plays("a", 2))
    assert open_table(lake, PLAYS.name).metadata().partition_columns == [PARTITION_COLUMN]


def test_concurrent_writers_on_s3_never_lose_a_commit(s3):
    lake = s3.location(f"s3://lake-tests/{uuid.uuid4().hex}")
    write_partitions(lake, PLAYS, PartitionedUpdate(frames={"z": plays("z", 0)}))
    rounds, errors = 4, []

    def writer(name: str) -> None:
        for number in range(rounds):
            try:
                write_partitions(lake, PLAYS, PartitionedUpdate(frames={name: plays(name, number)}))
            except Exception as error:
                errors.append(f"{name}: {error}")

    threads = [threading.Thread(target=writer, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert version(lake, PLAYS) == 3 * rounds  # every commit is in the log: none overwrote another
    final = content(lake, PLAYS)
    assert final.equals(
        pl.concat([plays(name, rounds - 1) for name in "abc"] + [plays("z", 0)]).sort(PLAYS.primary_key)
    )


def test_a_wrong_secret_is_refused_and_never_printed(s3):
    secret = "not-the-secret-" + uuid.uuid4().hex
    lake = s3.location("s3://lake-tests/refused", secret_access_key=secret)
    with pytest.raises(OSError) as refused:
        write_table(lake, TOTALS, pl.DataFrame({"name": ["x"], "plays": [1]}))
    assert "403" in str(refused.value) and secret not in str(refused.value)
    assert secret not in repr(lake) and secret not in str(lake)


def test_settings_name_the_credentials_never_hold_them(monkeypatch):
    monkeypatch.setenv("SPOTIFY_LAKE_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("SPOTIFY_LAKE_SECRET_ACCESS_KEY", "secret-value")
    settings = Settings.from_env(
        {
            **os.environ,
            "SPOTIFY_LAKE_URI": "s3://bucket/lake",
            "SPOTIFY_LAKE_ENDPOINT": "https://s3.example.net",
            "SPOTIFY_LAKE_REGION": "eu-west-1",
        }
    )
    assert "secret-value" not in repr(settings)
    config = storage_config(settings)
    assert isinstance(config.secret_access_key, dg.EnvVar)
    assert config.secret_access_key.env_var_name == "SPOTIFY_LAKE_SECRET_ACCESS_KEY"
    options = lake_location(settings).storage_options
    assert options["secret_access_key"] == "secret-value" and options["endpoint"] == "https://s3.example.net"
    assert options["region"] == "eu-west-1" and "provider" not in options and "allow_http" not in options
    assert lake_location(Settings(lake_uri="data/lake")).options() is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"SPOTIFY_LAKE_ENDPOINT": "http://127.0.0.1:9000", "SPOTIFY_LAKE_URI": "s3://b/lake"},
            "SPOTIFY_LAKE_ENDPOINT='http://127.0.0.1:9000' is plain HTTP",
        ),
        ({"SPOTIFY_LAKE_ENDPOINT": "https://s3.example.net"}, "is a local folder"),
        ({"SPOTIFY_LAKE_ALLOW_HTTP": "maybe"}, "SPOTIFY_LAKE_ALLOW_HTTP='maybe': expected true or false"),
        (
            {"SPOTIFY_LAKE_RETENTION_HOURS": "a week"},
            "SPOTIFY_LAKE_RETENTION_HOURS='a week': expected a whole number",
        ),
        ({"SPOTIFY_LAKE_RETENTION_HOURS": "-1"}, "SPOTIFY_LAKE_RETENTION_HOURS=-1: expected hours >= 0"),
    ],
)
def test_bad_lake_settings_get_one_clear_line(environ, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Settings.from_env(environ)
