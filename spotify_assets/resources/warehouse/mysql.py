"""MySQL / MariaDB / AWS RDS: `mysql://USER:PASSWORD@HOST:3306/DB`, optionally with
`?ssl_ca=/path/rds-ca.pem&ssl_verify=true` (TLS with the server certificate and host name checked,
as RDS with `require_secure_transport` demands). The connection is pymysql (`connection.py`).

Character set utf8mb4 everywhere. Text columns use an accent-sensitive, case-insensitive Unicode
collation (`utf8mb4_uca1400_as_ci` on MariaDB >= 10.10, `utf8mb4_0900_as_ci` on MySQL 8) so BI
filters ignore case but "Beyonce" and "Beyoncé" stay apart; string key columns use the byte-wise
NO PAD `utf8mb4_nopad_bin` / `utf8mb4_0900_bin` (so does a partitioned table's landing_file), so
primary keys are unique exactly when the bytes differ. Collations only govern comparison: stored
bytes round-trip exactly either way.

Incremental publishes stage their rows in TEMPORARY tables (`LOAD DATA LOCAL INFILE`, see
`loads.py`) and apply them in one InnoDB transaction with foreign key checks on: readers (MVCC)
see all of it or none of it.

Replacing a whole table (first publish, DDL changed), with foreign_key_checks=0 in the publishing
session only:
1. drop what a killed run may have left (`<t>__staging`, `<t>__retired`);
2. create `<t>__staging` with its primary key only and load it sorted by that key (InnoDB appends),
   over `load_connections` connections (`loads.py`);
3. one ALTER TABLE adds the indexes and foreign keys (a sort per index: 4x faster than loading
   into an indexed table), then every foreign key is checked for orphans;
4. swap. InnoDB re-points child foreign keys at a renamed parent (verified on MariaDB 10.11), so:
   - a table nothing references (fact_streams, album_art, rejected_plays) swaps with one atomic
     `RENAME TABLE t TO t__retired, t__staging TO t`; its unnamed `t__staging_ibfk_N` constraints
     become `t_ibfk_N` with it;
   - a referenced table (the dimensions) keeps its identity: one transaction deletes its rows and
     copies the staging rows in; only when its DDL differs (first publish, schema change) is it
     dropped and the staging table renamed in; children re-attach to the name.
A client killed at any point leaves the live table as it was and the next publish starts at step 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import pymysql

from ...tables import PARTITION_COLUMN, TABLES, WAREHOUSE_TABLES, TableSpec
from .base import (
    Dialect,
    Log,
    WarehouseError,
    column_list,
    foreign_key_clauses,
    quote,
    secondary_indexes,
    timed,
)
from .connection import connect
from .loads import load_rows

STAGING_SUFFIX = "__staging"
RETIRED_SUFFIX = "__retired"
UNKNOWN_COLLATION = 1273
FOREIGN_KEY_ERRORS = {1216, 1217, 1451, 1452}

TEXT_COLLATIONS = ("utf8mb4_uca1400_as_ci", "utf8mb4_0900_as_ci", "utf8mb4_bin")
KEY_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")
MYSQL_TYPES = {
    "int64": "BIGINT",
    "int32": "INT",
    "int16": "SMALLINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "DATETIME(6)",
}


def _is_key(spec: TableSpec, column: str) -> bool:
    """Key columns compare byte-wise: the primary key and a partitioned table's landing_file
    (partitions are deleted by it)."""
    return column in spec.primary_key or (spec.partitioned and column == PARTITION_COLUMN)


def _referenced_tables() -> set[str]:
    return {parent for spec in WAREHOUSE_TABLES for parent in spec.foreign_keys.values()}


class MysqlDialect(Dialect):
    name = "mysql"
    placeholder = "%s"
    atomic_ddl = False

    def __init__(self, options) -> None:
        super().__init__(options)
        self._connection: pymysql.Connection | None = None
        self._collations: tuple[str, str] | None = None

    def connection(self) -> pymysql.Connection:
        if self._connection is None:
            self._connection = connect(self.options)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ---- statements ---------------------------------------------------------------------------

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        with self.connection().cursor() as cursor:
            cursor.execute(sql, tuple(parameters) or None)
            return list(cursor.fetchall())

    def query_frame(self, sql: str) -> pl.DataFrame:
        with self.connection().cursor() as cursor:
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            rows = list(cursor.fetchall())
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        try:
            with self.connection().cursor() as cursor:
                return cursor.execute(sql, tuple(parameters) or None)
        except pymysql.err.IntegrityError as error:
            code, message = error.args[0], error.args[1]
            hint = " (a foreign key would break)" if code in FOREIGN_KEY_ERRORS else ""
            raise WarehouseError(f"{self.masked_url}: {message}{hint} [MySQL error {code}]") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.connection().cursor() as cursor:
                cursor.executemany(sql, [tuple(row) for row in rows])

    @contextmanager
    def publish_lock(self) -> Iterator[None]:
        name = "spotify_assets.publish"
        timeout = self.options.read_timeout
        if self.query("SELECT GET_LOCK(CONCAT(DATABASE(), '.', %s), %s)", (name, timeout))[0][0] != 1:
            raise WarehouseError(f"{self.masked_url}: another publish held the lock for {timeout} s")
        try:
            yield
        finally:
            self.query("SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.', %s))", (name,))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # ---- schema -------------------------------------------------------------------------------

    def collations(self) -> tuple[str, str]:
        """(text collation, key collation): the best the server offers."""
        if self._collations is None:
            self._collations = (self._first_supported(TEXT_COLLATIONS), self._first_supported(KEY_COLLATIONS))
        return self._collations

    def _first_supported(self, collations: tuple[str, ...]) -> str:
        for collation in collations[:-1]:
            try:
                self.query(f"SELECT _utf8mb4'a' COLLATE {collation}")
                return collation
            except pymysql.err.OperationalError as error:
                if error.args[0] != UNKNOWN_COLLATION:
                    raise
        return collations[-1]

    def _column_sql(self, spec: TableSpec, column) -> str:
        if column.type == "string":
            indexed = any(column.name in index for index in (spec.primary_key, *secondary_indexes(spec)))
            if indexed and column.max_length is None:
                raise ValueError(f"{spec.name}.{column.name} is indexed: give it a max_length")
            text_collation, key_collation = self.collations()
            sql_type = f"VARCHAR({column.max_length})" if column.max_length else "MEDIUMTEXT"
            sql_type += f" COLLATE {key_collation if _is_key(spec, column.name) else text_collation}"
        else:
            sql_type = MYSQL_TYPES[column.type]
        required = not column.nullable or column.name in spec.primary_key
        return f"{quote(column.name)} {sql_type}{' NOT NULL' if required else ''}"

    def index_and_foreign_key_clauses(self, spec: TableSpec) -> list[str]:
        return [
            f"KEY {quote('ix_' + '_'.join(index))} ({column_list(index)})"
            for index in secondary_indexes(spec)
        ] + foreign_key_clauses(spec)

    def create_table_sql(
        self, spec: TableSpec, name: str | None = None, *, keys_only: bool = False, temporary: bool = False
    ) -> str:
        lines = [self._column_sql(spec, column) for column in spec.columns]
        lines.append(f"PRIMARY KEY ({column_list(spec.primary_key)})")
        if not keys_only:
            lines += self.index_and_foreign_key_clauses(spec)
        body = ",\n  ".join(lines)
        return (
            f"CREATE {'TEMPORARY ' if temporary else ''}TABLE {quote(name or spec.name)} (\n  {body}\n) "
            f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={self.collations()[0]}"
        )

    def relations(self) -> set[str]:
        return {
            name
            for (name,) in self.query(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            )
        }

    def create_view_statements(self, name: str, select: str) -> list[str]:
        return [f"CREATE OR REPLACE SQL SECURITY INVOKER VIEW {quote(name)} AS {select}"]

    def key_residue_sql(self, spec: TableSpec) -> str:
        joined = f"CONCAT_WS(CHAR(31 USING utf8mb4), {column_list(spec.primary_key)})"
        return f"CAST(CONV(LEFT(SHA2({joined}, 256), 7), 16, 10) AS UNSIGNED)"

    # ---- loads --------------------------------------------------------------------------------

    def stage(self, name: str, spec: TableSpec, rows: pl.DataFrame, log: Log) -> str:
        self.execute(f"DROP TEMPORARY TABLE IF EXISTS {quote(name)}")
        self.execute(self.create_table_sql(spec, name, keys_only=True, temporary=True))
        return load_rows(self, name, spec, rows, log)

    def drop_staged(self, names: Iterable[str]) -> None:
        for name in names:
            self.execute(f"DROP TEMPORARY TABLE IF EXISTS {quote(name)}")

    def upsert_sql(self, spec: TableSpec, staging: str) -> str:
        columns = column_list(spec.column_names)
        values = [name for name in spec.column_names if name not in spec.primary_key] or [spec.primary_key[0]]
        return (
            f"INSERT INTO {quote(spec.name)} ({columns}) SELECT {columns} FROM {quote(staging)} "
            "ON DUPLICATE KEY UPDATE "
            + ", ".join(f"{quote(name)} = VALUES({quote(name)})" for name in values)
        )

    def replace_table(
        self, spec: TableSpec, rows: pl.DataFrame, log: Log, phases: dict[str, float]
    ) -> tuple[str, str]:
        staging, retired = spec.name + STAGING_SUFFIX, spec.name + RETIRED_SUFFIX
        self.execute("SET SESSION foreign_key_checks = 0")
        try:
            self.execute(f"DROP TABLE IF EXISTS {quote(staging)}, {quote(retired)}")
            self.execute(self.create_table_sql(spec, staging, keys_only=True))
            with timed(phases, "load"):
                load_method = load_rows(
                    self, staging, spec, rows, log, connections=self.options.load_connections
                )
            with timed(phases, "index"):
                self._index_and_check_foreign_keys(spec, staging)
            with timed(phases, "swap"):
                swap = self._swap(spec, staging, retired)
        finally:
            self.execute("SET SESSION foreign_key_checks = 1")
        return load_method, swap

    def _index_and_check_foreign_keys(self, spec: TableSpec, staging: str) -> None:
        """Add indexes and foreign keys in one sort-based ALTER, then look for orphan keys (with
        foreign_key_checks=0 the ALTER does not check them), on distinct values."""
        clauses = [f"ADD {clause}" for clause in self.index_and_foreign_key_clauses(spec)]
        if clauses:
            self.execute(f"ALTER TABLE {quote(staging)} {', '.join(clauses)}")
        for column, parent in spec.foreign_keys.items():
            parent_key = quote(TABLES[parent].primary_key[0])
            orphans, example = self.query(
                f"SELECT COUNT(*), MIN(s.{quote(column)}) FROM (SELECT DISTINCT {quote(column)} FROM "
                f"{quote(staging)}) s LEFT JOIN {quote(parent)} p ON p.{parent_key} = s.{quote(column)} "
                f"WHERE p.{parent_key} IS NULL"
            )[0]
            if orphans:
                raise WarehouseError(
                    f"{spec.name}.{column}: {orphans:,} distinct values missing from "
                    f"{parent} (e.g. {example}); publish {parent} first"
                )

    def _swap(self, spec: TableSpec, staging: str, retired: str) -> str:
        live = spec.name
        exists = live in self.relations()
        if exists and spec.name not in _referenced_tables():
            self.execute(f"RENAME TABLE {quote(live)} TO {quote(retired)}, {quote(staging)} TO {quote(live)}")
            self.execute(f"DROP TABLE {quote(retired)}")
            return "rename"
        if exists and self._same_ddl(live, staging):
            with self.transaction():
                self.execute(f"DELETE FROM {quote(live)}")
                self.execute(f"INSERT INTO {quote(live)} SELECT * FROM {quote(staging)}")
            self.execute(f"DROP TABLE {quote(staging)}")
            return "replace_rows"
        self.execute(f"DROP TABLE IF EXISTS {quote(live)}")
        self.execute(f"RENAME TABLE {quote(staging)} TO {quote(live)}")
        return "create"

    def _same_ddl(self, live: str, staging: str) -> bool:
        live_ddl = self.query(f"SHOW CREATE TABLE {quote(live)}")[0][1]
        staging_ddl = self.query(f"SHOW CREATE TABLE {quote(staging)}")[0][1].replace(
            f"`{staging}", f"`{live}"
        )
        return live_ddl == staging_ddl
