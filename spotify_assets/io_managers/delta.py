"""The lake: one Delta table per asset under `SPOTIFY_LAKE_URI`, written with delta-rs.

Tables whose spec is `partitioned` are Delta-partitioned by `landing_file`. A write replaces whole
partitions (one landing file's rows, or several at once from a `PartitionedUpdate`) or the whole
table, in one Delta transaction: readers see the old version or the new one, and a crash before
the commit leaves only unreferenced files. So re-materializing anything is idempotent. Inputs load
as Polars LazyFrames, so downstream steps read only the columns and partitions they use.

Where the lake is comes as a `LakeLocation` (location.py): its URI and the storage options every
delta-rs and Polars call passes on (a plain string is a lake that needs none).
Local lakes: Polars streams each partition into one new Parquet file (a LazyFrame never sits in
memory at once) and delta-rs commits the files with `create_write_transaction`.
Object stores (`s3://`, ...): delta-rs writes the data itself from a stream of Arrow batches
(`write_deltalake`, with a `landing_file IN (...)` predicate for a partition update) and commits
with a conditional put, so a concurrent writer's commit is never overwritten: the later one retries
or fails (delta-rs decides by what the two touched).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dagster as dg
import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions
from pydantic import Field

from ..tables import PARTITION_COLUMN, TABLES, TableSpec
from .location import ClientConfig, Lake, LakeLocation, LocalConfig, StorageConfig, storage_options
from .locks import file_lock
from .updates import PartitionedUpdate

log = logging.getLogger(__name__)


def table_uri(lake: Lake, table: str) -> str:
    return LakeLocation.of(lake).table_uri(table)


def table_exists(lake: Lake, table: str) -> bool:
    location = LakeLocation.of(lake)
    return _exists(location.table_uri(table), location.options())


def _exists(uri: str, options: dict[str, str] | None) -> bool:
    return DeltaTable.is_deltatable(uri, storage_options=options)


def open_table(lake: Lake, table: str) -> DeltaTable:
    """The table's current version, through delta-rs (maintenance, statistics)."""
    location = LakeLocation.of(lake)
    return DeltaTable(location.table_uri(table), storage_options=location.options())


WHOLE_TABLE = ""  # the partition name of an unpartitioned table in `data_files` and `rows_per_partition`


def data_files(delta: DeltaTable, spec: TableSpec) -> pl.DataFrame:
    """The data files of this version: `name` (its landing_file, or WHOLE_TABLE), `path`, and
    `num_records` from the log's statistics (null for a file written without them)."""
    actions = pl.DataFrame(delta.get_add_actions(flatten=True))
    if not actions.height:
        return pl.DataFrame(schema={"name": pl.String, "path": pl.String, "num_records": pl.Int64})
    return actions.select(
        pl.col(f"partition.{PARTITION_COLUMN}").alias("name")
        if spec.partitioned
        else pl.lit(WHOLE_TABLE).alias("name"),
        pl.col("path"),
        pl.col("num_records") if "num_records" in actions.columns else pl.lit(None, pl.Int64),
    )


def rows_per_partition(
    delta: DeltaTable, spec: TableSpec, files: pl.DataFrame | None = None
) -> dict[str, int]:
    """Rows of each partition of this version (WHOLE_TABLE for an unpartitioned table), from the
    log's per-file statistics without reading a row; files written without them are counted by reading."""
    files = data_files(delta, spec) if files is None else files
    if files["num_records"].null_count():
        counted = (
            pl.scan_delta(delta)
            .group_by(pl.col(PARTITION_COLUMN) if spec.partitioned else pl.lit(WHOLE_TABLE))
            .len()
        )
        return {name: int(rows) for name, rows in counted.collect().rows()}
    return {name: int(rows) for name, rows in files.group_by("name").agg(pl.col("num_records").sum()).rows()}


def scan_table(lake: Lake, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
    """The table as a LazyFrame (empty with the right schema if never written)."""
    location = LakeLocation.of(lake)
    uri, options = location.table_uri(spec.name), location.options()
    exists = _exists(uri, options)
    frame = pl.scan_delta(uri, storage_options=options) if exists else spec.empty().lazy()
    if partitions is not None:
        frame = frame.filter(pl.col(PARTITION_COLUMN).is_in(partitions))
    return frame


@dataclass(frozen=True)
class LakeTables:
    """Read access to the lake's tables by spec (what the model's planner and the CLI read)."""

    lake: Lake

    def scan(self, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
        return scan_table(self.lake, spec, partitions)

    def exists(self, spec: TableSpec) -> bool:
        return table_exists(self.lake, spec.name)


def _arrow_schema(spec: TableSpec):
    return spec.empty().to_arrow().schema


def _partition_by(spec: TableSpec) -> list[str] | None:
    return [PARTITION_COLUMN] if spec.partitioned else None


def _data_columns(spec: TableSpec) -> list[str]:
    return [name for name in spec.column_names if not (spec.partitioned and name == PARTITION_COLUMN)]


def write_table(
    lake: Lake, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame, partition: str | None = None
) -> int:
    """Replace the table, or one landing file's partition of it, with `data`; returns rows written.

    A partitioned table written whole (no `partition`) is split by the `landing_file` column.
    """
    if not spec.partitioned:
        return _commit(lake, spec, {None: data}, replace_all=True)
    if partition is not None:
        return write_partitions(lake, spec, PartitionedUpdate(frames={partition: data}))
    frame = data.lazy().collect()
    keys = frame[PARTITION_COLUMN].unique().sort().to_list() if frame.height else []
    parts: dict[str, pl.DataFrame | pl.LazyFrame] = {
        key: frame.filter(pl.col(PARTITION_COLUMN) == key) for key in keys
    }
    return write_partitions(lake, spec, PartitionedUpdate(frames=parts, replace_all=True))


def write_partitions(lake: Lake, spec: TableSpec, update: PartitionedUpdate) -> int:
    """Apply `update` to a partitioned table in one transaction; returns the rows written."""
    if not spec.partitioned:
        raise ValueError(f"{spec.name} is not partitioned by {PARTITION_COLUMN}")
    if update.is_empty():
        return 0
    frames: dict[str | None, pl.DataFrame | pl.LazyFrame] = dict(update.frames.items())
    return _commit(lake, spec, frames, replace_all=update.replace_all, removed=update.removed)


def _commit(
    lake: Lake,
    spec: TableSpec,
    frames: dict[str | None, pl.DataFrame | pl.LazyFrame],
    *,
    replace_all: bool,
    removed: tuple[str, ...] = (),
) -> int:
    location = LakeLocation.of(lake)
    uri = location.table_uri(spec.name)
    if location.remote:
        return _write_object_store(
            uri, location.options(), spec, frames, replace_all=replace_all, removed=removed
        )
    actions, rows = [], 0
    for partition, data in frames.items():
        action, written = _write_file(uri, spec, data, partition)
        actions.append(action)
        rows += written
    # one commit to a table at a time: delta-rs refuses concurrent overwrites even of other partitions
    with file_lock(location.uri, spec.name):
        return _commit_files(uri, spec, actions, rows, frames, replace_all=replace_all, removed=removed)


def _commit_files(
    uri: str,
    spec: TableSpec,
    actions: list[AddAction],
    rows: int,
    frames: dict[str | None, pl.DataFrame | pl.LazyFrame],
    *,
    replace_all: bool,
    removed: tuple[str, ...],
) -> int:
    """Commit written files (under the table's commit lock): create the table, or replace partitions."""
    schema = _arrow_schema(spec)
    exists = _exists(uri, None)
    mode: Literal["overwrite", "append"]
    if exists and not _same_layout(DeltaTable(uri), spec):
        log.warning(f"{spec.name}: the stored table has another schema or partitioning; it is replaced")
        exists, replace_all = False, True
        mode = "overwrite"
    else:
        mode = "append"
    if not exists:
        create_table_with_add_actions(
            uri, DeltaSchema.from_arrow(schema), actions, mode=mode, partition_by=_partition_by(spec)
        )
        return rows
    touched = sorted({key for key in frames if key is not None} | set(removed))
    if not replace_all and not touched:
        return rows
    filters = None if replace_all or not spec.partitioned else [(PARTITION_COLUMN, "in", touched)]
    DeltaTable(uri).create_write_transaction(
        list[AddAction | RemoveAction](actions),
        mode="overwrite",
        schema=schema,
        partition_by=_partition_by(spec),
        partition_filters=filters,
    )
    return rows


def _same_layout(table: DeltaTable, spec: TableSpec) -> bool:
    metadata = table.metadata()
    stored = table.schema().to_arrow()
    same_partitions = list(metadata.partition_columns) == (_partition_by(spec) or [])
    return same_partitions and stored.names == spec.column_names


def _write_file(
    uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame, partition: str | None
) -> tuple[AddAction, int]:
    """Stream `data` into one new Parquet file of the table (in its partition's folder)."""
    folder = f"{PARTITION_COLUMN}={partition}" if partition is not None else ""
    relative = f"{folder}/part-{uuid.uuid4()}.parquet".lstrip("/")
    path = Path(uri) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    _conformed(spec, data, partition).select(_data_columns(spec)).sink_parquet(path, statistics=True)
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    action = AddAction(
        path=relative,
        size=path.stat().st_size,
        partition_values={PARTITION_COLUMN: partition} if partition is not None else {},
        modification_time=int(path.stat().st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )
    return action, rows


def _conformed(spec: TableSpec, data: pl.DataFrame | pl.LazyFrame, partition: str | None) -> pl.LazyFrame:
    """`data` as the table's columns; a partition's rows all get its key."""
    frame = data.lazy()
    if partition is not None:
        frame = frame.with_columns(pl.lit(partition, pl.String).alias(PARTITION_COLUMN))
    return spec.conform(frame)


def _write_object_store(
    uri: str,
    options: dict[str, str] | None,
    spec: TableSpec,
    frames: dict[str | None, pl.DataFrame | pl.LazyFrame],
    *,
    replace_all: bool,
    removed: tuple[str, ...],
) -> int:
    """delta-rs writes and commits the rows itself, in one transaction, from a stream of Arrow batches."""
    touched = sorted({key for key in frames if key is not None} | set(removed))
    try:  # one read of the log serves the layout check and the write
        table: DeltaTable | None = DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        table = None
    schema_mode: Literal["overwrite"] | None = None
    if table is not None and not _same_layout(table, spec):
        log.warning(f"{spec.name}: the stored table has another schema or partitioning; it is replaced")
        replace_all, schema_mode = True, "overwrite"
    predicate = None
    if table is not None and spec.partitioned and not replace_all:
        if not touched:
            return 0
        predicate = f"{PARTITION_COLUMN} IN ({', '.join(_sql_literal(key) for key in touched)})"
    schema = _arrow_schema(spec)
    rows = [0]

    def batches() -> Iterator[pa.RecordBatch]:
        for partition, data in frames.items():
            for batch in _conformed(spec, data, partition).collect_batches():
                rows[0] += batch.height
                yield from batch.to_arrow().cast(schema).to_batches()

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    if table is not None:  # replace the touched partitions (or all), in the table just read
        write_deltalake(
            table,
            reader,
            mode="overwrite",
            predicate=predicate,
            partition_by=_partition_by(spec),
            schema_mode=schema_mode,
            storage_options=options,
        )
    else:
        write_deltalake(uri, reader, mode="append", partition_by=_partition_by(spec), storage_options=options)
    return rows[0]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def table_row_count(lake: Lake, spec: TableSpec) -> int:
    """Rows of the whole table, from the Delta log's file statistics (no data is read)."""
    if not table_exists(lake, spec.name):
        return 0
    actions = pl.DataFrame(open_table(lake, spec.name).get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0


def lake_metadata(lake: Lake, spec: TableSpec, row_count: int) -> dict:
    return {
        "dagster/row_count": row_count,
        "dagster/uri": table_uri(lake, spec.name),
        "dagster/table_name": spec.name,
    }


class DeltaLakeIOManager(dg.ConfigurableIOManager):
    """Stores each asset as the Delta table of the same name; loads inputs as LazyFrames.

    An output may be a frame (the asset's partition, or the whole table), a `PartitionedUpdate`
    (some landing files' partitions of an unpartitioned asset's table), or None (nothing changed:
    nothing is written). `storage_options` / `client_options` (dagster-deltalake's configs) say how
    to reach an object-store lake; a local lake needs neither.
    """

    lake_uri: str
    storage_options: StorageConfig = Field(default_factory=LocalConfig, discriminator="provider")
    client_options: ClientConfig | None = None

    @property
    def location(self) -> LakeLocation:
        return LakeLocation(self.lake_uri, storage_options(self.storage_options, self.client_options))

    def handle_output(
        self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | PartitionedUpdate | None
    ) -> None:
        if obj is None:
            return
        spec, lake = TABLES[context.asset_key.path[-1]], self.location
        if isinstance(obj, PartitionedUpdate):
            rows = write_partitions(lake, spec, obj)
            context.add_output_metadata(
                {
                    **lake_metadata(lake, spec, table_row_count(lake, spec)),
                    "rows_written": rows,
                    "partitions_written": len(obj.frames),
                    "partitions_removed": len(obj.removed),
                }
            )
            return
        partition = context.partition_key if spec.partitioned and context.has_partition_key else None
        rows = write_table(lake, spec, obj, partition)
        context.add_output_metadata(lake_metadata(lake, spec, rows))

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        spec, lake = TABLES[context.asset_key.path[-1]], self.location
        partitions = None
        if spec.partitioned and context.has_asset_partitions:
            partitions = list(context.asset_partition_keys)
        return scan_table(lake, spec, partitions)
