"""Dagster's SQLite event log with one open connection per database instead of one per operation.

Dagster's `SqliteEventLogStorage` keeps an `index.db` (asset and check records, run status events)
and one `<run_id>.db` per run under `$DAGSTER_HOME/history/runs`, both in WAL mode. For every
operation it builds a new SQLAlchemy engine on a `NullPool`, connects, commits and disposes it.
SQLite makes the last connection to close checkpoint the WAL into the database file, so each of the
~500 events of a small `spotify-assets run` (and ~750 index reads and writes) costs a connect, a
commit with an fsync and a checkpoint with two more: measured here, 12-18 ms per event on a virtual
disk, 2-11 s of a 150k-play run that does 3 s of work.

`PooledSqliteEventLogStorage` keeps the same files, schema, locks and transactions, and changes how
they are reached:

- one engine per database, whose pool keeps its connection open, so an operation is a transaction
  on an open connection; a run's database is closed when its run ends (and at most
  `OPEN_RUN_SHARDS` stay open), so a long-lived process (the daemon, the webserver) does not
  collect open files;
- `PRAGMA synchronous=NORMAL` on every connection to a WAL database: SQLite's recommended setting
  for WAL, safe from corruption; a commit no longer waits for the disk, so a power cut (not a
  crashed process) may lose the last events written, which the next run of the same files writes
  again;
- after a transaction that wrote to a run's database, its file's modification time is set.
  Dagster's UI learns of a running run's new events from a file watcher on `<run_id>.db` (its
  `SqliteEventLogStorageWatchdog`, in the webserver process); with Dagster's own storage the
  checkpoint at every close modified that file, and with connections kept open nothing but this
  does. The watcher (watchdog's inotify observer) reports an attribute change as a modification.

Private Dagster API relied on, named in `PRIVATE_SYMBOLS` and checked one by one (with the watcher
contract) by `spotify_assets_tests/test_dagster_event_log.py`, which fails naming the symbol if an
upgrade changes it; pyproject.toml pins the tested range:
`SqliteEventLogStorage._connect` (the one door every operation goes through, overridden here),
`._db_lock`, `._initialized_dbs`, `._initdb`, `.conn_string_for_shard`, `.path_for_shard`,
`INDEX_SHARD_NAME`, `SQLITE_BUSY_TIMEOUT_SECONDS`, `SqliteEventLogStorageWatchdog` (watches
`path_for_shard(run_id)` for modification).

Configured in `spotify_assets/dagster.yaml` as `event_log_storage:` (Dagster's documented legacy
key; run and schedule storage keep their SQLite defaults). Its one setting, `dagster_home`, is
`{env: DAGSTER_HOME}` there: the event logs live where Dagster's default puts them, so an existing
DAGSTER_HOME keeps its history.
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._config import StringSource
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

PRIVATE_SYMBOLS = (
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._connect",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._db_lock",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._initialized_dbs",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._initdb",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.conn_string_for_shard",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.path_for_shard",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.INDEX_SHARD_NAME",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorageWatchdog",
    "dagster._core.storage.sqlite.SQLITE_BUSY_TIMEOUT_SECONDS",
)
OPEN_RUN_SHARDS = 4  # run databases kept open at once; the index database always is
RUN_ENDS = frozenset(
    {DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}
)
_STORAGES: weakref.WeakSet[PooledSqliteEventLogStorage] = weakref.WeakSet()


def event_log_directory(dagster_home: str) -> str:
    """Where Dagster's default SQLite storage keeps the event logs of the instance in `dagster_home`."""
    return os.path.join(dagster_home, "history", "runs")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log storage, with an open connection per database (see the module)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # before super(): it may connect
        super().__init__(base_dir, inst_data)
        _STORAGES.add(self)

    @classmethod
    def config_type(cls) -> dict:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(event_log_directory(config_value["dagster_home"]), inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
                engine.dispose()  # a new database became WAL: its next connection sets synchronous
            with engine.connect() as conn:
                changes_before = conn.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
                with conn.begin():
                    yield conn
                wrote = conn.connection.dbapi_connection.total_changes != changes_before  # type: ignore[union-attr]
            if wrote and shard != INDEX_SHARD_NAME:
                os.utime(self.path_for_shard(shard))  # the UI's watcher of this run's file sees new events

    def _engine(self, shard: str) -> Engine:
        """The engine of `shard`, created on first use; called holding `_db_lock`."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard),
            pool_size=1,
            max_overflow=1,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        db.event.listen(engine, "connect", _normal_sync_in_wal)
        self._engines[shard] = engine
        runs_open = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs_open[:-OPEN_RUN_SHARDS]:
            self._engines.pop(name).dispose()
        return engine

    def _close(self, shards: Sequence[str] | None = None) -> None:
        """Closes the connections to `shards` (all when None): the last one out checkpoints its WAL."""
        with self._db_lock:
            for name in list(self._engines) if shards is None else shards:
                engine = self._engines.pop(name, None)
                if engine is not None:
                    engine.dispose()

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        if event.dagster_event_type in RUN_ENDS:
            self._close([event.run_id])

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        super().store_event_batch(events)
        ended = [event.run_id for event in events if event.dagster_event_type in RUN_ENDS]
        if ended:
            self._close(ended)

    def upgrade(self) -> None:
        self._close()
        super().upgrade()

    def wipe(self) -> None:
        self._close()  # before the run databases are deleted under open connections
        super().wipe()

    def dispose(self) -> None:
        self._close()
        super().dispose()

    def _forget_after_fork(self) -> None:
        """In a forked child the parent's connections are not ours to use or close."""
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines = OrderedDict()


def _normal_sync_in_wal(dbapi_connection: Any, _record: Any) -> None:
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if mode == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _after_fork_in_child() -> None:
    for storage in list(_STORAGES):
        storage._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
