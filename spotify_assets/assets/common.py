"""What every asset of the platform shares: owners, stage names, table metadata."""

from __future__ import annotations

import dagster as dg

from ..tables import TableSpec

OWNERS = ["team:data-platform"]
INGEST, MODEL, ENRICH, WAREHOUSE, REPORT = "ingest", "model", "enrich", "warehouse", "report"
LAKE_IO_MANAGER = "lake_io_manager"
WAREHOUSE_IO_MANAGER = "warehouse_io_manager"


def table_metadata(spec: TableSpec) -> dict:
    """Static metadata the UI shows for a table: its columns, keys and where it lives."""
    return {
        "dagster/column_schema": spec.dagster_column_schema(),
        "primary_key": ", ".join(spec.primary_key),
    }


def lake_out(spec: TableSpec, **options) -> dg.AssetOut:
    return dg.AssetOut(
        description=spec.description,
        io_manager_key=LAKE_IO_MANAGER,
        metadata=table_metadata(spec),
        kinds={"polars", "delta"},
        owners=OWNERS,
        **options,
    )
