"""SQLite: the embedded warehouse file, `sqlite:///data/warehouse.sqlite` (relative path) or
`sqlite:////abs/path/warehouse.sqlite`.

The file runs in WAL mode, so readers keep reading the last committed version while a publish
writes. The first publish into a file without tables is the exception: it runs in rollback-journal
mode (`DELETE`), where pages appended past the end of the file are written once and never
journaled, instead of once to the WAL and again at its checkpoint (a third less CPU for a 10M-row
first publish); it is still one transaction (a killed first publish leaves a hot journal that the
next connection rolls back to the empty file), and readers have nothing to read yet. Every publish
ends by putting the file (back) in WAL mode. Two connections:
- reading (`query`, statistics, read-back): the standard library's sqlite3, which can register the
  `key_hash28` function the key checksum needs;
- publishing: ADBC (adbc-driver-sqlite), which binds Arrow columns straight into prepared INSERTs,
  about twice as fast as `executemany` over Python tuples. A publish is one `BEGIN IMMEDIATE`
  transaction (that is also the lock two publishes queue on); DDL is transactional in SQLite, so
  dropping, creating and bulk-loading a table, incremental deletes and upserts, the views and the
  bookkeeping all commit together or not at all.
Pages stay SQLite's default 4 KiB: an incremental publish dirties one page per index per row at
random keys, so larger pages cost more there than they save in a bulk load.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl

from ...settings import warehouse_scheme
from ...tables import TableSpec
from .base import (
    Dialect,
    Log,
    WarehouseError,
    column_list,
    foreign_key_clauses,
    has_integer_key,
    quote,
    secondary_indexes,
    timed,
)
from .stats import key_hash28

# Copy the WAL into the database once it holds 256 MB, not after every commit (SQLite's 4 MB): a
# small incremental publish then commits without a checkpoint, and the publish that crosses the
# mark (or a bulk load) pays it. After a checkpoint the WAL file is cut back to 64 MB.
CHECKPOINT_PAGES = 65_536
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Page cache of a publish into existing tables: a new file's rows land at random keys in the fact
# and its indexes, and SQLite's default 2 MB cache spills pages to the WAL and reads them back
# over and over (10k rows into a 10M-row fact: 30% less CPU with 256 MB). Index builds keep the
# default: their sorter is slower with a large cache.
PUBLISH_CACHE_KIB = 262_144
DEFAULT_CACHE_KIB = 2_000
# Helper threads of SQLite's external sorter (CREATE INDEX of a bulk load): with two, a 10M-row
# fact's index builds take about 10% less (adbc-driver-sqlite allows up to 8; the default is 0).
SORTER_THREADS = min(os.cpu_count() or 1, 4)
SQLITE_TYPES = {
    "int64": "BIGINT",
    "int32": "INT",
    "int16": "SMALLINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "DATETIME",
}


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite warehouse URL (relative to the working directory), else None."""
    if warehouse_scheme(url) != "sqlite":
        return None
    return Path(unquote(urlsplit(url).path)[1:] or "warehouse.sqlite")


def _adbc_message(error: Exception) -> str:
    """The SQLite part of an ADBC error (it prefixes a status and appends the statement)."""
    text = str(error).split("\nquery was:")[0]
    for prefix in ("failed to execute: ", "Failed to step query: ", "Failed to prepare query: "):
        if prefix in text:
            text = text.split(prefix, 1)[1]
    return text.strip()


def _close_adbc(cursor: Any, connection: Any) -> None:
    cursor.close()  # both closes are idempotent
    connection.close()


class SqliteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"
    atomic_ddl = True

    def __init__(self, options) -> None:
        super().__init__(options)
        self.path = sqlite_file(options.url) or Path("warehouse.sqlite")
        self._reader: sqlite3.Connection | None = None
        self._writer: Any = None
        self._cursor: Any = None
        self._first = False  # inside a first publish: every statement on the publishing connection

    def _pragmas(self) -> list[str]:
        # no journal_mode: WAL is a property of the file, set by the publishing connection
        return [
            f"busy_timeout = {self.options.read_timeout * 1000}",
            "synchronous = NORMAL",
            f"wal_autocheckpoint = {CHECKPOINT_PAGES}",
            f"journal_size_limit = {WAL_SIZE_LIMIT}",
        ]

    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.options.read_timeout, isolation_level=None)
            for pragma in self._pragmas():
                connection.execute(f"PRAGMA {pragma}")
            connection.create_function("key_hash28", 1, key_hash28, deterministic=True)
            self._reader = connection
        return self._reader

    def _publishing_cursor(self) -> Any:
        if self._cursor is None:
            import adbc_driver_sqlite.dbapi as adbc  # only a publish needs it

            self.path.parent.mkdir(parents=True, exist_ok=True)
            pragmas = [*self._pragmas(), f"threads = {SORTER_THREADS}"]
            self._writer = adbc.connect(str(self.path), autocommit=True)
            self._cursor = self._writer.cursor()
            # closed in this order also when the dialect is garbage-collected unclosed
            weakref.finalize(self, _close_adbc, self._cursor, self._writer)
            for pragma in pragmas:
                self._cursor.execute(f"PRAGMA {pragma}")
                self._cursor.fetchall()
        return self._cursor

    def close(self) -> None:
        if self._cursor is not None:
            _close_adbc(self._cursor, self._writer)
            self._cursor = self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # ---- statements ---------------------------------------------------------------------------

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        if self._first:
            from adbc_driver_manager import Error

            cursor = self._publishing_cursor()
            try:
                cursor.execute(sql, tuple(parameters) or None)
            except Error as error:
                raise WarehouseError(f"{self.masked_url}: {_adbc_message(error)}") from None
            return [tuple(row) for row in cursor.fetchall()]
        return self.reader().execute(sql, tuple(parameters)).fetchall()

    def query_frame(self, sql: str) -> pl.DataFrame:
        if self._first:
            cursor = self._publishing_cursor()
            cursor.execute(sql)
            return pl.from_arrow(cursor.fetch_arrow_table())  # type: ignore[return-value]
        cursor = self.reader().execute(sql)
        names = [column[0] for column in cursor.description]
        return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        from adbc_driver_manager import Error

        cursor = self._publishing_cursor()
        try:
            cursor.execute(sql, tuple(parameters) or None)
            cursor.execute("SELECT changes()")
            return int(cursor.fetchone()[0])
        except Error as error:
            raise WarehouseError(f"{self.masked_url}: {_adbc_message(error)}") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._publishing_cursor().executemany(sql, [tuple(row) for row in rows])

    def _pragma(self, pragma: str) -> Any:
        cursor = self._publishing_cursor()
        cursor.execute(f"PRAGMA {pragma}")
        row = cursor.fetchone()
        return row[0] if row else None

    def _first_publish(self) -> bool:
        """No table yet: switch to rollback-journal mode for this publish (see the module
        docstring). The switch needs the only connection, so the reader is closed; if another
        process has the file open it stays in WAL mode, which is only slower.

        Until the publish ends, reads go through the publishing connection too: ADBC links its own
        copy of SQLite, and in rollback-journal mode a second copy opening or closing the file in
        the same process drops the writer's POSIX locks (another connection then takes its journal
        for a stale one and deletes it)."""
        if self.relations():
            return False
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        return str(self._pragma("journal_mode = DELETE")).lower() == "delete"

    @contextmanager
    def publish_lock(self) -> Iterator[None]:
        cursor = self._publishing_cursor()
        first = self._first = self._first_publish()
        if first:
            self._pragma("synchronous = FULL")  # its commit is the one sync of a first publish
        self._pragma(f"cache_size = -{PUBLISH_CACHE_KIB}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            self._pragma(f"cache_size = -{DEFAULT_CACHE_KIB}")  # the pages go back to the allocator
            if first:
                self._first = False
                self._pragma("synchronous = NORMAL")
            self._pragma("journal_mode = WAL")  # a no-op once the file is in WAL mode

    @contextmanager
    def transaction(self) -> Iterator[None]:
        cursor = self._publishing_cursor()
        cursor.execute("SAVEPOINT publish")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK TO publish")
            cursor.execute("RELEASE publish")
            raise
        cursor.execute("RELEASE publish")

    # ---- schema -------------------------------------------------------------------------------

    def _column_sql(self, spec: TableSpec, column) -> str:
        if column.type == "string":
            sql_type = f"VARCHAR({column.max_length})" if column.max_length else "TEXT"
        elif has_integer_key(spec) and column.name == spec.primary_key[0]:
            sql_type = "INTEGER"  # the rowid itself, the fastest primary key
        else:
            sql_type = SQLITE_TYPES[column.type]
        required = not column.nullable or column.name in spec.primary_key
        return f"{quote(column.name)} {sql_type}{' NOT NULL' if required else ''}"

    def create_table_sql(
        self, spec: TableSpec, name: str | None = None, *, keys_only: bool = False, temporary: bool = False
    ) -> str:
        lines = [self._column_sql(spec, column) for column in spec.columns]
        lines.append(f"PRIMARY KEY ({column_list(spec.primary_key)})")
        if not keys_only:
            lines += foreign_key_clauses(spec)
        body = ",\n  ".join(lines)
        return f"CREATE {'TEMP ' if temporary else ''}TABLE {quote(name or spec.name)} (\n  {body}\n)"

    def index_statements(self, spec: TableSpec) -> list[str]:
        return [
            f"CREATE INDEX {quote(f'ix_{spec.name}_' + '_'.join(index))} ON {quote(spec.name)} "
            f"({column_list(index)})"
            for index in secondary_indexes(spec)
        ]

    def schema_statements(self, spec: TableSpec) -> list[str]:
        return [self.create_table_sql(spec), *self.index_statements(spec)]

    def relations(self) -> set[str]:
        return {
            name for (name,) in self.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        }

    def create_view_statements(self, name: str, select: str) -> list[str]:
        return [f"DROP VIEW IF EXISTS {quote(name)}", f"CREATE VIEW {quote(name)} AS {select}"]

    def key_residue_sql(self, spec: TableSpec) -> str:
        return "key_hash28(" + " || char(31) || ".join(map(quote, spec.primary_key)) + ")"

    # ---- loads --------------------------------------------------------------------------------

    def _ingest(self, table: str, spec: TableSpec, rows: pl.DataFrame, *, temporary: bool) -> None:
        from adbc_driver_manager import Error

        if rows.is_empty():
            return
        try:
            loaded = self._publishing_cursor().adbc_ingest(
                table, rows.to_arrow(), mode="append", temporary=temporary
            )
        except Error as error:
            raise WarehouseError(f"{spec.name}: {_adbc_message(error)}") from None
        if loaded != rows.height:
            raise WarehouseError(f"{spec.name}: loaded {loaded:,} of {rows.height:,} rows")

    def stage(self, name: str, spec: TableSpec, rows: pl.DataFrame, log: Log) -> str:
        self.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")
        self.execute(self.create_table_sql(spec, name, keys_only=True, temporary=True))
        self._ingest(name, spec, rows, temporary=True)
        return "adbc_ingest"

    def drop_staged(self, names: Iterable[str]) -> None:
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")

    def upsert_sql(self, spec: TableSpec, staging: str) -> str:
        columns = column_list(spec.column_names)
        values = [name for name in spec.column_names if name not in spec.primary_key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in values)
            if values
            else "DO NOTHING"
        )
        # `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint
        return (
            f"INSERT INTO {quote(spec.name)} ({columns}) SELECT {columns} FROM temp.{quote(staging)} "
            f"WHERE true ON CONFLICT ({column_list(spec.primary_key)}) {action}"
        )

    def replace_table(
        self, spec: TableSpec, rows: pl.DataFrame, log: Log, phases: dict[str, float]
    ) -> tuple[str, str]:
        """Drop, create, bulk-load and index, inside the publish transaction (readers see the old
        table until it commits)."""
        with timed(phases, "load"):
            self.execute(f"DROP TABLE IF EXISTS {quote(spec.name)}")
            self.execute(self.create_table_sql(spec))
            self._ingest(spec.name, spec, rows, temporary=False)
        with timed(phases, "index"):
            self._pragma(f"cache_size = -{DEFAULT_CACHE_KIB}")
            try:
                for statement in self.index_statements(spec):
                    self.execute(statement)
            finally:
                self._pragma(f"cache_size = -{PUBLISH_CACHE_KIB}")
        return "adbc_ingest", "transaction"
