"""Warehouse assets: every table of `tables.WAREHOUSE_TABLES` and the BI views, published in one step.

`warehouse_publish` reads each lake table's version markers under the lake's shared lock and
hands one `PublishRequest` to the `warehouse_io_manager`, which publishes every table in one
transaction: only the partitions and rows that changed since the last publish, nothing at all when
nothing did (see resources/warehouse/publisher.py). `reconcile_with_lake` compares each published
table with the lake version it was published from, by aggregates only: row count, key checksum
and, where there is one, SUM(ms_played). A partitioned table is compared only in the partitions
that changed since a reconcile last verified them, so a new file costs what it adds; what that can
no longer see, and the full reconcile that does, are in resources/warehouse/reconcile.py.
"""

import dagster as dg
from deltalake.exceptions import DeltaError
from pydantic import Field

from ..io_managers.location import Lake
from ..resources.lake import LakeResource
from ..resources.warehouse import (
    BI_VIEWS,
    VIEW_DESCRIPTIONS,
    VIEW_TABLES,
    LakeTable,
    PublishRequest,
    Reconciler,
    Warehouse,
    WarehouseError,
    read_lake_table,
)
from ..tables import WAREHOUSE_TABLES, TableSpec
from .common import OWNERS, WAREHOUSE, WAREHOUSE_IO_MANAGER

GROUP = WAREHOUSE
KINDS = {"sql", "mysql", "sqlite"}
CHECK_NAME = "reconcile_with_lake"


def warehouse_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def _table_out(spec: TableSpec) -> dg.AssetOut:
    return dg.AssetOut(
        key=warehouse_key(spec.name),
        io_manager_key=WAREHOUSE_IO_MANAGER,
        kinds=KINDS,
        owners=OWNERS,
        description=f"{spec.description} Published from the lake table `{spec.name}` to the warehouse: "
        "only what changed since the last publish, in one transaction with every other table.",
        metadata={"dagster/column_schema": spec.dagster_column_schema(), "dagster/table_name": spec.name},
    )


def _view_out(view: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=warehouse_key(view),
        io_manager_key=WAREHOUSE_IO_MANAGER,
        kinds=KINDS,
        owners=OWNERS,
        description=VIEW_DESCRIPTIONS[view],
        metadata={"sql": dg.MetadataValue.md(f"```sql{BI_VIEWS[view]}\n```")},
    )


class PublishConfig(dg.Config):
    full_refresh: bool = Field(
        default=False, description="Replace every warehouse table whole from the lake, changed or not."
    )


@dg.multi_asset(
    outs={
        **{spec.name: _table_out(spec) for spec in WAREHOUSE_TABLES},
        **{view: _view_out(view) for view in BI_VIEWS},
    },
    deps=[dg.AssetKey([spec.name]) for spec in WAREHOUSE_TABLES],
    internal_asset_deps={
        **{
            spec.name: {
                dg.AssetKey([spec.name]),
                *(warehouse_key(parent) for parent in spec.foreign_keys.values()),
            }
            for spec in WAREHOUSE_TABLES
        },
        **{view: {warehouse_key(table) for table in VIEW_TABLES} for view in BI_VIEWS},
    },
    group_name=GROUP,
    name="warehouse_publish",
)
def warehouse_publish(
    context: dg.AssetExecutionContext, config: PublishConfig, lake: LakeResource, warehouse: Warehouse
):
    """Publishes every warehouse table from its lake table, and the BI views, in one transaction."""
    with lake.read_lock():
        request = PublishRequest(
            tables=tuple(read_lake_table(lake.location, spec) for spec in WAREHOUSE_TABLES),
            views=warehouse.views(),
            full_refresh=config.full_refresh,
        )
        context.log.info(
            "lake versions: " + ", ".join(f"{table.spec.name} {table.version}" for table in request.tables)
        )
        # the warehouse IO manager publishes on the first output, while the lock is still held
        for name in (*(spec.name for spec in WAREHOUSE_TABLES), *BI_VIEWS):
            yield dg.Output(request, output_name=name)


def _lake_as_published(
    lake_uri: Lake, spec: TableSpec, published: dict[str, int | None]
) -> tuple[LakeTable, str]:
    """The lake table at the version the warehouse was published from, and a note on that choice."""
    if spec.name not in published:
        return read_lake_table(lake_uri, spec), "not published yet: compared with the current lake"
    version = published[spec.name]
    if version is None:
        return LakeTable(spec, None, {}, {}), "published while the lake table did not exist (empty)"
    try:
        return read_lake_table(lake_uri, spec, version), f"lake version {version}, as published"
    except DeltaError:
        return read_lake_table(
            lake_uri, spec
        ), f"lake version {version} is gone (vacuumed): compared with the current"


class ReconcileConfig(dg.Config):
    full: bool = Field(
        default=False,
        description="Compare every partition of the partitioned tables on both sides, not only those "
        "changed since they were last verified: also sees rows changed in the warehouse by hand.",
    )


def reconcile(spec: TableSpec, lake_uri: Lake, reconciler: Reconciler, published: dict[str, int | None]):
    """One table's `reconcile_with_lake` result; a mismatch makes the next publish replace it whole."""
    key = warehouse_key(spec.name)
    lake, compared_with = _lake_as_published(lake_uri, spec, published)
    try:
        result = reconciler.reconcile(lake)
    except WarehouseError as error:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"mismatch": str(error)},
        )
    scope: dict[str, str | int] = {"reconcile": result.summary}
    if spec.partitioned:
        scope.update(
            partitions_verified_now=result.verified_now, partitions_verified_earlier=result.verified_earlier
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            **result.lake.as_metadata("lake"),
            **result.warehouse.as_metadata("warehouse"),
            "compared_with": compared_with,
            **scope,
            "mismatch": "; ".join(result.mismatches) + "; the next publish replaces the table whole"
            if result.mismatches
            else "none",
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=warehouse_key(spec.name),
            description="The warehouse table has the row count, key set checksum"
            + (" and total ms_played" if "ms_played" in spec.column_names else "")
            + " of the lake version it was published from (aggregates on both sides"
            + (
                "; only the partitions changed since last verified, unless run with `full`"
                if spec.partitioned
                else ""
            )
            + ").",
        )
        for spec in WAREHOUSE_TABLES
    ],
    name="warehouse_reconcile_with_lake",
)
def reconcile_with_lake(config: ReconcileConfig, lake: LakeResource, warehouse: Warehouse):
    """One `reconcile_with_lake` result per warehouse table."""
    with lake.read_lock(), warehouse.reconciler(full=config.full) as reconciler:
        published = warehouse.published_versions()
        for spec in WAREHOUSE_TABLES:
            yield reconcile(spec, lake.location, reconciler, published)


warehouse_assets = [warehouse_publish]
warehouse_checks = [reconcile_with_lake]
