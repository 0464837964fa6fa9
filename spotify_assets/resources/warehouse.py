"""The warehouse: published tables in MySQL/MariaDB (pymysql) or an embedded SQLite file.

`SPOTIFY_WAREHOUSE_URL` picks the dialect: `sqlite:///data/warehouse.sqlite` (relative path;
`sqlite:////abs/path` for an absolute one) or `mysql://USER:PASSWORD@HOST:3306/DB`, optionally with
`?ssl_ca=/path/rds-ca.pem&ssl_verify=true` (TLS, host name checked, as AWS RDS with
`require_secure_transport` demands). DDL comes from the `TableSpec`: keys, foreign keys, indexes,
DATE/DATETIME(6)/BOOLEAN types, VARCHAR(max_length) or MEDIUMTEXT.

Character set (MySQL): utf8mb4 everywhere. Text columns use an accent-sensitive, case-insensitive
Unicode collation (`utf8mb4_uca1400_as_ci` on MariaDB >= 10.10, `utf8mb4_0900_as_ci` on MySQL 8)
so BI filters ignore case but "Beyonce" and "Beyoncé" stay apart; string key columns use the
byte-wise NO PAD `utf8mb4_nopad_bin` / `utf8mb4_0900_bin`, so primary keys are unique exactly when
the bytes differ (an accent-insensitive or PAD SPACE collation would merge "é"/"e" or "x"/"x ").
Collations only govern comparison: stored bytes round-trip exactly either way.

Publishing one table (MySQL), all under `GET_LOCK` so two runs never share a staging table, with
FOREIGN_KEY_CHECKS=0 in the publishing session only:
1. drop what a killed run may have left (`<t>__staging`, `<t>__retired`);
2. create `<t>__staging` with its primary key only;
3. `LOAD DATA LOCAL INFILE` of a tab-separated file Polars wrote (strings quoted, quotes doubled,
   no backslash escapes, unquoted NULL = NULL), sorted by primary key so InnoDB appends; when the
   server or client refuses local infile, multi-row INSERTs of `batch_size` rows instead;
4. the loaded row count must equal the frame's and `SHOW WARNINGS` must be empty (LOAD DATA LOCAL
   implies IGNORE: duplicate keys or truncated values only warn);
5. one ALTER TABLE adds the spec's indexes and foreign keys (a sort per index: 4x faster than
   loading into an indexed table), then every foreign key is checked for orphans;
6. swap. InnoDB re-points child foreign keys at a renamed parent: after `RENAME TABLE dim_artist TO
   dim_artist__retired` the fact's foreign key would follow the old table and break when it is
   dropped (verified on MariaDB 10.11, also with FOREIGN_KEY_CHECKS=0). So:
   - a table nothing references (fact_streams, album_art, rejected_plays) swaps with one atomic
     `RENAME TABLE t TO t__retired, t__staging TO t`; its own `t__staging_ibfk_N` constraints are
     renamed to `t_ibfk_N` with it (constraint names are unnamed on purpose: explicit names would
     clash between staging and live, they are unique per database);
   - a referenced table (the dimensions) keeps its identity: one transaction deletes its rows and
     copies the staging rows in, with FOREIGN_KEY_CHECKS=0 for that session; MVCC readers see the
     old rows until COMMIT. Only when its DDL differs from the spec (first publish, schema change)
     is it dropped and the staging table renamed in; children re-attach to the name.
A client killed at any point leaves the live table as it was (an aborted LOAD or transaction rolls
back, RENAME is atomic) and the next publish starts at step 1.

SQLite: drop, create, executemany and index creation in one `BEGIN IMMEDIATE` transaction, which is
atomic there (WAL journal, so readers keep reading the old version meanwhile).

Reconciliation stats are computed identically in Polars, SQLite and MySQL: the row count, SUM of
ms_played, and the key checksum = SUM over rows of a non-negative residue of the key:
- single integer key k: ((k % 2147483647) + 2147483647) % 2147483647  (same with truncating or
  flooring `%`);
- any other key: the first 7 hex digits (28 bits) of SHA-256 of the key columns as text joined by
  U+001F (SQLite has no hash function: the connection registers `key_hash28`).
Both stay far below 2^63 for billions of rows, so SQLite's integer SUM never overflows.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import dagster as dg
import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace)
import pymysql
from pydantic import PrivateAttr

from ..settings import mask_url
from ..tables import TABLES, WAREHOUSE_TABLES, TableSpec

STAGING_SUFFIX = "__staging"
RETIRED_SUFFIX = "__retired"
KEY_MODULUS = 2_147_483_647
KEY_SEPARATOR = "\x1f"
DATETIME_TEXT_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"
DATE_TEXT_FORMAT = "%Y-%m-%d"
LOAD_FILE_DIRECTORY = Path(tempfile.gettempdir()) / "spotify_assets_warehouse"

# MySQL error numbers meaning "LOAD DATA LOCAL is disabled" (server or client side).
LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}
ACCESS_DENIED = {1044, 1045, 1698}
UNKNOWN_DATABASE = 1049
UNKNOWN_COLLATION = 1273

TEXT_COLLATIONS = ("utf8mb4_uca1400_as_ci", "utf8mb4_0900_as_ci", "utf8mb4_bin")
KEY_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")

MYSQL_TYPES = {
    "int64": "BIGINT", "int32": "INT", "int16": "SMALLINT", "float64": "DOUBLE",
    "bool": "BOOLEAN", "date": "DATE", "datetime": "DATETIME(6)",
}
SQLITE_TYPES = {
    "int64": "BIGINT", "int32": "INT", "int16": "SMALLINT", "float64": "DOUBLE",
    "bool": "BOOLEAN", "date": "DATE", "datetime": "DATETIME",
}

# BI views: one dialect-neutral SELECT each (LEFT JOINs, so totals always equal the fact's).
MINUTES = "ROUND(SUM(f.ms_played) / 60000.0, 1)"
BI_VIEWS: dict[str, str] = {
    "v_streams": """
SELECT f.play_key, f.ts_utc AS played_at_utc, d.date AS local_date, f.hour AS local_hour,
       d.year, d.quarter, d.month, d.month_name, d.weekday, d.weekday_name, d.is_weekend,
       f.content_type, t.track_name, t.track_uri, a.artist_name, al.album_name,
       p.platform, p.platform_family, r.reason_start, r.reason_end,
       f.ms_played, f.ms_played / 60000.0 AS minutes_played,
       f.shuffle, f.skipped, f.offline, f.incognito_mode, f.source_file
FROM fact_streams f
LEFT JOIN dim_date d ON d.date_key = f.date_key
LEFT JOIN dim_track t ON t.track_key = f.track_key
LEFT JOIN dim_artist a ON a.artist_key = f.artist_key
LEFT JOIN dim_album al ON al.album_key = f.album_key
LEFT JOIN dim_platform p ON p.platform_key = f.platform_key
LEFT JOIN dim_reason r ON r.reason_key = f.reason_key""",
    "v_minutes_by_month": f"""
SELECT d.year, d.month, d.month_name, d.year * 100 + d.month AS month_key,
       COUNT(*) AS plays, {MINUTES} AS minutes_played
FROM fact_streams f
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY d.year, d.month, d.month_name""",
    "v_top_artists": f"""
SELECT RANK() OVER (ORDER BY SUM(f.ms_played) DESC) AS artist_rank,
       a.artist_key, a.artist_name, COUNT(*) AS plays, {MINUTES} AS minutes_played,
       MIN(f.ts_utc) AS first_played_utc, MAX(f.ts_utc) AS last_played_utc
FROM fact_streams f
JOIN dim_artist a ON a.artist_key = f.artist_key
GROUP BY a.artist_key, a.artist_name""",
    "v_listening_by_weekday_hour": f"""
SELECT d.weekday, d.weekday_name, f.hour AS local_hour,
       COUNT(*) AS plays, {MINUTES} AS minutes_played
FROM fact_streams f
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY d.weekday, d.weekday_name, f.hour""",
}


class WarehouseError(RuntimeError):
    """A publish, read or connection failure; messages never contain the password."""


@dataclass(frozen=True)
class PublishResult:
    table: str
    row_count: int
    load_method: str  # load_data_local_infile, insert_batches or sqlite_executemany
    swap: str  # rename, replace_rows, create or transaction
    seconds: float
    phase_seconds: dict[str, float]  # prepare, load, index (MySQL), swap (MySQL)


@dataclass(frozen=True)
class TableStats:
    row_count: int
    key_checksum: int
    ms_played_sum: int | None

    def as_metadata(self, prefix: str) -> dict[str, int]:
        metadata = {f"{prefix}_row_count": self.row_count, f"{prefix}_key_checksum": self.key_checksum}
        if self.ms_played_sum is not None:
            metadata[f"{prefix}_ms_played_sum"] = self.ms_played_sum
        return metadata


def _has_integer_key(spec: TableSpec) -> bool:
    return len(spec.primary_key) == 1 and spec.column(spec.primary_key[0]).type.startswith("int")


def table_stats(spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame) -> TableStats:
    """Reconciliation stats of a Polars frame (the lake side), defined in the module docstring."""
    if _has_integer_key(spec):
        key = pl.col(spec.primary_key[0]).cast(pl.Int64)
        residue = ((key % KEY_MODULUS) + KEY_MODULUS) % KEY_MODULUS
    else:
        joined = pl.concat_str([pl.col(name).cast(pl.String) for name in spec.primary_key],
                               separator=KEY_SEPARATOR)
        residue = joined.chash.sha2_256().str.slice(0, 7).str.to_integer(base=16)
    aggregates = [pl.len().alias("rows"), residue.cast(pl.Int64).sum().alias("checksum")]
    if "ms_played" in spec.column_names:
        aggregates.append(pl.col("ms_played").sum().alias("ms_played"))
    row = frame.lazy().select(aggregates).collect().row(0, named=True)
    return TableStats(row["rows"], row["checksum"], row.get("ms_played"))


def _key_hash28(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)


def _referenced_tables() -> set[str]:
    return {parent for spec in WAREHOUSE_TABLES for parent in spec.foreign_keys.values()}


def _load_frame(spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The frame conformed to the spec, sorted by key, with values in the warehouse's text forms."""
    converted = []
    for column in spec.columns:
        expr = pl.col(column.name)
        if column.type == "datetime":
            expr = expr.dt.convert_time_zone("UTC").dt.strftime(DATETIME_TEXT_FORMAT)
        elif column.type == "date":
            expr = expr.dt.strftime(DATE_TEXT_FORMAT)
        elif column.type == "bool":
            expr = expr.cast(pl.Int8)
        converted.append(expr)
    return spec.conform(frame).sort(list(spec.primary_key)).select(converted).collect(engine="streaming")


def _from_warehouse(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows read back from either dialect, typed as the spec says."""
    converted = []
    for column in spec.columns:
        expr = pl.col(column.name)
        dtype = frame.schema[column.name]
        if column.type == "datetime":
            expr = (expr.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us")
                    if dtype == pl.String else expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        elif column.type == "date" and dtype == pl.String:
            expr = expr.str.to_date(DATE_TEXT_FORMAT)
        converted.append(expr)
    return spec.conform(frame.select(converted)).collect()


@contextmanager
def _timed(phases: dict[str, float], phase: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    phases[phase] = round(time.perf_counter() - started, 3)


def _quote(name: str) -> str:
    return f"`{name}`"


class Warehouse(dg.ConfigurableResource):
    """The SQL warehouse BI tools read: SQLite file or MySQL/MariaDB server, chosen by `url`.

    One connection is opened lazily and reused for the whole run; `close()` (or the end of the
    run) releases it.
    """

    url: str
    batch_size: int = 10_000
    connect_timeout: int = 10
    read_timeout: int = 600
    local_infile: bool = True

    _connection: Any = PrivateAttr(default=None)
    _collations: tuple[str, str] | None = PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        scheme = urlsplit(self.url).scheme.split("+")[0]
        if scheme not in ("sqlite", "mysql", "mariadb"):
            raise WarehouseError(f"{mask_url(self.url)}: expected a sqlite:/// or mysql:// URL")
        return "sqlite" if scheme == "sqlite" else "mysql"

    @property
    def _database(self) -> str:
        return unquote(urlsplit(self.url).path.lstrip("/"))

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ---- connections -------------------------------------------------------------------------

    def connection(self) -> Any:
        if self._connection is None:
            self._connection = self._connect_sqlite() if self.dialect == "sqlite" else self._connect_mysql()
        return self._connection

    def _connect_sqlite(self) -> sqlite3.Connection:
        path = Path(unquote(urlsplit(self.url).path)[1:] or "warehouse.sqlite")
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=self.read_timeout, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.create_function("key_hash28", 1, _key_hash28, deterministic=True)
        return connection

    def _connect_mysql(self) -> pymysql.Connection:
        parts = urlsplit(self.url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        database = self._database
        if not database:
            raise WarehouseError(f"{self.masked_url}: the URL names no database (mysql://.../DB)")
        options: dict[str, Any] = {}
        if "ssl_ca" in query:
            verify = query.get("ssl_verify", "false").lower() in ("1", "true", "yes")
            options.update(ssl_ca=query["ssl_ca"], ssl_verify_cert=verify, ssl_verify_identity=verify)
        try:
            connection = pymysql.connect(
                host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                user=unquote(parts.username or ""), password=unquote(parts.password or ""),
                charset="utf8mb4", autocommit=True, local_infile=self.local_infile,
                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                write_timeout=self.read_timeout,
                init_command="SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
                             "time_zone='+00:00'",
                **options,
            )
        except pymysql.err.OperationalError as error:
            code = error.args[0]
            reason = "access denied (wrong user or password?)" if code in ACCESS_DENIED else "unreachable"
            raise WarehouseError(f"cannot connect to the warehouse {self.masked_url}: {reason} "
                                 f"[MySQL error {code}]") from None
        try:
            connection.select_db(database)
        except pymysql.err.OperationalError as error:
            if error.args[0] != UNKNOWN_DATABASE:
                raise
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {_quote(database)} CHARACTER SET utf8mb4")
            connection.select_db(database)
        return connection

    def _mysql_collations(self) -> tuple[str, str]:
        """(text collation, key collation): the best the server offers, see the module docstring."""
        if self._collations is None:
            self._collations = (self._first_supported(TEXT_COLLATIONS), self._first_supported(KEY_COLLATIONS))
        return self._collations

    def _first_supported(self, collations: tuple[str, ...]) -> str:
        with self.connection().cursor() as cursor:
            for collation in collations[:-1]:
                try:
                    cursor.execute(f"SELECT _utf8mb4'a' COLLATE {collation}")
                    return collation
                except pymysql.err.OperationalError as error:
                    if error.args[0] != UNKNOWN_COLLATION:
                        raise
        return collations[-1]

    # ---- DDL ---------------------------------------------------------------------------------

    def create_table_sql(self, spec: TableSpec, name: str | None = None, *, keys_only: bool = False) -> str:
        """CREATE TABLE for `spec` in this dialect; `keys_only` leaves out indexes and foreign keys."""
        name = name or spec.name
        mysql = self.dialect == "mysql"
        lines = [self._column_sql(spec, column) for column in spec.columns]
        lines.append(f"PRIMARY KEY ({', '.join(map(_quote, spec.primary_key))})")
        if not keys_only:
            lines += self._index_and_foreign_key_sql(spec) if mysql else self._foreign_key_sql(spec)
        body = ",\n  ".join(lines)
        options = ""
        if mysql:
            options = f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={self._mysql_collations()[0]}"
        return f"CREATE TABLE {_quote(name)} (\n  {body}\n){options}"

    def _column_sql(self, spec: TableSpec, column) -> str:
        mysql = self.dialect == "mysql"
        if column.type == "string":
            indexed = any(column.name in index for index in (spec.primary_key, *spec.indexes))
            if indexed and column.max_length is None and mysql:
                raise ValueError(f"{spec.name}.{column.name} is indexed: give it a max_length")
            sql_type = f"VARCHAR({column.max_length})" if column.max_length else (
                "MEDIUMTEXT" if mysql else "TEXT")
            if mysql:
                text_collation, key_collation = self._mysql_collations()
                sql_type += f" COLLATE {key_collation if column.name in spec.primary_key else text_collation}"
        elif not mysql and _has_integer_key(spec) and column.name == spec.primary_key[0]:
            sql_type = "INTEGER"  # SQLite: the rowid itself, the fastest primary key
        else:
            sql_type = (MYSQL_TYPES if mysql else SQLITE_TYPES)[column.type]
        required = not column.nullable or column.name in spec.primary_key
        return f"{_quote(column.name)} {sql_type}{' NOT NULL' if required else ''}"

    @staticmethod
    def _foreign_key_sql(spec: TableSpec) -> list[str]:
        return [f"FOREIGN KEY ({_quote(column)}) REFERENCES {_quote(parent)} "
                f"({_quote(TABLES[parent].primary_key[0])})" for column, parent in spec.foreign_keys.items()]

    def _index_and_foreign_key_sql(self, spec: TableSpec) -> list[str]:
        return [f"KEY {_quote('ix_' + '_'.join(index))} ({', '.join(map(_quote, index))})"
                for index in spec.indexes] + self._foreign_key_sql(spec)

    def _sqlite_index_sql(self, spec: TableSpec) -> list[str]:
        return [f"CREATE INDEX {_quote(f'ix_{spec.name}_' + '_'.join(index))} ON {_quote(spec.name)} "
                f"({', '.join(map(_quote, index))})" for index in spec.indexes]

    # ---- publish -----------------------------------------------------------------------------

    def publish(self, spec: TableSpec, frame: pl.DataFrame | pl.LazyFrame,
                log: logging.Logger | dg.DagsterLogManager | None = None) -> PublishResult:
        """Replace table `spec.name` with `frame`, atomically for readers, idempotently."""
        log = log or logging.getLogger(__name__)
        started = time.perf_counter()
        phases: dict[str, float] = {}
        with _timed(phases, "prepare"):
            rows = _load_frame(spec, frame)
        if self.dialect == "sqlite":
            with _timed(phases, "load"):
                load_method, swap = self._publish_sqlite(spec, rows), "transaction"
        else:
            load_method, swap = self._publish_mysql(spec, rows, log, phases)
        seconds = time.perf_counter() - started
        log.info(f"{spec.name}: {rows.height:,} rows published to {self.masked_url} by {load_method} "
                 f"({swap}) in {seconds:.2f} s ({rows.height / max(seconds, 1e-9):,.0f} rows/s; "
                 + ", ".join(f"{phase} {value:.2f} s" for phase, value in phases.items()) + ")")
        return PublishResult(spec.name, rows.height, load_method, swap, round(seconds, 3), phases)

    def _publish_sqlite(self, spec: TableSpec, rows: pl.DataFrame) -> str:
        connection = self.connection()
        placeholders = ", ".join("?" for _ in spec.columns)
        columns = ", ".join(map(_quote, spec.column_names))
        with self._sqlite_transaction(connection):
            connection.execute(f"DROP TABLE IF EXISTS {_quote(spec.name)}")
            connection.execute(self.create_table_sql(spec))
            try:
                inserted = connection.executemany(
                    f"INSERT INTO {_quote(spec.name)} ({columns}) VALUES ({placeholders})", rows.iter_rows()
                ).rowcount
            except sqlite3.IntegrityError as error:
                raise WarehouseError(f"{spec.name}: {error}") from None
            if inserted != rows.height:
                raise WarehouseError(f"{spec.name}: inserted {inserted} rows, expected {rows.height}")
            for statement in self._sqlite_index_sql(spec):
                connection.execute(statement)
        return "sqlite_executemany"

    @contextmanager
    def _sqlite_transaction(self, connection: sqlite3.Connection) -> Iterator[None]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _publish_mysql(self, spec: TableSpec, rows: pl.DataFrame, log,
                       phases: dict[str, float]) -> tuple[str, str]:
        staging, retired = spec.name + STAGING_SUFFIX, spec.name + RETIRED_SUFFIX
        with self._mysql_lock(spec.name), self.connection().cursor() as cursor:
            cursor.execute("SET SESSION foreign_key_checks = 0")
            try:
                cursor.execute(f"DROP TABLE IF EXISTS {_quote(staging)}, {_quote(retired)}")
                cursor.execute(self.create_table_sql(spec, staging, keys_only=True))
                with _timed(phases, "load"):
                    load_method = self._load_mysql(cursor, staging, spec, rows, log)
                with _timed(phases, "index"):
                    self._index_and_check_foreign_keys(cursor, spec, staging)
                with _timed(phases, "swap"):
                    swap = self._swap_mysql(cursor, spec, staging, retired)
            finally:
                cursor.execute("SET SESSION foreign_key_checks = 1")
        return load_method, swap

    def _index_and_check_foreign_keys(self, cursor, spec: TableSpec, staging: str) -> None:
        """Add indexes and foreign keys in one sort-based ALTER, then look for orphan keys.

        Loading into a primary-key-only table sorted by that key and indexing afterwards is 4x
        faster than maintaining six secondary indexes row by row; with foreign_key_checks=0 the
        ALTER adds the foreign keys without checking, so each is checked here on its distinct
        values (a loose index scan).
        """
        clauses = [f"ADD {clause}" for clause in self._index_and_foreign_key_sql(spec)]
        if clauses:
            cursor.execute(f"ALTER TABLE {_quote(staging)} {', '.join(clauses)}")
        for column, parent in spec.foreign_keys.items():
            parent_key = _quote(TABLES[parent].primary_key[0])
            cursor.execute(
                f"SELECT COUNT(*), MIN(s.{_quote(column)}) FROM (SELECT DISTINCT {_quote(column)} FROM "
                f"{_quote(staging)}) s LEFT JOIN {_quote(parent)} p ON p.{parent_key} = s.{_quote(column)} "
                f"WHERE p.{parent_key} IS NULL")
            orphans, example = cursor.fetchone()
            if orphans:
                raise WarehouseError(f"{spec.name}.{column}: {orphans:,} distinct values missing from "
                                     f"{parent} (e.g. {example}); publish {parent} first")

    @contextmanager
    def _mysql_lock(self, table: str) -> Iterator[None]:
        name = f"spotify_assets.publish.{table}"
        with self.connection().cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(CONCAT(DATABASE(), '.', %s), %s)", (name, self.read_timeout))
            if cursor.fetchone()[0] != 1:
                raise WarehouseError(f"{table}: another publish holds the lock for {self.read_timeout} s")
            try:
                yield
            finally:
                cursor.execute("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.', %s))", (name,))

    def _load_mysql(self, cursor, staging: str, spec: TableSpec, rows: pl.DataFrame, log) -> str:
        if self.local_infile and self._load_data_local(cursor, staging, spec, rows, log):
            return "load_data_local_infile"
        columns = ", ".join(map(_quote, spec.column_names))
        placeholders = ", ".join("%s" for _ in spec.columns)
        insert = f"INSERT INTO {_quote(staging)} ({columns}) VALUES ({placeholders})"
        loaded = 0
        for batch in rows.iter_slices(self.batch_size):
            loaded += cursor.executemany(insert, batch.rows())
            self._verify_load(cursor, spec.name, loaded, expected=loaded)
            log.debug(f"{spec.name}: {loaded:,} of {rows.height:,} rows inserted")
        self._verify_load(cursor, spec.name, loaded, rows.height)
        return "insert_batches"

    def _load_data_local(self, cursor, staging: str, spec: TableSpec, rows: pl.DataFrame, log) -> bool:
        """One LOAD DATA LOCAL INFILE of the rows; False when the server or client refuses it."""
        # One file name per database and table, written under the publish lock: a file a killed
        # run left behind is overwritten, then removed, by the next publish.
        LOAD_FILE_DIRECTORY.mkdir(exist_ok=True)
        path = LOAD_FILE_DIRECTORY / f"{self._database}.{spec.name}.tsv"
        rows.write_csv(path, separator="\t", quote_style="non_numeric", null_value="NULL",
                       include_header=False, line_terminator="\n")
        columns = ", ".join(map(_quote, spec.column_names))
        try:
            loaded = cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {_quote(staging)} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                f"LINES TERMINATED BY '\\n' ({columns})", (str(path),))
        except pymysql.err.OperationalError as error:
            if error.args[0] not in LOCAL_INFILE_REFUSED:
                raise
            log.warning(f"{spec.name}: LOAD DATA LOCAL refused ({error.args[1]}); "
                        f"falling back to INSERT batches of {self.batch_size:,} rows")
            return False
        finally:
            path.unlink(missing_ok=True)
        self._verify_load(cursor, spec.name, loaded, rows.height)
        return True

    @staticmethod
    def _verify_load(cursor, table: str, loaded: int, expected: int) -> None:
        cursor.execute("SHOW WARNINGS LIMIT 5")
        warnings = cursor.fetchall()
        if warnings or loaded != expected:
            details = "; ".join(f"{level} {code}: {message}" for level, code, message in warnings)
            raise WarehouseError(f"{table}: loaded {loaded:,} of {expected:,} rows"
                                 + (f"; warnings: {details}" if details else ""))

    def _swap_mysql(self, cursor, spec: TableSpec, staging: str, retired: str) -> str:
        live = spec.name
        cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (live,))
        exists = cursor.fetchone()[0] == 1
        if exists and spec.name not in _referenced_tables():
            cursor.execute(f"RENAME TABLE {_quote(live)} TO {_quote(retired)}, "
                           f"{_quote(staging)} TO {_quote(live)}")
            cursor.execute(f"DROP TABLE {_quote(retired)}")
            return "rename"
        if exists and self._same_ddl(cursor, live, staging):
            cursor.execute("BEGIN")
            try:
                cursor.execute(f"DELETE FROM {_quote(live)}")
                cursor.execute(f"INSERT INTO {_quote(live)} SELECT * FROM {_quote(staging)}")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            cursor.execute(f"DROP TABLE {_quote(staging)}")
            return "replace_rows"
        cursor.execute(f"DROP TABLE IF EXISTS {_quote(live)}")
        cursor.execute(f"RENAME TABLE {_quote(staging)} TO {_quote(live)}")
        return "create"

    @staticmethod
    def _same_ddl(cursor, live: str, staging: str) -> bool:
        cursor.execute(f"SHOW CREATE TABLE {_quote(live)}")
        live_ddl = cursor.fetchone()[1]
        cursor.execute(f"SHOW CREATE TABLE {_quote(staging)}")
        staging_ddl = cursor.fetchone()[1].replace(f"`{staging}", f"`{live}")
        return live_ddl == staging_ddl

    # ---- views, reads, stats -----------------------------------------------------------------

    def create_views(self) -> dict[str, str]:
        """(Re)create the BI views over the star schema; returns view name -> SELECT."""
        connection = self.connection()
        if self.dialect == "sqlite":
            with self._sqlite_transaction(connection):
                for name, select in BI_VIEWS.items():
                    connection.execute(f"DROP VIEW IF EXISTS {_quote(name)}")
                    connection.execute(f"CREATE VIEW {_quote(name)} AS {select}")
        else:
            with connection.cursor() as cursor:
                for name, select in BI_VIEWS.items():
                    cursor.execute(f"CREATE OR REPLACE SQL SECURITY INVOKER VIEW {_quote(name)} AS {select}")
        return dict(BI_VIEWS)

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Rows of one SQL statement (`?` placeholders in SQLite, `%s` in MySQL)."""
        connection = self.connection()
        if self.dialect == "sqlite":
            return connection.execute(sql, parameters).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters or None)
            return list(cursor.fetchall())

    def read(self, spec: TableSpec) -> pl.DataFrame:
        """The published table as a Polars frame typed like the lake's."""
        columns = ", ".join(map(_quote, spec.column_names))
        rows = self.query(f"SELECT {columns} FROM {_quote(spec.name)}")
        frame = pl.DataFrame(rows, schema=spec.column_names, orient="row", infer_schema_length=None)
        return _from_warehouse(spec, frame)

    def table_stats(self, spec: TableSpec) -> TableStats:
        """Reconciliation stats computed in SQL, equal to `table_stats(spec, lake frame)`."""
        if _has_integer_key(spec):
            key = _quote(spec.primary_key[0])
            residue = f"(({key} % {KEY_MODULUS}) + {KEY_MODULUS}) % {KEY_MODULUS}"
        elif self.dialect == "sqlite":
            residue = "key_hash28(" + " || char(31) || ".join(map(_quote, spec.primary_key)) + ")"
        else:
            joined = f"CONCAT_WS(CHAR(31 USING utf8mb4), {', '.join(map(_quote, spec.primary_key))})"
            residue = f"CAST(CONV(LEFT(SHA2({joined}, 256), 7), 16, 10) AS UNSIGNED)"
        ms_played = "SUM(`ms_played`)" if "ms_played" in spec.column_names else "NULL"
        row_count, checksum, ms_sum = self.query(
            f"SELECT COUNT(*), COALESCE(SUM({residue}), 0), {ms_played} FROM {_quote(spec.name)}")[0]
        return TableStats(int(row_count), int(checksum),
                          None if ms_played == "NULL" else int(ms_sum or 0))
