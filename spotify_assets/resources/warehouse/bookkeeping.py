"""The warehouse's own record of what it last published and verified, in small tables beside the data.

`publish_tables`: one row per published table or view: the fingerprint of its DDL (or view SQL),
the lake marker and Delta version it was published from, its row count.
`publish_partitions`: one row per (table, landing_file) of a partitioned table: that partition's
marker. Both are written in the same transaction as the rows they describe, so after a killed
publish they still describe what the warehouse holds. A table replaced by a path that cannot share
the transaction (MySQL's swap) is forgotten first and recorded after: killed in between, it is
simply replaced whole again.
`reconcile_partitions`: one row per (table, landing_file) of a partitioned table that
`reconcile_with_lake` found equal on both sides: its marker and stats then (reconcile.py), plus one
row per table under the landing file "" saying a full reconcile passed since the table was last
replaced whole. A publish drops the rows of what it rewrites in the same transaction (a whole
table: all of them; a reloaded partition: its row; a dropped partition: its row becomes one with
the marker "", so the next reconcile checks that its rows are gone). A warehouse published before
this table existed gets it at its next publish or reconcile; meanwhile nothing is verified, so the
first reconcile is a full one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from ...tables import LANDING_FILE, Column, TableSpec
from .base import Dialect, column_list, quote
from .plan import PublishedTable
from .stats import TableStats

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
VERIFIED_PARTITIONS = TableSpec(
    name="reconcile_partitions",
    description="Warehouse bookkeeping: one row per landing-file partition of a partitioned table "
    "as reconcile_with_lake last verified it, and one per table (landing_file '') after a full reconcile.",
    columns=(
        TABLE_NAME,
        LANDING_FILE,
        Column(
            "marker",
            "string",
            "Digest of the partition's lake files when verified ('': to verify again).",
            nullable=False,
            max_length=32,
        ),
        Column("row_count", "int64", "Rows, equal in the lake and the warehouse.", nullable=False),
        Column("key_checksum", "int64", "Key checksum, equal on both sides.", nullable=False),
        Column("ms_played_sum", "int64", "SUM(ms_played), equal on both sides (tables that have it)."),
        Column("verified_at", "datetime", "When (UTC).", nullable=False),
    ),
    primary_key=("table_name", LANDING_FILE.name),
)
PUBLISHED = (PUBLISHED_TABLES, PUBLISHED_PARTITIONS)  # what a publish plans from
BOOKKEEPING = (*PUBLISHED, VERIFIED_PARTITIONS)
TABLE_VERIFIED = ""  # reconcile_partitions' landing_file of a table's "full reconcile passed" row
TO_VERIFY = ""  # the marker of a dropped partition whose absence is still to be verified


def chunks(items: Iterable[T], size: int = IN_LIST_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ensure_tables(dialect: Dialect, relations: set[str]) -> None:
    """Create the bookkeeping tables that are missing (nothing when all exist)."""
    for spec in BOOKKEEPING:
        if spec.name not in relations:
            dialect.execute(dialect.create_table_sql(spec))


def read_published(dialect: Dialect, relations: set[str]) -> dict[str, PublishedTable]:
    if not all(spec.name in relations for spec in PUBLISHED):
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
            _now(),
        ),
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def record_partitions(
    dialect: Dialect,
    table: str,
    markers: Mapping[str, str],
    *,
    replace_all: bool,
    dropped: Sequence[str] = (),
) -> None:
    """Record these partitions' markers; `replace_all` forgets every other partition first. What
    was verified of the partitions written (all of them with `replace_all`) is dropped."""
    mark, name = dialect.placeholder, quote(LANDING_FILE.name)
    if replace_all:
        for spec in (PUBLISHED_PARTITIONS, VERIFIED_PARTITIONS):
            dialect.execute(f"DELETE FROM {spec.name} WHERE table_name = {mark}", (table,))
    else:
        for spec in (PUBLISHED_PARTITIONS, VERIFIED_PARTITIONS):
            _delete_partitions(dialect, spec, table, [*markers, *dropped])
        _insert_verified(
            dialect, table, {partition: (TO_VERIFY, TableStats(0, 0, None)) for partition in dropped}
        )
    dialect.executemany(
        f"INSERT INTO {PUBLISHED_PARTITIONS.name} (table_name, {name}, marker) "
        f"VALUES ({mark}, {mark}, {mark})",
        [(table, partition, marker) for partition, marker in markers.items()],
    )


def _delete_partitions(dialect: Dialect, spec: TableSpec, table: str, partitions: Sequence[str]) -> None:
    mark = dialect.placeholder
    for chunk in chunks(partitions):
        dialect.execute(
            f"DELETE FROM {spec.name} WHERE table_name = {mark} "
            f"AND {quote(LANDING_FILE.name)} IN ({', '.join([mark] * len(chunk))})",
            (table, *chunk),
        )


def _insert_verified(dialect: Dialect, table: str, verified: Mapping[str, tuple[str, TableStats]]) -> None:
    mark = dialect.placeholder
    now = _now()
    dialect.executemany(
        f"INSERT INTO {VERIFIED_PARTITIONS.name} ({column_list(VERIFIED_PARTITIONS.column_names)}) "
        f"VALUES ({', '.join([mark] * len(VERIFIED_PARTITIONS.columns))})",
        [
            (table, partition, marker, stats.row_count, stats.key_checksum, stats.ms_played_sum, now)
            for partition, (marker, stats) in verified.items()
        ],
    )


def read_verified(dialect: Dialect, relations: set[str], table: str) -> dict[str, tuple[str, TableStats]]:
    """What `reconcile_with_lake` verified of `table`: landing_file -> (marker, stats)."""
    if VERIFIED_PARTITIONS.name not in relations:
        return {}
    rows = dialect.query(
        f"SELECT {quote(LANDING_FILE.name)}, marker, row_count, key_checksum, ms_played_sum "
        f"FROM {VERIFIED_PARTITIONS.name} WHERE table_name = {dialect.placeholder}",
        (table,),
    )
    return {
        partition: (marker, TableStats(int(rows_), int(checksum), None if ms is None else int(ms)))
        for partition, marker, rows_, checksum, ms in rows
    }


def record_verified(
    dialect: Dialect,
    table: str,
    verified: Mapping[str, tuple[str, TableStats]],
    *,
    replace_all: bool,
    unverified: Sequence[str] = (),
) -> None:
    """Store what a reconcile verified (partition -> (marker, stats)); `replace_all` forgets the
    rest of the table's first, else the rows of `verified` and `unverified` are replaced."""
    if replace_all:
        dialect.execute(
            f"DELETE FROM {VERIFIED_PARTITIONS.name} WHERE table_name = {dialect.placeholder}", (table,)
        )
    else:
        _delete_partitions(dialect, VERIFIED_PARTITIONS, table, [*verified, *unverified])
    _insert_verified(dialect, table, verified)


def forget(dialect: Dialect, table: str, relations: set[str]) -> None:
    """Drop what is recorded about `table`: its next publish replaces it whole."""
    for spec in BOOKKEEPING:
        if spec.name in relations:
            dialect.execute(f"DELETE FROM {spec.name} WHERE table_name = {dialect.placeholder}", (table,))
