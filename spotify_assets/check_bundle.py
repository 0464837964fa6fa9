"""Checks that run together: one `multi_asset_check` step for many asset checks (`bundle`).

Every check keeps its own name, asset, result, severity and blocking flag in the UI; the step runs
the selected ones (a single check can be executed on its own) and scans each table once for all of
them (`CheckRun.scan`). A check that raises reports a failed result naming the error (ERROR when it
is blocking, else WARN) and the other checks of its step still report theirs. Dagster fails the step
after its results when a blocking check failed with ERROR, which holds back everything downstream
of the step's checks.
"""

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from .resources.lake import LakeResource
from .tables import PARTITION_COLUMN, TableSpec

SAMPLE_SIZE = 10
WHOLE_TABLE = "whole table"  # the scope of a check that read every partition
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


@dataclass
class CheckRun:
    """What the checks of one step read: the lake (each table scanned once per step) and the step's
    context (instance, resources, partition)."""

    context: dg.AssetCheckExecutionContext
    lake: LakeResource
    per_file: frozenset[str] = frozenset()  # tables checked in the run's partition only
    _scans: dict[str, pl.LazyFrame] = field(default_factory=dict)

    @property
    def partition(self) -> str | None:
        return self.context.partition_key if self.context.has_partition_key else None

    def scan(self, spec: TableSpec) -> pl.LazyFrame:
        if spec.name not in self._scans:
            self._scans[spec.name] = self.lake.scan(spec)
        return self._scans[spec.name]

    def written(self, spec: TableSpec) -> tuple[pl.LazyFrame, str]:
        """What the run wrote of `spec`: its partition for a per-file table in a run of one
        partition, else the whole table; and which of the two, for the metadata."""
        partition = self.partition
        if partition is None or spec.name not in self.per_file:
            return self.scan(spec), WHOLE_TABLE
        return self.scan(spec).filter(pl.col(PARTITION_COLUMN) == partition), f"partition {partition}"


@dataclass(frozen=True)
class Check:
    """One asset check: its spec (name, asset, blocking) and how it evaluates on a `CheckRun`."""

    spec: dg.AssetCheckSpec
    evaluate: Callable[[CheckRun], dg.AssetCheckResult]
    resources: frozenset[str] = frozenset({"lake"})


def sample(frame: pl.DataFrame) -> dg.MetadataValue:
    """Up to SAMPLE_SIZE offending rows, as JSON the UI shows."""
    return dg.MetadataValue.json(frame.head(SAMPLE_SIZE).to_dicts())


def _result(check: Check, result: dg.AssetCheckResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=check.spec.asset_key,
        check_name=check.spec.name,
        passed=result.passed,
        severity=result.severity,
        metadata=result.metadata,
        description=result.description,
    )


def _evaluate(check: Check, run: CheckRun) -> dg.AssetCheckResult:
    """The check's result; a check that raises fails (ERROR when blocking) naming the error."""
    try:
        return _result(check, check.evaluate(run))
    except Exception as error:
        run.context.log.error(f"{check.spec.key.to_user_string()} raised:\n{traceback.format_exc()}")
        return dg.AssetCheckResult(
            asset_key=check.spec.asset_key,
            check_name=check.spec.name,
            passed=False,
            severity=ERROR if check.spec.blocking else WARN,
            metadata={"error": f"{type(error).__name__}: {error}"},
        )


def bundle(
    name: str, checks: Sequence[Check], *, description: str, per_file: Iterable[TableSpec] = ()
) -> dg.AssetChecksDefinition:
    """One step that runs `checks` (or the ones selected) and reports each as its own check."""
    scoped = frozenset(spec.name for spec in per_file)
    resources: set[str] = set().union(*(check.resources for check in checks))

    @dg.multi_asset_check(
        specs=[check.spec for check in checks],
        name=name,
        description=description,
        can_subset=True,
        required_resource_keys=resources,
    )
    def run_checks(context: dg.AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
        run = CheckRun(context, context.resources.lake, scoped)
        selected = context.selected_asset_check_keys
        # shared: a model update in another run does not rewrite the tables halfway through the checks
        with run.lake.read_lock():
            results = [_evaluate(check, run) for check in checks if check.spec.key in selected]
        yield from results

    return run_checks
