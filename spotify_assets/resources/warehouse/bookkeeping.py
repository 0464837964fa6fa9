"""The warehouse's own record of what it last published, kept in two small tables beside the data.

`publish_tables`: one row per published table or view: the fingerprint of its DDL (or view SQL),
the lake marker and Delta version it was published from, its row count.
`publish_partitions`: one row per (table, landing_file) of a partitioned table: that partition's
marker. Both are written in the same transaction as the rows they describe, so after a killed
publish they still describe what the warehouse holds. A table replaced by a path that cannot share
the transaction (MySQL's swap) is forgotten first and recorded after: killed in between, it is
simply replaced whole again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from ...tables import LANDING_FILE, Column, TableSpec
from .base import Dialect, column_list, quote
from .plan import PublishedTable

T = TypeVar("T")
IN_LIST_SIZE = 500
TABLE_NAME = Column("table_name", "string", "Warehouse table or view.", nullable=False, max_length=64)

PUBLISHED_TABLES = TableSpec(
    name="publish_tables",
    description="Warehouse bookkeeping: one row per table or view as of its last publish.",
    columns=(
        TABLE_NAME,
        Column(
            "ddl_hash",
            "string",
            "Fingerprint of the table's DDL or the view's SQL.",
            nullable=False,
            max_length=32,
        ),
        Column(
            "marker",
            "string",
            "Digest of the lake files it was published from.",
            nullable=False,
            max_length=32,
        ),
        Column("lake_version", "int64", "Delta version of the lake table it was published from."),
        Column("row_count", "int64", "Rows published."),
        Column("published_at", "datetime", "When (UTC).", nullable=False),
    ),
    primary_key=("table_name",),
)
PUBLISHED_PARTITIONS = TableSpec(
    name="publish_partitions",
    description="Warehouse bookkeeping: one row per landing-file partition of a partitioned table.",
    columns=(
        TABLE_NAME,
        LANDING_FILE,
        Column("marker", "string", "Digest of the partition's lake files.", nullable=False, max_length=32),
    ),
    primary_key=("table_name", LANDING_FILE.name),
)
BOOKKEEPING = (PUBLISHED_TABLES, PUBLISHED_PARTITIONS)


def chunks(items: Iterable[T], size: int = IN_LIST_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ensure_tables(dialect: Dialect, relations: set[str]) -> None:
    """Create the bookkeeping tables that are missing (nothing when both exist)."""
    for spec in BOOKKEEPING:
        if spec.name not in relations:
            dialect.execute(dialect.create_table_sql(spec))


def read_published(dialect: Dialect, relations: set[str]) -> dict[str, PublishedTable]:
    if not all(spec.name in relations for spec in BOOKKEEPING):
        return {}
    partitions: dict[str, dict[str, str]] = {}
    for table, landing_file, marker in dialect.query(
        f"SELECT table_name, {LANDING_FILE.name}, marker FROM {PUBLISHED_PARTITIONS.name}"
    ):
        partitions.setdefault(table, {})[landing_file] = marker
    return {
        table: PublishedTable(ddl_hash, marker, lake_version, row_count, partitions.get(table, {}))
        for table, ddl_hash, marker, lake_version, row_count in dialect.query(
            f"SELECT table_name, ddl_hash, marker, lake_version, row_count FROM {PUBLISHED_TABLES.name}"
        )
    }


def record_table(
    dialect: Dialect,
    table: str,
    *,
    ddl_hash: str,
    marker: str,
    lake_version: int | None,
    row_count: int | None,
) -> None:
    mark = dialect.placeholder
    dialect.execute(f"DELETE FROM {PUBLISHED_TABLES.name} WHERE table_name = {mark}", (table,))
    dialect.execute(
        f"INSERT INTO {PUBLISHED_TABLES.name} ({column_list(PUBLISHED_TABLES.column_names)}) "
        f"VALUES ({', '.join([mark] * len(PUBLISHED_TABLES.columns))})",
        (
            table,
            ddl_hash,
            marker,
            lake_version,
            row_count,
            datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        ),
    )


def record_partitions(
    dialect: Dialect,
    table: str,
    markers: Mapping[str, str],
    *,
    replace_all: bool,
    dropped: Sequence[str] = (),
) -> None:
    """Record these partitions' markers; `replace_all` forgets every other partition first."""
    mark, name = dialect.placeholder, quote(LANDING_FILE.name)
    if replace_all:
        dialect.execute(f"DELETE FROM {PUBLISHED_PARTITIONS.name} WHERE table_name = {mark}", (table,))
    else:
        for chunk in chunks([*markers, *dropped]):
            dialect.execute(
                f"DELETE FROM {PUBLISHED_PARTITIONS.name} WHERE table_name = {mark} "
                f"AND {name} IN ({', '.join([mark] * len(chunk))})",
                (table, *chunk),
            )
    dialect.executemany(
        f"INSERT INTO {PUBLISHED_PARTITIONS.name} (table_name, {name}, marker) "
        f"VALUES ({mark}, {mark}, {mark})",
        [(table, partition, marker) for partition, marker in markers.items()],
    )


def forget(dialect: Dialect, table: str, relations: set[str]) -> None:
    """Drop what is recorded about `table`: its next publish replaces it whole."""
    for spec in BOOKKEEPING:
        if spec.name in relations:
            dialect.execute(f"DELETE FROM {spec.name} WHERE table_name = {dialect.placeholder}", (table,))
