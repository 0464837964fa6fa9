"""The `Warehouse` resource: the SQL warehouse BI tools read, SQLite or MySQL/MariaDB by its URL.

`SPOTIFY_WAREHOUSE_URL` picks the dialect (`sqlite:///...`, `mysql://...`, `mariadb://...`), a
class of its own (`sqlite.py`, `mysql.py`); this class only delegates: publishing
(`publisher.py`), reading back, reconciliation statistics, bookkeeping. DDL comes from the
`TableSpec`: keys, foreign keys, indexes, DATE/DATETIME/BOOLEAN types, VARCHAR(max_length) or text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from ...settings import mask_url, warehouse_scheme
from ...tables import TableSpec
from ...transforms.listens import DEFAULT_LISTEN_RULE, parse_listen_rule
from . import bookkeeping
from .base import ConnectOptions, Dialect, Log, WarehouseError, column_list, quote
from .frames import load_frame, rows_frame
from .mysql import MysqlDialect
from .publisher import Publisher, PublishReport, PublishRequest
from .reconcile import Reconciler, whole_table_stats
from .sqlite import SqliteDialect
from .stats import TableStats
from .views import bi_views

DIALECTS: dict[str, type[Dialect]] = {"sqlite": SqliteDialect, "mysql": MysqlDialect, "mariadb": MysqlDialect}


@dataclass(frozen=True)
class PublishResult:
    """One table replaced whole by `Warehouse.replace_table`."""

    table: str
    row_count: int
    load_method: str  # adbc_ingest, load_data_local_infile or insert_batches
    swap: str  # transaction (SQLite), rename, replace_rows or create (MySQL)
    seconds: float
    phase_seconds: dict[str, float]


class Warehouse(dg.ConfigurableResource):
    """The SQL warehouse BI tools read: SQLite file or MySQL/MariaDB server, chosen by `url`.

    Connections open lazily and are reused for the whole run; `close()` (or the end of the run)
    releases them.
    """

    url: str
    batch_size: int = 10_000
    connect_timeout: int = 10
    read_timeout: int = 600
    local_infile: bool = True
    # MySQL: connections loading a whole table's chunks at once (the server parses LOAD DATA on one
    # thread per connection). More only pays on a server with idle cores: on a busy 2-core host
    # shared with the client, 2 took ~15% more server CPU for the same or a longer load.
    load_connections: int = 1
    # An unpartitioned table that changed is compared row by row up to this size, replaced above it.
    row_diff_limit: int = 1_000_000
    listen_rule: str = DEFAULT_LISTEN_RULE  # SPOTIFY_LISTEN_RULE: which plays the views count as listens

    def views(self) -> dict[str, str]:
        """The BI views' SELECTs under this warehouse's listen rule."""
        return bi_views(parse_listen_rule(self.listen_rule))

    _backend: Dialect | None = PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """`sqlite` or `mysql`."""
        return self._dialect_class().name

    def _dialect_class(self) -> type[Dialect]:
        scheme = warehouse_scheme(self.url)
        if scheme not in DIALECTS:
            raise WarehouseError(f"{mask_url(self.url)}: expected a sqlite:/// or mysql:// URL")
        return DIALECTS[scheme]

    @property
    def backend(self) -> Dialect:
        if self._backend is None:
            options = ConnectOptions(
                self.url,
                self.batch_size,
                self.connect_timeout,
                self.read_timeout,
                self.local_infile,
                self.load_connections,
            )
            self._backend = self._dialect_class()(options)
        return self._backend

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # ---- publishing ----------------------------------------------------------------------------

    def publish(self, request: PublishRequest, log: Log | None = None) -> PublishReport:
        """Bring every requested table (and view) to its lake version: incrementally where the
        markers allow, in one transaction; nothing written when nothing changed."""
        publisher = Publisher(
            self.backend, log or logging.getLogger(__name__), row_diff_limit=self.row_diff_limit
        )
        return publisher.publish(request)

    def replace_table(
        self, spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame, log: Log | None = None
    ) -> PublishResult:
        """Replace table `spec.name` with `frame`, atomically for readers, idempotently. Its
        bookkeeping is forgotten, so the next `publish` replaces it from the lake."""
        log = log or logging.getLogger(__name__)
        started = time.perf_counter()
        phases: dict[str, float] = {}
        rows = load_frame(spec, frame)
        backend = self.backend
        with backend.publish_lock():
            relations = backend.relations()
            if backend.atomic_ddl:
                with backend.transaction():
                    bookkeeping.forget(backend, spec.name, relations)
                    load_method, swap = backend.replace_table(spec, rows, log, phases)
            else:
                bookkeeping.forget(backend, spec.name, relations)
                load_method, swap = backend.replace_table(spec, rows, log, phases)
        seconds = time.perf_counter() - started
        log.info(
            f"{spec.name}: {rows.height:,} rows published to {self.masked_url} by {load_method} "
            f"({swap}) in {seconds:.2f} s"
        )
        return PublishResult(
            table=spec.name,
            row_count=rows.height,
            load_method=load_method,
            swap=swap,
            seconds=round(seconds, 3),
            phase_seconds=phases,
        )

    def forget_published(self, table: str) -> None:
        """Forget what was published of `table`: the next publish replaces it whole."""
        backend = self.backend
        with backend.publish_lock():
            relations = backend.relations()
            with backend.transaction():
                bookkeeping.forget(backend, table, relations)

    @contextmanager
    def reconciler(self, *, full: bool = False) -> Iterator[Reconciler]:
        """A `Reconciler` (reconcile.py) under the publish lock: no publish changes the warehouse
        while it compares; `full` compares every partition, whatever was verified before."""
        backend = self.backend
        with backend.publish_lock():
            yield Reconciler(backend, full=full)

    def published_versions(self) -> dict[str, int | None]:
        """Lake Delta version each table was last published from (tables never published: absent)."""
        backend = self.backend
        return {
            name: state.lake_version
            for name, state in bookkeeping.read_published(backend, backend.relations()).items()
        }

    # ---- reading -------------------------------------------------------------------------------

    def create_table_sql(self, spec: TableSpec, name: str | None = None, *, keys_only: bool = False) -> str:
        return self.backend.create_table_sql(spec, name, keys_only=keys_only)

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Rows of one SQL statement (`?` placeholders in SQLite, `%s` in MySQL)."""
        return self.backend.query(sql, parameters)

    def query_frame(self, sql: str) -> pl.DataFrame:
        return self.backend.query_frame(sql)

    def read(self, spec: TableSpec) -> pl.DataFrame:
        """The published table as a Polars frame typed like the lake's."""
        return rows_frame(
            spec, self.query(f"SELECT {column_list(spec.column_names)} FROM {quote(spec.name)}")
        )

    def table_stats(self, spec: TableSpec) -> TableStats:
        """Reconciliation stats computed in SQL, equal to `stats.table_stats(spec, lake frame)`."""
        backend = self.backend
        if spec.name not in backend.relations():
            raise WarehouseError(f"{spec.name}: not in the warehouse {self.masked_url} (never published?)")
        return whole_table_stats(backend, spec)
