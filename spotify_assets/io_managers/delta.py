"""The lake: one Delta table per asset under `SPOTIFY_LAKE_URI`, written with delta-rs.

Partitioned tables are Delta-partitioned by `landing_file`; writing a partition replaces exactly
that partition (predicate overwrite), so re-materializing anything is idempotent. Inputs load as
Polars LazyFrames, so downstream steps read only the columns and partitions they use.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions

from ..tables import PARTITION_COLUMN, TABLES, TableSpec


def table_uri(lake_uri: str, table: str) -> str:
    return f"{lake_uri.rstrip('/')}/{table}" if "://" in lake_uri else str(Path(lake_uri) / table)


def table_exists(uri: str) -> bool:
    return DeltaTable.is_deltatable(uri)


def scan_table(lake_uri: str, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
    """The table as a LazyFrame (empty with the right schema if never written)."""
    uri = table_uri(lake_uri, spec.name)
    if not table_exists(uri):
        return spec.empty().lazy()
    return scan_table_uri(uri, partitions)


def scan_table_uri(uri: str, partitions: list[str] | None = None) -> pl.LazyFrame:
    frame = pl.scan_delta(uri)
    if partitions is not None:
        frame = frame.filter(pl.col(PARTITION_COLUMN).is_in(partitions))
    return frame


def write_table(lake_uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame,
                partition: str | None = None) -> int:
    """Replace the table (or one partition of it) with `data`; returns the rows written.

    Polars streams `data` into one new Parquet file (so a LazyFrame never sits in memory at once)
    and delta-rs commits it in one transaction that also removes what it replaces: readers see the
    old version or the new one, and a crash before the commit leaves only an unreferenced file.
    """
    uri = table_uri(lake_uri, spec.name)
    if "://" in uri:  # object stores: let delta-rs write (it buffers, but needs no local path)
        return _write_with_delta_rs(uri, spec, data, partition)
    if spec.partitioned and partition is None:
        raise ValueError(f"{spec.name} is partitioned by {PARTITION_COLUMN}: a partition is required")
    folder = f"{PARTITION_COLUMN}={partition}" if spec.partitioned else ""
    relative = f"{folder}/part-{uuid.uuid4()}.parquet".lstrip("/")
    path = Path(uri) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [name for name in spec.column_names if not (spec.partitioned and name == PARTITION_COLUMN)]
    _conformed(spec, data, partition).select(columns).sink_parquet(path, statistics=True)
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    action = AddAction(
        path=relative,
        size=path.stat().st_size,
        partition_values={PARTITION_COLUMN: partition} if spec.partitioned else {},
        modification_time=int(path.stat().st_mtime * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )
    schema = spec.empty().to_arrow().schema
    partition_by = [PARTITION_COLUMN] if spec.partitioned else None
    if not table_exists(uri):
        create_table_with_add_actions(uri, DeltaSchema.from_arrow(schema), [action], mode="append",
                                      partition_by=partition_by)
    else:
        DeltaTable(uri).create_write_transaction(
            [action], mode="overwrite", schema=schema, partition_by=partition_by,
            partition_filters=[(PARTITION_COLUMN, "=", partition)] if spec.partitioned else None,
        )
    return rows


def _conformed(spec: TableSpec, data: pl.DataFrame | pl.LazyFrame, partition: str | None) -> pl.LazyFrame:
    """`data` as the table's columns; a partitioned table's rows all get the partition key."""
    frame = data.lazy()
    if spec.partitioned:
        frame = frame.with_columns(pl.lit(partition, pl.String).alias(PARTITION_COLUMN))
    return spec.conform(frame)


def _write_with_delta_rs(uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame, partition: str | None) -> int:
    frame = _conformed(spec, data, partition)
    options: dict = {"partition_by": [PARTITION_COLUMN]} if spec.partitioned else {"schema_mode": "overwrite"}
    if spec.partitioned and table_exists(uri):
        options["predicate"] = f"{PARTITION_COLUMN} = '{_sql_quote(partition)}'"
    mode = "overwrite" if table_exists(uri) or not spec.partitioned else "append"
    frame.sink_delta(uri, mode=mode, delta_write_options=options)
    return scan_table_uri(uri, [partition] if spec.partitioned else None).select(pl.len()).collect().item()


def _sql_quote(value: str) -> str:
    return value.replace("'", "''")


def lake_metadata(lake_uri: str, spec: TableSpec, row_count: int) -> dict:
    return {
        "dagster/row_count": row_count,
        "dagster/uri": table_uri(lake_uri, spec.name),
        "dagster/table_name": spec.name,
    }


class DeltaLakeIOManager(dg.ConfigurableIOManager):
    """Stores each asset as the Delta table of the same name; loads inputs as LazyFrames."""

    lake_uri: str

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | None) -> None:
        if obj is None:
            return
        spec = TABLES[context.asset_key.path[-1]]
        partition = context.partition_key if spec.partitioned else None
        rows = write_table(self.lake_uri, spec, obj, partition)
        context.add_output_metadata(lake_metadata(self.lake_uri, spec, rows))

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        spec = TABLES[context.asset_key.path[-1]]
        partitions = None
        if spec.partitioned and context.has_asset_partitions:
            partitions = list(context.asset_partition_keys)
        return scan_table(self.lake_uri, spec, partitions)
