"""The SQL warehouse: published tables in an embedded SQLite file or MySQL/MariaDB (AWS RDS).

core.py        the `Warehouse` resource (dialect-neutral: delegates to one dialect class)
sqlite.py      SQLite dialect (ADBC bulk loads, one transaction per publish)
mysql.py       MySQL/MariaDB dialect (collations, whole-table swap); connection.py (TLS), loads.py
publisher.py   one publish: plan, stage, one ordered transaction, views
plan.py        what to write per table, from lake markers and the warehouse's bookkeeping
bookkeeping.py the warehouse's record of what it published and verified (publish_*, reconcile_partitions)
reconcile.py   reconcile_with_lake's comparison: whole tables, or the partitions changed since verified
frames.py      load frames and typed read-back; stats.py reconciliation statistics; views.py BI views
"""

from ...io_managers.lake_table import LakeTable, read_lake_table  # the lake side of a publish
from .base import WarehouseError
from .core import PublishResult, Warehouse
from .publisher import PublishReport, PublishRequest, TableOutcome
from .reconcile import Reconciler, Reconciliation
from .stats import TableStats, table_stats
from .views import BI_VIEWS, VIEW_DESCRIPTIONS, VIEW_TABLES

__all__ = [
    "BI_VIEWS",
    "VIEW_DESCRIPTIONS",
    "VIEW_TABLES",
    "LakeTable",
    "PublishReport",
    "PublishRequest",
    "PublishResult",
    "Reconciler",
    "Reconciliation",
    "TableOutcome",
    "TableStats",
    "Warehouse",
    "WarehouseError",
    "read_lake_table",
    "table_stats",
]
