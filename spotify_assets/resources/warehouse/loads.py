"""MySQL bulk loads: `LOAD DATA LOCAL INFILE` of files Polars writes, verified, with a fallback.

The rows (a load frame, sorted by primary key) are written as tab-separated text (strings quoted,
quotes doubled, no backslash escapes, unquoted NULL = NULL) and loaded with one LOAD DATA per
chunk of `CHUNK_ROWS` rows: each chunk commits on its own, so InnoDB never holds the undo of a
10M-row statement. `LOAD DATA LOCAL` implies IGNORE (duplicate keys or truncated values only
warn), so each chunk's loaded row count must equal its rows and `SHOW WARNINGS` must be empty.
When the server or client refuses local infile, multi-row INSERTs of `batch_size` rows instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pymysql

from ...tables import TableSpec
from .base import Log, WarehouseError, column_list, quote
from .connection import database_name

if TYPE_CHECKING:
    from .mysql import MysqlDialect

# MySQL error numbers meaning "LOAD DATA LOCAL is disabled" (server or client side).
LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}
LOAD_FILE_DIRECTORY = Path(tempfile.gettempdir()) / "spotify_assets_warehouse"
CHUNK_ROWS = 1_000_000


def load_rows(dialect: MysqlDialect, table: str, spec: TableSpec, rows: pl.DataFrame, log: Log) -> str:
    """Load `rows` into the empty table `table`; returns the load method."""
    if dialect.options.local_infile and _load_data_local(dialect, table, spec, rows, log):
        return "load_data_local_infile"
    insert = (
        f"INSERT INTO {quote(table)} ({column_list(spec.column_names)}) "
        f"VALUES ({', '.join('%s' for _ in spec.columns)})"
    )
    loaded = expected = 0
    with dialect.connection().cursor() as cursor:
        for batch in rows.iter_slices(dialect.options.batch_size):
            loaded += cursor.executemany(insert, batch.rows()) or 0
            expected += batch.height
            _verify(cursor, spec.name, loaded, expected)
            log.debug(f"{spec.name}: {loaded:,} of {rows.height:,} rows inserted")
    return "insert_batches"


def _load_data_local(
    dialect: MysqlDialect, table: str, spec: TableSpec, rows: pl.DataFrame, log: Log
) -> bool:
    """LOAD DATA LOCAL INFILE of the rows, chunk by chunk; False when local infile is refused."""
    # One file name per database and table, written under the publish lock: a file a killed run
    # left behind is overwritten, then removed, by the next publish.
    LOAD_FILE_DIRECTORY.mkdir(exist_ok=True)
    path = LOAD_FILE_DIRECTORY / f"{database_name(dialect.options.url)}.{table}.tsv"
    statement = (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(table)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
        f"LINES TERMINATED BY '\\n' ({column_list(spec.column_names)})"
    )
    loaded = expected = 0
    try:
        with dialect.connection().cursor() as cursor:
            for chunk in rows.iter_slices(CHUNK_ROWS):
                chunk.write_csv(
                    path,
                    separator="\t",
                    quote_style="non_numeric",
                    null_value="NULL",
                    include_header=False,
                    line_terminator="\n",
                )
                loaded += cursor.execute(statement, (str(path),))
                expected += chunk.height
                _verify(cursor, spec.name, loaded, expected)
    except pymysql.err.OperationalError as error:
        if error.args[0] not in LOCAL_INFILE_REFUSED or loaded:
            raise
        log.warning(
            f"{spec.name}: LOAD DATA LOCAL refused ({error.args[1]}); "
            f"falling back to INSERT batches of {dialect.options.batch_size:,} rows"
        )
        return False
    finally:
        path.unlink(missing_ok=True)
    return True


def _verify(cursor, table: str, loaded: int, expected: int) -> None:
    cursor.execute("SHOW WARNINGS LIMIT 5")
    warnings = cursor.fetchall()
    if warnings or loaded != expected:
        details = "; ".join(f"{level} {code}: {message}" for level, code, message in warnings)
        raise WarehouseError(
            f"{table}: loaded {loaded:,} of {expected:,} rows" + (f"; warnings: {details}" if details else "")
        )
