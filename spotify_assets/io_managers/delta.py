"""The lake: one Delta table per asset under `SPOTIFY_LAKE_URI`, written with delta-rs.

Partitioned tables are Delta-partitioned by `landing_file`; writing a partition replaces exactly
that partition (predicate overwrite), so re-materializing anything is idempotent. Inputs load as
Polars LazyFrames, so downstream steps read only the columns and partitions they use.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
from deltalake import DeltaTable

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
    frame = pl.scan_delta(uri)
    if partitions is not None:
        frame = frame.filter(pl.col(PARTITION_COLUMN).is_in(partitions))
    return frame


def write_table(lake_uri: str, spec: TableSpec, data: pl.DataFrame | pl.LazyFrame,
                partition: str | None = None) -> int:
    """Replace the table (or one partition of it) with `data`; returns the rows written.

    A LazyFrame is streamed into the table, so it never has to fit in memory at once.
    """
    uri = table_uri(lake_uri, spec.name)
    frame = data.lazy()
    options: dict = {}
    if spec.partitioned:
        if partition is None:
            raise ValueError(f"{spec.name} is partitioned by {PARTITION_COLUMN}: a partition is required")
        frame = frame.with_columns(pl.lit(partition, pl.String).alias(PARTITION_COLUMN))
        options["partition_by"] = [PARTITION_COLUMN]
        if table_exists(uri):
            options["predicate"] = f"{PARTITION_COLUMN} = '{_sql_quote(partition)}'"
        mode = "overwrite" if table_exists(uri) else "append"
    else:
        options["schema_mode"] = "overwrite"
        mode = "overwrite"
    spec.conform(frame).sink_delta(uri, mode=mode, delta_write_options=options)
    if isinstance(data, pl.DataFrame):
        return data.height
    return scan_table(lake_uri, spec, [partition] if partition else None).select(pl.len()).collect().item()


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
