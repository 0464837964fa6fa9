"""Dagster's private SQLite event log API that `spotify_assets/adapters/dagster_event_log.py` relies on,
named one by one, and what the adapter must keep of Dagster's own behaviour: the same files, read by
Dagster's own storage; live events for the UI's watcher while a run's writer is still open; one open
connection per database, closed when its run ends; the shipped dagster.yaml choosing it.

If an upgrade of Dagster breaks one of these, the failure names the symbol and the module to fix.
"""

import importlib
import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

import spotify_assets
from spotify_assets.adapters import dagster_event_log
from spotify_assets.adapters.dagster_event_log import PooledSqliteEventLogStorage

FIX = "update spotify_assets/adapters/dagster_event_log.py for this Dagster version"
SHIPPED_YAML = Path(spotify_assets.__file__).parent / "dagster.yaml"
WAIT_SECONDS = 30

# a run's writer in another process, as a run worker next to `dagster dev`'s webserver: it stores
# the events named on its command line, says so, and keeps its connection open until stdin closes
WRITER = """
import logging, sys, time
import dagster as dg
from spotify_assets.adapters.dagster_event_log import PooledSqliteEventLogStorage

base_dir, run_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
storage = PooledSqliteEventLogStorage(base_dir)
for number in range(count):
    storage.store_event(dg.EventLogEntry(None, logging.INFO, f"event {number}", run_id, time.time()))
print("stored", flush=True)
sys.stdin.read()
storage.dispose()
"""


def log_entry(run_id: str, message: str) -> dg.EventLogEntry:
    return dg.EventLogEntry(None, logging.INFO, message, run_id, time.time())


def run_success(run_id: str) -> dg.EventLogEntry:
    event = dg.DagsterEvent(dg.DagsterEventType.RUN_SUCCESS.value, "a_job")
    return dg.EventLogEntry(
        None, logging.INFO, "", run_id, time.time(), job_name="a_job", dagster_event=event
    )


def resolve(symbol: str) -> object:
    _, _, method = symbol.partition(".SqliteEventLogStorage.")
    if method:
        return getattr(SqliteEventLogStorage, method, None)
    module_name, _, name = symbol.rpartition(".")
    return getattr(importlib.import_module(module_name), name, None)


@pytest.fixture
def storage(tmp_path):
    pooled = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    yield pooled
    pooled.dispose()


def test_every_private_symbol_is_named_here():
    assert (
        tuple(
            f"dagster._core.storage.{name}"
            for name in (
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._connect",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._db_lock",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._initialized_dbs",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._initdb",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.conn_string_for_shard",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.path_for_shard",
                "event_log.sqlite.sqlite_event_log.INDEX_SHARD_NAME",
                "event_log.sqlite.sqlite_event_log.SqliteEventLogStorageWatchdog",
                "sqlite.SQLITE_BUSY_TIMEOUT_SECONDS",
            )
        )
        == dagster_event_log.PRIVATE_SYMBOLS
    )


@pytest.mark.parametrize("symbol", dagster_event_log.PRIVATE_SYMBOLS)
def test_each_private_symbol_is_still_there(symbol, tmp_path):
    instance_attributes = ("._db_lock", "._initialized_dbs")
    if symbol.endswith(instance_attributes):
        plain = SqliteEventLogStorage(str(tmp_path / "plain"))
        found = getattr(plain, symbol.rpartition(".")[2], None)
        plain.dispose()
    else:
        found = resolve(symbol)
    assert found is not None, f"{symbol} is gone: {FIX}"


def test_every_operation_goes_through_the_one_door_with_one_open_connection(storage):
    """`_connect` is still where run and index connections come from: Dagster's own `store_event`
    and reads use the adapter's engines, and a run's database stays open until its run ends."""
    run_id = str(uuid.uuid4())
    for number in range(3):
        storage.store_event(log_entry(run_id, f"event {number}"))

    records = storage.get_records_for_run(run_id).records
    assert [record.event_log_entry.user_message for record in records] == ["event 0", "event 1", "event 2"]
    engine = storage._engines.get(run_id)
    assert engine is not None, f"SqliteEventLogStorage no longer connects through _connect: {FIX}"
    assert engine.pool.checkedin() == 1, "the run's connection was not kept open"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL

    storage.store_event(run_success(run_id))

    assert run_id not in storage._engines, "the run's database stayed open after its run ended"
    assert not Path(storage.path_for_shard(run_id) + "-wal").exists(), "the last close did not checkpoint"


def test_dagsters_own_storage_reads_what_the_adapter_wrote(storage):
    run_id = str(uuid.uuid4())
    storage.store_event(log_entry(run_id, "hello"))
    storage.store_event(run_success(run_id))

    plain = SqliteEventLogStorage(storage._base_dir)
    try:
        records = plain.get_records_for_run(run_id).records
    finally:
        plain.dispose()

    assert [record.event_log_entry.user_message for record in records] == ["hello", ""]


@pytest.mark.parametrize("reader", [SqliteEventLogStorage, PooledSqliteEventLogStorage])
def test_the_uis_watcher_sees_each_event_while_the_writer_is_still_open(reader, tmp_path):
    """The webserver learns of a running run's events from a watcher on its `.db` file; the writer,
    another process keeping its connection open, must still make that watcher fire."""
    base_dir, run_id, count = tmp_path / "runs", str(uuid.uuid4()), 3
    watching = reader(str(base_dir))
    seen: list[str] = []
    all_seen = threading.Event()

    def callback(entry: dg.EventLogEntry, _cursor: str) -> None:
        seen.append(entry.user_message)
        if len(seen) == count:
            all_seen.set()

    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(base_dir), run_id, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        watching.watch(run_id, None, callback)
        assert writer.stdout is not None and writer.stdout.readline() == "stored\n"
        assert all_seen.wait(WAIT_SECONDS), (
            f"the watcher saw {seen} of {count} events while the writer was open: {FIX}"
        )
    finally:
        writer.communicate("", timeout=WAIT_SECONDS)
        watching.end_watch(run_id, callback)
        watching.dispose()

    assert seen == [f"event {number}" for number in range(count)]
    assert writer.returncode == 0


def test_the_shipped_dagster_yaml_chooses_the_adapter_in_dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(SHIPPED_YAML.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert Path(storage._base_dir) == home / "history" / "runs"  # where Dagster's default keeps them
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert (home / "history" / "runs.db").exists()  # run storage as Dagster's default keeps it
