"""What every warehouse dialect shares: the error type, the dialect interface and small helpers.

A dialect (`sqlite.SqliteDialect`, `mysql.MysqlDialect`) owns its connections, its DDL, its bulk
load and its way of replacing a whole table. Everything above it (planning an incremental publish,
ordering the statements of its transaction, bookkeeping, statistics) is dialect-neutral and talks
to a dialect only through the methods declared here.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import dagster as dg
import polars as pl

from ...settings import mask_url
from ...tables import PARTITION_COLUMN, TABLES, TableSpec

Log = logging.Logger | dg.DagsterLogManager


class WarehouseError(RuntimeError):
    """A publish, read or connection failure; messages never contain the password."""


@dataclass(frozen=True)
class ConnectOptions:
    url: str
    batch_size: int
    connect_timeout: int
    read_timeout: int
    local_infile: bool
    load_connections: int = 1

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


def quote(name: str) -> str:
    """An identifier quoted for both dialects (SQLite accepts MySQL's backticks)."""
    return f"`{name}`"


def column_list(names: Iterable[str]) -> str:
    return ", ".join(map(quote, names))


def has_integer_key(spec: TableSpec) -> bool:
    return len(spec.primary_key) == 1 and spec.column(spec.primary_key[0]).type.startswith("int")


def foreign_key_clauses(spec: TableSpec) -> list[str]:
    return [
        f"FOREIGN KEY ({quote(column)}) REFERENCES {quote(parent)} ({quote(TABLES[parent].primary_key[0])})"
        for column, parent in spec.foreign_keys.items()
    ]


def secondary_indexes(spec: TableSpec) -> list[tuple[str, ...]]:
    """The spec's indexes plus, for a partitioned table, one on the partition column when the
    primary key does not start with it: an incremental publish deletes a partition's rows by it."""
    indexes = list(spec.indexes)
    if spec.partitioned and spec.primary_key[0] != PARTITION_COLUMN and (PARTITION_COLUMN,) not in indexes:
        indexes.append((PARTITION_COLUMN,))
    return indexes


@contextmanager
def timed(phases: dict[str, float], phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[phase] = round(phases.get(phase, 0.0) + time.perf_counter() - started, 3)


class Dialect(ABC):
    """One SQL dialect of the warehouse. `query` reads committed data; `execute` and the loads run
    on the connection that holds the publish lock and transaction. A publish reads everything it
    needs before its first write, and no other publish can write meanwhile (the lock), so what
    `query` returns then is what the publishing connection sees."""

    name: ClassVar[str]
    placeholder: ClassVar[str]  # parameter marker of `query`, `fetch`, `execute`
    # DDL can run inside the publish transaction (SQLite); otherwise a publish that must replace a
    # whole table swaps each changed table on its own (MySQL: DDL commits implicitly).
    atomic_ddl: ClassVar[bool]

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options

    @property
    def masked_url(self) -> str:
        return self.options.masked_url

    @abstractmethod
    def close(self) -> None: ...

    # ---- statements ---------------------------------------------------------------------------

    @abstractmethod
    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        """Rows of one statement on the reading connection (committed data)."""

    @abstractmethod
    def query_frame(self, sql: str) -> pl.DataFrame:
        """The rows of one SELECT as a frame named by its columns (values as the driver returns them)."""

    @abstractmethod
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run one statement on the publishing connection; returns the rows it changed."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def publish_lock(self) -> AbstractContextManager[None]:
        """Held for a whole publish, so two publishes never interleave."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit inside the publish lock: committed at the end, rolled back on error."""

    # ---- schema -------------------------------------------------------------------------------

    @abstractmethod
    def create_table_sql(
        self, spec: TableSpec, name: str | None = None, *, keys_only: bool = False, temporary: bool = False
    ) -> str:
        """CREATE TABLE for `spec`; `keys_only` leaves out indexes and foreign keys."""

    def schema_statements(self, spec: TableSpec) -> list[str]:
        """Every statement that creates the table as the spec says (its fingerprint decides
        whether a published table still matches the spec)."""
        return [self.create_table_sql(spec)]

    @abstractmethod
    def relations(self) -> set[str]:
        """Names of the tables and views in the warehouse (read on the publishing connection)."""

    @abstractmethod
    def create_view_statements(self, name: str, select: str) -> list[str]: ...

    @abstractmethod
    def key_residue_sql(self, spec: TableSpec) -> str:
        """SQL of the per-row key residue of `stats.table_stats` for a non-integer key."""

    # ---- loads --------------------------------------------------------------------------------

    @abstractmethod
    def stage(self, name: str, spec: TableSpec, rows: pl.DataFrame, log: Log) -> str:
        """Create temporary table `name` (the spec's columns and primary key) holding `rows` (a
        load frame); returns the load method. The row count is verified."""

    @abstractmethod
    def drop_staged(self, names: Iterable[str]) -> None: ...

    @abstractmethod
    def upsert_sql(self, spec: TableSpec, staging: str) -> str:
        """Insert every staged row, updating the row with the same primary key where one exists."""

    @abstractmethod
    def replace_table(
        self, spec: TableSpec, rows: pl.DataFrame, log: Log, phases: dict[str, float]
    ) -> tuple[str, str]:
        """Replace the live table with `rows` (a load frame); returns (load method, swap)."""
