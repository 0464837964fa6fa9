"""Warehouse IO manager: the one writer of the warehouse, and its reader.

An output is either
- a `PublishRequest` (the `warehouse_publish` step yields the same request for every table and
  view it publishes): the first output publishes all of it in one transaction, every output then
  records what happened to its own table (row count, action, rows written and deleted); or
- a Polars frame (any other asset stored here): its table is replaced whole.
Inputs load as Polars frames typed like the lake's (views: as the driver returns them).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from ..resources.warehouse import PublishRequest, Warehouse
from ..tables import TABLES


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Publishes to the warehouse (SQLite or MySQL) and reads tables back."""

    warehouse: Warehouse

    def handle_output(
        self, context: dg.OutputContext, obj: PublishRequest | pl.DataFrame | pl.LazyFrame | None
    ) -> None:
        if obj is None:
            return
        name = context.asset_key.path[-1]
        where = {"dagster/uri": self.warehouse.masked_url, "dagster/table_name": name}
        if isinstance(obj, PublishRequest):
            if obj.report is None:
                obj.report = self.warehouse.publish(obj, log=context.log)
            report = obj.report
            if name in report.tables:
                context.add_output_metadata(
                    {**where, **report.tables[name].metadata(), "publish_seconds": report.seconds}
                )
            else:
                context.add_output_metadata({**where, "view": report.views[name]})
            return
        result = self.warehouse.replace_table(TABLES[name], obj, log=context.log)
        context.add_output_metadata(
            {
                **where,
                "dagster/row_count": result.row_count,
                "action": "full",
                "load_method": result.load_method,
                "swap": result.swap,
                "seconds": result.seconds,
                "phase_seconds": result.phase_seconds,
            }
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        name = context.asset_key.path[-1]
        if name in TABLES:
            return self.warehouse.read(TABLES[name])
        return self.warehouse.query_frame(f"SELECT * FROM `{name}`")
