"""Warehouse assets: every table of `tables.WAREHOUSE_TABLES` published from the lake, plus BI views.

Each `warehouse/<table>` reads the lake table `<table>` (all partitions) and is stored by the
`warehouse_io_manager`; it depends on the warehouse tables its foreign keys reference, so one run
publishes dimensions before the fact. `reconcile_with_lake` compares each published table with the
lake: row count, key checksum and, for the fact, total ms_played.
"""

import dagster as dg
import polars as pl

from ..resources.lake import LakeResource
from ..resources.warehouse import BI_VIEWS, Warehouse, table_stats
from ..tables import STAR_SCHEMA, WAREHOUSE_TABLES, TableSpec
from .common import OWNERS, WAREHOUSE, WAREHOUSE_IO_MANAGER

GROUP = WAREHOUSE
KINDS = {"sql", "mysql", "sqlite"}


def warehouse_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def build_warehouse_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=warehouse_key(spec.name),
        ins={"lake_table": dg.AssetIn(key=dg.AssetKey([spec.name]))},
        deps=[warehouse_key(parent) for parent in dict.fromkeys(spec.foreign_keys.values())],
        group_name=GROUP,
        io_manager_key=WAREHOUSE_IO_MANAGER,
        kinds=KINDS,
        owners=OWNERS,
        description=(f"{spec.description} Published from the lake table `{spec.name}` to the warehouse, "
                     "replacing the previous version atomically."),
        metadata={"dagster/column_schema": spec.dagster_column_schema(), "dagster/table_name": spec.name},
    )
    def publish_table(lake_table: pl.LazyFrame) -> pl.LazyFrame:
        return lake_table

    return publish_table


def _describe_mismatch(name: str, lake: int | None, warehouse: int | None) -> str | None:
    if lake == warehouse:
        return None
    return f"{name}: lake {lake:,}, warehouse {warehouse:,} (difference {warehouse - lake:+,})"


def build_reconcile_check(spec: TableSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=warehouse_key(spec.name),
        name="reconcile_with_lake",
        description="The warehouse table has the lake's row count, key set checksum"
                    + (" and total ms_played." if "ms_played" in spec.column_names else "."),
    )
    def reconcile_with_lake(lake: LakeResource, warehouse: Warehouse) -> dg.AssetCheckResult:
        lake_stats = table_stats(spec, lake.scan(spec))
        warehouse_stats = warehouse.table_stats(spec)
        mismatches = [
            message for message in (
                _describe_mismatch("row count", lake_stats.row_count, warehouse_stats.row_count),
                _describe_mismatch("key checksum", lake_stats.key_checksum, warehouse_stats.key_checksum),
                _describe_mismatch("SUM(ms_played)", lake_stats.ms_played_sum, warehouse_stats.ms_played_sum),
            ) if message
        ]
        return dg.AssetCheckResult(
            passed=not mismatches,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **lake_stats.as_metadata("lake"),
                **warehouse_stats.as_metadata("warehouse"),
                "mismatch": "; ".join(mismatches) or "none",
            },
        )

    return reconcile_with_lake


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            warehouse_key(view),
            deps=[warehouse_key(spec.name) for spec in STAR_SCHEMA],
            group_name=GROUP,
            kinds=KINDS,
            owners=OWNERS,
            description=description,
            metadata={"sql": dg.MetadataValue.md(f"```sql{BI_VIEWS[view]}\n```")},
        )
        for view, description in {
            "v_streams": "One row per play: the fact joined to every dimension, with readable column names.",
            "v_minutes_by_month": "One row per calendar month (local time): plays and minutes played.",
            "v_top_artists": "One row per artist, ranked by minutes played.",
            "v_listening_by_weekday_hour": "One row per weekday and local hour: plays and minutes played.",
        }.items()
    ],
    name="warehouse_bi_views",
)
def bi_views(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """(Re)creates the BI views over the published star schema."""
    for view in warehouse.create_views():
        context.log.info(f"view {view} ready in {warehouse.masked_url}")
        yield dg.MaterializeResult(asset_key=warehouse_key(view),
                                   metadata={"dagster/uri": warehouse.masked_url})


warehouse_assets = [*(build_warehouse_asset(spec) for spec in WAREHOUSE_TABLES), bi_views]
warehouse_checks = [build_reconcile_check(spec) for spec in WAREHOUSE_TABLES]
