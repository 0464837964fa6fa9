"""The lake: one Delta table per asset under `SPOTIFY_LAKE_URI`, written with delta-rs.

Tables whose spec is `partitioned` are Delta-partitioned by `landing_file`. A write replaces whole
partitions (one landing file's rows, or several at once from a `PartitionedUpdate`) or the whole
table, in one Delta transaction: readers see the old version or the new one, and a crash before
the commit leaves only unreferenced files. So re-materializing anything is idempotent. Inputs load
as Polars LazyFrames, so downstream steps read only the columns and partitions they use.

Local lakes: Polars streams each partition into one new Parquet file (a LazyFrame never sits in
memory at once) and delta-rs commits the files with `create_write_transaction`.
Object stores (`s3://`, ...): delta-rs writes the data itself (`write_deltalake` with a predicate).
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions

from ..tables import PARTITION_COLUMN, TABLES, TableSpec
from .locks import file_lock
from .updates import PartitionedUpdate

log = logging.getLogger(__name__)


def table_uri(lake_uri: str, table: str) -> str:
    return f"{lake_uri.rstrip('/')}/{table}" if "://" in lake_uri else str(Path(lake_uri) / table)


def table_exists(uri: str) -> bool:
    return DeltaTable.is_deltatable(uri)


def scan_table(lake_uri: str, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
    """The table as a LazyFrame (empty with the right schema if never written)."""
    uri = table_uri(lake_uri, spec.name)
    if not table_exists(uri):
        frame = spec.empty().lazy()
    else:
        frame = pl.scan_delta(uri)
    if partitions is not None:
        frame = frame.filter(pl.col(PARTITION_COLUMN).is_in(partitions))
    return frame


def _arrow_schema(spec: TableSpec):
    return spec.empty().to_arrow().schema


def _partition_by(spec: TableSpec) -> list[str] | None:
    return [PARTITION_COLUMN] if spec.partitioned else None


def _data_columns(spec: TableSpec) -> list[str]:
    return [name for name in spec.column_names if not (spec.partitioned and name == PARTITION_COLUMN)]


def write_table(lake_uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame,
                partition: str | None = None) -> int:
    """Replace the table, or one landing file's partition of it, with `data`; returns rows written.

    A partitioned table written whole (no `partition`) is split by the `landing_file` column.
    """
    if not spec.partitioned:
        return _commit(lake_uri, spec, {None: data}, replace_all=True)
    if partition is not None:
        return write_partitions(lake_uri, spec, PartitionedUpdate(frames={partition: data}))
    frame = data.lazy().collect()
    keys = frame[PARTITION_COLUMN].unique().sort().to_list() if frame.height else []
    parts = {key: frame.filter(pl.col(PARTITION_COLUMN) == key) for key in keys}
    return write_partitions(lake_uri, spec, PartitionedUpdate(frames=parts, replace_all=True))


def write_partitions(lake_uri: str, spec: TableSpec, update: PartitionedUpdate) -> int:
    """Apply `update` to a partitioned table in one transaction; returns the rows written."""
    if not spec.partitioned:
        raise ValueError(f"{spec.name} is not partitioned by {PARTITION_COLUMN}")
    if update.is_empty():
        return 0
    return _commit(lake_uri, spec, dict(update.frames), replace_all=update.replace_all, removed=update.removed)


def _commit(lake_uri: str, spec: TableSpec, frames: dict[str | None, pl.DataFrame | pl.LazyFrame],
            *, replace_all: bool, removed: tuple[str, ...] = ()) -> int:
    uri = table_uri(lake_uri, spec.name)
    if "://" in uri:
        return _write_object_store(uri, spec, frames, replace_all=replace_all, removed=removed)
    actions, rows = [], 0
    for partition, data in frames.items():
        action, written = _write_file(uri, spec, data, partition)
        actions.append(action)
        rows += written
    # one commit to a table at a time: delta-rs refuses concurrent overwrites even of other partitions
    with file_lock(lake_uri, spec.name):
        return _commit_files(uri, spec, actions, rows, frames, replace_all=replace_all, removed=removed)


def _commit_files(uri: str, spec: TableSpec, actions: list[AddAction], rows: int, frames: dict,
                  *, replace_all: bool, removed: tuple[str, ...]) -> int:
    """Commit written files (under the table's commit lock): create the table, or replace partitions."""
    schema = _arrow_schema(spec)
    exists = table_exists(uri)
    if exists and not _same_layout(uri, spec):
        log.warning(f"{spec.name}: the stored table has another schema or partitioning; it is replaced")
        exists, replace_all = False, True
        mode = "overwrite"
    else:
        mode = "append"
    if not exists:
        create_table_with_add_actions(uri, DeltaSchema.from_arrow(schema), actions, mode=mode,
                                      partition_by=_partition_by(spec))
        return rows
    touched = sorted({key for key in frames if key is not None} | set(removed))
    if not replace_all and not touched:
        return rows
    filters = None if replace_all or not spec.partitioned else [(PARTITION_COLUMN, "in", touched)]
    DeltaTable(uri).create_write_transaction(
        actions, mode="overwrite", schema=schema, partition_by=_partition_by(spec), partition_filters=filters,
    )
    return rows


def _same_layout(uri: str, spec: TableSpec) -> bool:
    metadata = DeltaTable(uri).metadata()
    stored = DeltaTable(uri).schema().to_arrow()
    return list(metadata.partition_columns) == (_partition_by(spec) or []) and stored.names == spec.column_names


def _write_file(uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame,
                partition: str | None) -> tuple[AddAction, int]:
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


def _write_object_store(uri: str, spec: TableSpec, frames: dict, *, replace_all: bool,
                        removed: tuple[str, ...]) -> int:
    """delta-rs writes and commits the rows itself (one transaction per call)."""
    parts = [_conformed(spec, data, partition).collect() for partition, data in frames.items()]
    table = pl.concat(parts) if parts else spec.empty()
    touched = sorted({key for key in frames if key is not None} | set(removed))
    predicate = None
    if spec.partitioned and not replace_all and table_exists(uri):
        if not touched:
            return 0
        predicate = f"{PARTITION_COLUMN} IN ({', '.join(_sql_literal(key) for key in touched)})"
    mode = "overwrite" if table_exists(uri) or replace_all else "append"
    write_deltalake(uri, table.to_arrow(), mode=mode, predicate=predicate, partition_by=_partition_by(spec),
                    schema_mode="overwrite" if replace_all else None)
    return table.height


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def table_row_count(lake_uri: str, spec: TableSpec) -> int:
    """Rows of the whole table, from the Delta log's file statistics (no data is read)."""
    uri = table_uri(lake_uri, spec.name)
    if not table_exists(uri):
        return 0
    actions = pl.DataFrame(DeltaTable(uri).get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0


def lake_metadata(lake_uri: str, spec: TableSpec, row_count: int) -> dict:
    return {
        "dagster/row_count": row_count,
        "dagster/uri": table_uri(lake_uri, spec.name),
        "dagster/table_name": spec.name,
    }


class DeltaLakeIOManager(dg.ConfigurableIOManager):
    """Stores each asset as the Delta table of the same name; loads inputs as LazyFrames.

    An output may be a frame (the asset's partition, or the whole table), a `PartitionedUpdate`
    (some landing files' partitions of an unpartitioned asset's table), or None (nothing changed:
    nothing is written).
    """

    lake_uri: str

    def handle_output(self, context: dg.OutputContext,
                      obj: pl.DataFrame | pl.LazyFrame | PartitionedUpdate | None) -> None:
        if obj is None:
            return
        spec = TABLES[context.asset_key.path[-1]]
        if isinstance(obj, PartitionedUpdate):
            rows = write_partitions(self.lake_uri, spec, obj)
            context.add_output_metadata({
                **lake_metadata(self.lake_uri, spec, table_row_count(self.lake_uri, spec)),
                "rows_written": rows, "partitions_written": len(obj.frames), "partitions_removed": len(obj.removed),
            })
            return
        partition = context.partition_key if spec.partitioned and context.has_partition_key else None
        rows = write_table(self.lake_uri, spec, obj, partition)
        context.add_output_metadata(lake_metadata(self.lake_uri, spec, rows))

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        spec = TABLES[context.asset_key.path[-1]]
        partitions = None
        if spec.partitioned and context.has_asset_partitions:
            partitions = list(context.asset_partition_keys)
        return scan_table(self.lake_uri, spec, partitions)
