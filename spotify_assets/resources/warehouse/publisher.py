"""One publish: every requested table brought up to its lake version, in one transaction.

Under the dialect's publish lock:
1. plan (`plan.py`) from the lake markers, the bookkeeping and the live tables; nothing changed:
   return having written nothing (no DDL, no DML);
2. stage what incremental tables need into temporary tables: the rows of changed partitions; for an
   unpartitioned table, its rows that differ from the warehouse copy (compared in Polars by every
   column) and the keys the lake no longer has;
3. one transaction, ordered so foreign keys hold at every statement (MySQL checks them):
   a. partition deletes, children before parents;
   b. parents before children: whole-table replacements (SQLite), upserts of changed rows, inserts
      of the reloaded partitions;
   c. deletes of rows gone from the lake, children before parents;
   d. the bookkeeping of every table written;
   A dialect whose DDL commits (MySQL) replaces whole tables outside it, one atomic swap each;
4. the BI views, when missing or their SQL changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from ...io_managers.lake_table import LakeTable, fingerprint
from ...tables import PARTITION_COLUMN, TableSpec
from . import bookkeeping
from .base import Dialect, Log, WarehouseError, column_list, quote, timed
from .frames import load_frame, rows_frame
from .plan import (
    FULL,
    PARTITIONS,
    ROWS,
    UNCHANGED,
    TablePlan,
    parents_first,
    plan_table,
    whole_tables_when_any_full,
)

VIEW_MARKER = "view"


@dataclass
class PublishRequest:
    """What to publish: lake tables at pinned versions, and views. `report` is set once published."""

    tables: tuple[LakeTable, ...]
    views: Mapping[str, str] = field(default_factory=dict)
    full_refresh: bool = False
    report: PublishReport | None = field(default=None, compare=False)


@dataclass
class TableOutcome:
    table: str
    action: str
    reason: str
    row_count: int
    lake_version: int | None
    rows_written: int = 0
    rows_deleted: int = 0
    partitions_reloaded: int = 0
    partitions_dropped: int = 0
    load_method: str | None = None
    swap: str | None = None

    def metadata(self) -> dict:
        figures = {
            "action": self.action,
            "reason": self.reason,
            "rows_written": self.rows_written,
            "rows_deleted": self.rows_deleted,
            "lake_version": self.lake_version,
        }
        if self.action == PARTITIONS:
            figures.update(
                partitions_reloaded=self.partitions_reloaded, partitions_dropped=self.partitions_dropped
            )
        if self.load_method:
            figures.update(load_method=self.load_method, swap=self.swap)
        return {"dagster/row_count": self.row_count, **{k: v for k, v in figures.items() if v is not None}}


@dataclass
class PublishReport:
    tables: dict[str, TableOutcome]
    views: dict[str, str]  # view -> "created" or "unchanged"
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def wrote(self) -> bool:
        return (
            any(outcome.action != UNCHANGED for outcome in self.tables.values())
            or "created" in self.views.values()
        )


@contextmanager
def _about(table: str) -> Iterator[None]:
    """Failures name the table they happened to."""
    try:
        yield
    except WarehouseError as error:
        message = str(error)
        raise WarehouseError(message if message.startswith(f"{table}:") else f"{table}: {message}") from None


def _key_spec(spec: TableSpec, name: str) -> TableSpec:
    keys = tuple(spec.column(column) for column in spec.primary_key)
    return replace(spec, name=name, columns=keys, foreign_keys={}, indexes=(), partitioned=False)


@dataclass
class _Staged:
    incoming: str | None = None  # temporary table of rows to insert or upsert
    incoming_rows: int = 0
    removed: str | None = None  # temporary table of primary keys to delete
    removed_rows: int = 0


class Publisher:
    def __init__(self, dialect: Dialect, log: Log, *, row_diff_limit: int) -> None:
        self.dialect = dialect
        self.log = log
        self.row_diff_limit = row_diff_limit
        self.phases: dict[str, float] = {}

    def publish(self, request: PublishRequest) -> PublishReport:
        started = time.perf_counter()
        dialect = self.dialect
        with dialect.publish_lock():
            with timed(self.phases, "plan"):
                relations = dialect.relations()
                published = bookkeeping.read_published(dialect, relations)
                plans = [
                    plan_table(
                        lake,
                        published.get(lake.spec.name),
                        fingerprint(*dialect.schema_statements(lake.spec)),
                        live=lake.spec.name in relations,
                        full_refresh=request.full_refresh,
                        row_diff_limit=self.row_diff_limit,
                    )
                    for lake in request.tables
                ]
                if not dialect.atomic_ddl:
                    plans = whole_tables_when_any_full(plans)
                view_hashes = {
                    name: fingerprint(*dialect.create_view_statements(name, select))
                    for name, select in request.views.items()
                }
                stale_views = [
                    name
                    for name, digest in view_hashes.items()
                    if name not in relations
                    or name not in published
                    or published[name].ddl_hash != digest
                    or request.full_refresh
                ]
            outcomes = {
                plan.spec.name: TableOutcome(
                    plan.spec.name, plan.action, plan.reason, plan.lake.row_count, plan.lake.version
                )
                for plan in plans
            }
            if any(plan.action != UNCHANGED for plan in plans) or stale_views:
                bookkeeping.ensure_tables(dialect, relations)
                self._write(plans, outcomes)
                with timed(self.phases, "views"):
                    for name in stale_views:  # MySQL: CREATE VIEW commits, so views come after the data
                        for statement in dialect.create_view_statements(name, request.views[name]):
                            dialect.execute(statement)
                        with dialect.transaction():
                            bookkeeping.record_table(
                                dialect,
                                name,
                                ddl_hash=view_hashes[name],
                                marker=VIEW_MARKER,
                                lake_version=None,
                                row_count=None,
                            )
        report = PublishReport(
            outcomes,
            {name: "created" if name in stale_views else "unchanged" for name in request.views},
            round(time.perf_counter() - started, 3),
            dict(self.phases),
        )
        for outcome in outcomes.values():
            self.log.info(
                f"{outcome.table}: {outcome.action} ({outcome.reason}); {outcome.rows_written:,} rows "
                f"written, {outcome.rows_deleted:,} deleted"
            )
        self.log.info(
            f"published to {dialect.masked_url} in {report.seconds:.2f} s ("
            + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in self.phases.items())
            + ")"
        )
        return report

    # ---- writing -------------------------------------------------------------------------------

    def _write(self, plans: list[TablePlan], outcomes: dict[str, TableOutcome]) -> None:
        by_name = {plan.spec.name: plan for plan in plans}
        order = [by_name[spec.name] for spec in parents_first(plan.spec for plan in plans)]
        staged: dict[str, _Staged] = {}
        try:
            with timed(self.phases, "stage"):
                for plan in order:
                    if plan.action in (PARTITIONS, ROWS):
                        with _about(plan.spec.name):
                            staged[plan.spec.name] = self._stage(plan)
            if self.dialect.atomic_ddl or not any(plan.action == FULL for plan in plans):
                with timed(self.phases, "transaction"), self.dialect.transaction():
                    self._apply(order, staged, outcomes)
            else:
                for plan in order:
                    if plan.action == FULL:
                        self._replace_whole(plan, outcomes[plan.spec.name])
        finally:
            self.dialect.drop_staged(
                name for stage in staged.values() for name in (stage.incoming, stage.removed) if name
            )

    def _stage(self, plan: TablePlan) -> _Staged:
        spec, stage = plan.spec, _Staged()
        if plan.action == PARTITIONS:
            incoming = load_frame(spec, plan.lake.scan(plan.reload)) if plan.reload else None
        else:
            lake = plan.lake.scan().collect()
            published = rows_frame(
                spec, self.dialect.query(f"SELECT {column_list(spec.column_names)} FROM {quote(spec.name)}")
            )
            incoming = load_frame(
                spec, lake.join(published, on=spec.column_names, how="anti", nulls_equal=True)
            )
            removed = published.join(lake, on=list(spec.primary_key), how="anti").select(spec.primary_key)
            if removed.height:
                stage.removed, stage.removed_rows = f"{spec.name}__removed", removed.height
                self.dialect.stage(stage.removed, _key_spec(spec, stage.removed), removed, self.log)
        if incoming is not None and incoming.height:
            stage.incoming, stage.incoming_rows = f"{spec.name}__incoming", incoming.height
            self.dialect.stage(stage.incoming, spec, incoming, self.log)
        return stage

    def _apply(
        self, order: list[TablePlan], staged: dict[str, _Staged], outcomes: dict[str, TableOutcome]
    ) -> None:
        for plan in reversed(order):  # children first: no partition delete orphans a child row
            if plan.action == PARTITIONS:
                with _about(plan.spec.name):
                    self._delete_partitions(plan, outcomes[plan.spec.name])
        for plan in order:  # parents first: every inserted row finds its parents
            with _about(plan.spec.name):
                self._load(plan, staged.get(plan.spec.name, _Staged()), outcomes[plan.spec.name])
        for plan in reversed(order):  # children first again, for rows gone from the lake
            removed = staged.get(plan.spec.name, _Staged()).removed
            if removed:
                keys = column_list(plan.spec.primary_key)
                with _about(plan.spec.name):
                    outcomes[plan.spec.name].rows_deleted = self.dialect.execute(
                        f"DELETE FROM {quote(plan.spec.name)} "
                        f"WHERE ({keys}) IN (SELECT {keys} FROM {quote(removed)})"
                    )
        for plan in order:
            if plan.action != UNCHANGED:
                self._record(plan)

    def _delete_partitions(self, plan: TablePlan, outcome: TableOutcome) -> None:
        mark = self.dialect.placeholder
        for chunk in bookkeeping.chunks([*plan.reload, *plan.drop]):
            outcome.rows_deleted += self.dialect.execute(
                f"DELETE FROM {quote(plan.spec.name)} WHERE {quote(PARTITION_COLUMN)} IN "
                f"({', '.join([mark] * len(chunk))})",
                chunk,
            )
        outcome.partitions_reloaded, outcome.partitions_dropped = len(plan.reload), len(plan.drop)

    def _load(self, plan: TablePlan, stage: _Staged, outcome: TableOutcome) -> None:
        spec, dialect = plan.spec, self.dialect
        if plan.action == FULL:
            rows = load_frame(spec, plan.lake.scan())
            outcome.load_method, outcome.swap = dialect.replace_table(spec, rows, self.log, self.phases)
            outcome.rows_written = rows.height
        elif stage.incoming and plan.action == ROWS:
            dialect.execute(dialect.upsert_sql(spec, stage.incoming))
            outcome.rows_written = stage.incoming_rows
        elif stage.incoming:
            columns = column_list(spec.column_names)
            outcome.rows_written = dialect.execute(
                f"INSERT INTO {quote(spec.name)} ({columns}) SELECT {columns} FROM {quote(stage.incoming)}"
            )

    def _replace_whole(self, plan: TablePlan, outcome: TableOutcome) -> None:
        """Outside a transaction (the dialect's DDL commits): forget, swap in, record."""
        with self.dialect.transaction():
            bookkeeping.forget(self.dialect, plan.spec.name, self.dialect.relations())
        with _about(plan.spec.name):
            rows = load_frame(plan.spec, plan.lake.scan())
            outcome.load_method, outcome.swap = self.dialect.replace_table(
                plan.spec, rows, self.log, self.phases
            )
        outcome.rows_written = rows.height
        with self.dialect.transaction():
            self._record(plan)

    def _record(self, plan: TablePlan) -> None:
        lake, dialect = plan.lake, self.dialect
        bookkeeping.record_table(
            dialect,
            lake.spec.name,
            ddl_hash=fingerprint(*dialect.schema_statements(lake.spec)),
            marker=lake.marker,
            lake_version=lake.version,
            row_count=lake.row_count,
        )
        if lake.spec.partitioned and plan.action == FULL:
            bookkeeping.record_partitions(dialect, lake.spec.name, lake.markers, replace_all=True)
        elif lake.spec.partitioned:
            bookkeeping.record_partitions(
                dialect,
                lake.spec.name,
                {name: lake.markers[name] for name in plan.reload},
                replace_all=False,
                dropped=plan.drop,
            )
