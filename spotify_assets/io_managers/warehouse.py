"""Warehouse IO manager: each warehouse asset is the SQL table named by its key's last component."""

from __future__ import annotations

import dagster as dg
import polars as pl

from ..resources.warehouse import Warehouse
from ..tables import TABLES


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Publishes Polars frames to the warehouse (SQLite or MySQL) and reads them back."""

    warehouse: Warehouse

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | None) -> None:
        if obj is None:
            return
        spec = TABLES[context.asset_key.path[-1]]
        result = self.warehouse.publish(spec, obj, log=context.log)
        context.add_output_metadata({
            "dagster/row_count": result.row_count,
            "dagster/table_name": spec.name,
            "dagster/uri": self.warehouse.masked_url,
            "load_method": result.load_method,
            "swap": result.swap,
            "seconds": result.seconds,
            "phase_seconds": result.phase_seconds,
        })

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        return self.warehouse.read(TABLES[context.asset_key.path[-1]])
