"""MySQL bulk loads: `LOAD DATA LOCAL INFILE` of files Polars writes, verified, with a fallback.

The rows (a load frame, sorted by primary key) are written as tab-separated text (strings quoted,
quotes doubled, no backslash escapes, unquoted NULL = NULL) and loaded with one LOAD DATA per
chunk of `CHUNK_ROWS` rows. Each chunk commits on its own, so InnoDB never holds the undo of a
10M-row statement. `LOAD DATA LOCAL` implies IGNORE (duplicate keys or truncated values only
warn), so each chunk's loaded row count must equal its rows and `SHOW WARNINGS` must be empty.
When the server or client refuses local infile, multi-row INSERTs of `batch_size` rows instead.

The server parses LOAD DATA on one thread per connection, and that parse, not InnoDB, is most of
a load's cost (MariaDB 10.11 spends as long loading into MyISAM). Hence:
- a text column with few distinct values travels as 1-based codes, its values sent once as the
  statement's parameters (`SET col = ELT(@code, ...)`): fewer bytes to write and to parse;
- a load is a pipeline: a writer thread writes the chunk files in key order (Polars, outside the
  GIL) while `connections` loader threads, each with its own connection, load the chunks written
  so far, at most one file ahead of them. A TEMPORARY table (only the publishing connection sees
  it) loads over that one connection. With several loaders the key range is cut into one
  contiguous part per loader, so each appends to its own part of the clustered index.
A failure stops the pipeline: chunks not started are cancelled, running ones finish, every chunk
file is removed and the first error is raised; the caller drops what was loaded.
"""

from __future__ import annotations

import glob
import tempfile
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

import polars as pl
import pymysql

from ...tables import TableSpec
from .base import Log, WarehouseError, column_list, quote
from .connection import connect, database_name

if TYPE_CHECKING:
    from .mysql import MysqlDialect

# MySQL error numbers meaning "LOAD DATA LOCAL is disabled" (server or client side).
LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}
LOAD_FILE_DIRECTORY = Path(tempfile.gettempdir()) / "spotify_assets_warehouse"
CHUNK_ROWS = 250_000
# A text column with at most this many distinct values (judged first on a sample) travels as codes.
# In the fact (source_file, landing_file, content_type, source_format) that is ~40% fewer bytes and
# ~35% less server CPU per row (MariaDB 10.11, 1M rows); the values fit any max_allowed_packet.
DICTIONARY_LIMIT = 1_000
DICTIONARY_SAMPLE_ROWS = 10_000


def load_rows(
    dialect: MysqlDialect, table: str, spec: TableSpec, rows: pl.DataFrame, log: Log, *, connections: int = 1
) -> str:
    """Load `rows` into the empty table `table` over `connections` connections (1 for a TEMPORARY
    table: only the publishing connection sees it); returns the load method."""
    if dialect.options.local_infile and _load_data_local(dialect, table, spec, rows, log, connections):
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
    dialect: MysqlDialect, table: str, spec: TableSpec, rows: pl.DataFrame, log: Log, connections: int
) -> bool:
    """LOAD DATA LOCAL INFILE of the rows, pipelined (see the module); False when local infile is
    refused before any row was loaded."""
    # File names per database, table and chunk, written under the publish lock: the files a killed
    # run left behind are removed by the next publish of the table.
    LOAD_FILE_DIRECTORY.mkdir(exist_ok=True)
    stem = f"{database_name(dialect.options.url)}.{table}"
    for leftover in LOAD_FILE_DIRECTORY.glob(f"{glob.escape(stem)}.*.tsv"):
        leftover.unlink(missing_ok=True)
    chunks = list(rows.iter_slices(CHUNK_ROWS))
    paths = [LOAD_FILE_DIRECTORY / f"{stem}.{number}.tsv" for number in range(len(chunks))]
    text = LoadText.of(table, spec, rows)
    loaders = max(1, min(connections, len(chunks)))
    idle: Queue[pymysql.Connection] = Queue()
    extra: list[pymysql.Connection] = []
    idle.put(dialect.connection())

    def load(number: int, written: Future[None]) -> int:
        written.result()  # the writer's error, if any, is this chunk's
        connection = idle.get()
        try:
            with connection.cursor() as cursor:
                loaded = cursor.execute(text.statement, (str(paths[number]), *text.parameters))
                _verify(cursor, spec.name, loaded, chunks[number].height)
            return loaded
        finally:
            idle.put(connection)
            paths[number].unlink(missing_ok=True)

    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-file-writer")
    pool = ThreadPoolExecutor(max_workers=loaders, thread_name_prefix="load-data")
    loaded = 0
    running: set[Future[int]] = set()
    try:
        for _ in range(loaders - 1):
            extra.append(connect(dialect.options))
            idle.put(extra[-1])
        for number in load_order(len(chunks), loaders):
            written = writer.submit(text.write, chunks[number], paths[number])
            running.add(pool.submit(load, number, written))
            while len(running) > loaders:  # at most one chunk file waits for a free loader
                loaded += _collect(running, FIRST_COMPLETED)
        while running:
            loaded += _collect(running, ALL_COMPLETED)
    except pymysql.err.OperationalError as error:
        if error.args[0] not in LOCAL_INFILE_REFUSED or loaded:
            raise
        log.warning(
            f"{spec.name}: LOAD DATA LOCAL refused ({error.args[1]}); "
            f"falling back to INSERT batches of {dialect.options.batch_size:,} rows"
        )
        return False
    finally:
        pool.shutdown(cancel_futures=True)
        writer.shutdown(cancel_futures=True)
        for connection in extra:
            connection.close()
        for path in paths:
            path.unlink(missing_ok=True)
    return True


def load_order(count: int, loaders: int) -> list[int]:
    """Chunk numbers in the order they are written and loaded: the key range cut into one
    contiguous part per loader, taken in turns (0, 4, 1, 5, ... for 8 chunks and 2 loaders), so
    each loader appends to its own part of the clustered index instead of all of them inserting
    just below the chunk loaded beside them."""
    parts = [range(part * count // loaders, (part + 1) * count // loaders) for part in range(loaders)]
    return [number for turn in zip_longest(*parts) for number in turn if number is not None]


def _collect(running: set[Future[int]], until: str) -> int:
    """Rows loaded by the chunks that finished (removed from `running`); raises the first error."""
    done, _ = wait(running, return_when=until)
    running.difference_update(done)
    return sum(future.result() for future in done)


@dataclass(frozen=True)
class LoadText:
    """How a table's rows travel as text: the LOAD DATA statement, its parameters, and the text
    columns sent as dictionary codes (column -> its distinct values, code n being value n)."""

    statement: str
    parameters: tuple[str, ...]
    dictionaries: dict[str, list[str]]

    @classmethod
    def of(cls, table: str, spec: TableSpec, rows: pl.DataFrame) -> LoadText:
        dictionaries = {}
        for column in spec.columns:
            values = rows[column.name]
            if column.type == "string" and values.head(DICTIONARY_SAMPLE_ROWS).n_unique() <= DICTIONARY_LIMIT:
                distinct = values.drop_nulls().unique().sort()
                if 0 < distinct.len() <= DICTIONARY_LIMIT:  # an all-null column stays NULL text
                    dictionaries[column.name] = distinct.to_list()
        variables = {name: f"@c{number}" for number, name in enumerate(dictionaries)}
        targets = ", ".join(variables.get(name, quote(name)) for name in spec.column_names)
        assignments = ", ".join(
            f"{quote(name)} = ELT({variables[name]}, {', '.join(['%s'] * len(values))})"
            for name, values in dictionaries.items()
        )
        statement = (
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(table)} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            f"LINES TERMINATED BY '\\n' ({targets})" + (f" SET {assignments}" if assignments else "")
        )
        parameters = tuple(value for values in dictionaries.values() for value in values)
        return cls(statement, parameters, dictionaries)

    def write(self, chunk: pl.DataFrame, path: Path) -> None:
        """Tab-separated text: strings quoted (quotes doubled), unquoted NULL = NULL, no escapes;
        a dictionary column as its codes (NULL stays NULL, and ELT(NULL, ...) is NULL)."""
        chunk.with_columns(
            pl.col(name).replace_strict(values, range(1, len(values) + 1), return_dtype=pl.Int32)
            for name, values in self.dictionaries.items()
        ).write_csv(
            path,
            separator="\t",
            quote_style="non_numeric",
            null_value="NULL",
            include_header=False,
            line_terminator="\n",
        )


def _verify(cursor, table: str, loaded: int, expected: int) -> None:
    cursor.execute("SHOW WARNINGS LIMIT 5")
    warnings = cursor.fetchall()
    if warnings or loaded != expected:
        details = "; ".join(f"{level} {code}: {message}" for level, code, message in warnings)
        raise WarehouseError(
            f"{table}: loaded {loaded:,} of {expected:,} rows" + (f"; warnings: {details}" if details else "")
        )
