"""Asset checks on the lake, derived from the table specifications in `tables.py`.

Every check has its own name, asset, result and severity in the UI, but the checks of the tables one
step writes run together in one step (a `multi_asset_check` per producing step, `bundle`): a run
of `everything` has a handful of check steps instead of one per check, and each step scans a table
once for all its checks. A bundle runs right after the step whose tables it checks, so a blocking
check still stops what lies downstream of its asset; when a bundle's blocking check fails, the
bundle's step fails, which holds back everything downstream of any table of that step.

Integrity checks (primary keys, foreign keys, per-file accounting) are blocking with severity
ERROR, except the foreign keys of the enrichment tables (see `ADVISORY_FOREIGN_KEYS`). Coverage, range,
resolution and freshness checks warn. A per-file table (raw_plays, clean_plays, rejected_plays,
file_reads: one partition per landing file, its primary key starts with the file) is checked in
the partition the run wrote when the step runs for one partition, else whole. A check that raises
reports a failed result with the error (ERROR when blocking, else WARN) and the other checks of its
step still report theirs. Every check reads the lake through the `lake` resource.
"""

import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl

from .resources.lake import LakeResource
from .resources.landing import HASH_LENGTH, LandingFolder
from .tables import (
    ALBUM_ART,
    CLEAN_PLAYS,
    DIM_DATE,
    DUPLICATE_PLAYS,
    FACT_STREAMS,
    FILE_ACCOUNTING,
    FILE_READS,
    LAKE_TABLES,
    PARTITION_COLUMN,
    RAW_PLAYS,
    REJECTED_PLAYS,
    RESOLUTION_STATUSES,
    TABLES,
    TRACK_METADATA,
    TRACK_RESOLUTION,
    TableSpec,
)

SAMPLE_SIZE = 10
MAX_PLAY_MS = 24 * 60 * 60 * 1000
ACCOUNTED_VERDICTS = ("clean", "filtered", "duplicate", "rejected")
RESOLVED_STATUSES = ("matched", "pinned")  # a basic play counts for a Spotify track id
DEFAULT_RESOLVED_SHARE_THRESHOLD = 0.8
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN

# The enrichment tables' foreign keys warn instead of blocking: their rows are Web API answers kept
# per landing file, and a model update can leave one behind that no longer matches (a basic play
# resolved by a later export moves to the track's album, and the album it counted for before leaves
# dim_album) until spotify_lookup runs for that file again. track_metadata's orphans feed nothing (the
# model joins answers by track id); album_art's are published, and a MySQL warehouse refuses them.
ADVISORY_FOREIGN_KEYS = frozenset({ALBUM_ART.name, TRACK_METADATA.name})

# The tables each ingest step writes, one partition per landing file: their bundles check that partition.
PER_FILE_STEPS: dict[str, tuple[TableSpec, ...]] = {
    "raw_plays_checks": (RAW_PLAYS,),
    "cleaned_plays_checks": (CLEAN_PLAYS, REJECTED_PLAYS, FILE_READS),
}
# Written by spotify_lookup: bundled with its coverage checks in assets/enrich.py.
ENRICH_TABLES = (ALBUM_ART, TRACK_METADATA)
PER_FILE_TABLES = frozenset(spec.name for specs in PER_FILE_STEPS.values() for spec in specs)
# Every other lake table is written by the model step (star_schema).
MODEL_TABLES = tuple(
    spec
    for spec in LAKE_TABLES
    if spec.name not in PER_FILE_TABLES and spec.name not in {table.name for table in ENRICH_TABLES}
)


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
            return self.scan(spec), "whole table"
        return self.scan(spec).filter(pl.col(PARTITION_COLUMN) == partition), f"partition {partition}"


@dataclass(frozen=True)
class Check:
    """One asset check: its spec (name, asset, blocking) and how it evaluates on a `CheckRun`."""

    spec: dg.AssetCheckSpec
    evaluate: Callable[[CheckRun], dg.AssetCheckResult]
    resources: frozenset[str] = frozenset({"lake"})


def _sample(frame: pl.DataFrame) -> dg.MetadataValue:
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
        for check in checks:
            if check.spec.key in selected:
                yield _evaluate(check, run)

    return run_checks


def primary_key_check(spec: TableSpec) -> Check:
    """`<table>`'s primary key is unique and never null."""
    key = list(spec.primary_key)

    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        where = [PARTITION_COLUMN] if spec.partitioned and PARTITION_COLUMN not in key else []
        table, scope = run.written(spec)
        keys = table.select(*key, *where)
        rows, null_keys, duplicates = pl.collect_all(
            [
                keys.select(pl.len()),
                keys.filter(pl.any_horizontal(pl.col(key).is_null())),
                keys.drop_nulls(key)
                .group_by(key)
                .agg(pl.len().alias("rows"), *(pl.col(column).unique() for column in where))
                .filter(pl.col("rows") > 1)
                .sort(["rows", *key], descending=True),
            ]
        )
        return dg.AssetCheckResult(
            passed=null_keys.is_empty() and duplicates.is_empty(),
            severity=ERROR,
            metadata={
                "scope": scope,
                "rows": rows.item(),
                "null_keys": null_keys.height,
                "duplicated_keys": duplicates.height,
                "sample_duplicates": _sample(duplicates),
                "sample_null_keys": _sample(null_keys),
            },
        )

    check_spec = dg.AssetCheckSpec(
        "primary_key_unique_not_null",
        asset=spec.name,
        description=f"Every row has a ({', '.join(key)}) and no two rows share one.",
        blocking=True,
    )
    return Check(check_spec, evaluate)


def foreign_key_check(spec: TableSpec, tables: Mapping[str, TableSpec] = TABLES) -> Check:
    """Every non-null foreign key of `<table>` is the primary key of a row of the table it references,
    and a not-null foreign key column holds no null."""
    references = spec.references(tables)
    blocking = spec.name not in ADVISORY_FOREIGN_KEYS

    where = [PARTITION_COLUMN] if spec.partitioned else []  # the sample names the files to rewrite

    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        table = run.scan(spec)
        queries = [table.select(pl.len())]
        for reference in references:
            parent = (
                run.scan(tables[reference.parent])
                .select(pl.col(reference.parent_column).alias(reference.column))
                .unique()
            )
            queries.append(
                table.select(reference.column, *where)
                .drop_nulls(reference.column)
                .join(parent, on=reference.column, how="anti")
                .group_by(reference.column)
                .agg(pl.len().alias("rows"), *(pl.col(column).unique().sort() for column in where))
                .sort(["rows", reference.column], descending=True)
            )
            queries.append(table.select(pl.col(reference.column).null_count()))
        rows, *answers = pl.collect_all(queries)
        metadata: dict[str, Any] = {"rows": rows.item()}
        broken = 0
        for reference, dangling, nulls in zip(references, answers[::2], answers[1::2], strict=True):
            dangling_rows = int(dangling.get_column("rows").sum()) if dangling.height else 0
            metadata[f"dangling_{reference.column}_rows"] = dangling_rows
            broken += dangling_rows
            if dangling_rows:
                metadata[f"sample_dangling_{reference.column}"] = _sample(dangling)
            if not reference.nullable:
                null_rows = int(nulls.item())
                metadata[f"null_{reference.column}_rows"] = null_rows
                broken += null_rows
        return dg.AssetCheckResult(
            passed=broken == 0, severity=ERROR if blocking else WARN, metadata=metadata
        )

    parents = dict.fromkeys(reference.parent for reference in references)
    check_spec = dg.AssetCheckSpec(
        "foreign_keys_resolve",
        asset=spec.name,
        description="Every "
        + "; every ".join(
            f"{reference.column} is a {reference.parent}.{reference.parent_column}"
            + (" or null" if reference.nullable else "")
            for reference in references
        )
        + ".",
        blocking=blocking,
        additional_deps=[dg.AssetKey(parent) for parent in parents if parent != spec.name],
    )
    return Check(check_spec, evaluate)


def table_checks(spec: TableSpec) -> list[Check]:
    """The checks `tables.py` implies for a table: its primary key and, if it has any, its foreign keys."""
    return [primary_key_check(spec), *([foreign_key_check(spec)] if spec.foreign_keys else [])]


def _dim_date_coverage(run: CheckRun) -> dg.AssetCheckResult:
    fact_dates = run.scan(FACT_STREAMS).select("date_key").unique()
    dates = run.scan(DIM_DATE).select("date_key", "date")
    uncovered, calendar = pl.collect_all(
        [
            fact_dates.join(dates, on="date_key", how="anti").sort("date_key"),
            dates.select(
                pl.len().alias("days"),
                pl.col("date").min().alias("first"),
                pl.col("date").max().alias("last"),
                pl.col("date").n_unique().alias("distinct_days"),
            ),
        ]
    )
    stats = calendar.row(0, named=True)
    first, last = stats["first"], stats["last"]
    expected_days = (last - first).days + 1 if first is not None and last is not None else 0
    gaps = expected_days - stats["distinct_days"]
    return dg.AssetCheckResult(
        passed=uncovered.is_empty() and gaps == 0,
        severity=WARN,
        metadata={
            "days": stats["days"],
            "fact_dates_missing": uncovered.height,
            "days_missing_inside_range": gaps,
            "sample_missing_date_keys": _sample(uncovered),
        },
    )


dim_date_coverage = Check(
    dg.AssetCheckSpec(
        "covers_every_fact_date",
        asset=DIM_DATE.name,
        description="dim_date has every day from the first to the last local date in fact_streams, "
        "without gaps.",
        additional_deps=[FACT_STREAMS.name],
    ),
    _dim_date_coverage,
)


def _rows_per_file(run: CheckRun, spec: TableSpec, name: str) -> pl.LazyFrame:
    return run.scan(spec).group_by(PARTITION_COLUMN).agg(pl.len().alias(name))


ACCOUNTED_TABLES = (RAW_PLAYS, CLEAN_PLAYS, REJECTED_PLAYS, FACT_STREAMS, DUPLICATE_PLAYS)


def _file_accounting_balances(run: CheckRun) -> dg.AssetCheckResult:
    stored = run.scan(FILE_ACCOUNTING).join(
        run.scan(FILE_READS).select(PARTITION_COLUMN), on=PARTITION_COLUMN, how="full", coalesce=True
    )
    for spec in ACCOUNTED_TABLES:
        stored = stored.join(_rows_per_file(run, spec, f"{spec.name}_rows"), on=PARTITION_COLUMN, how="left")
    stored = stored.with_columns(pl.col("^.*_rows$").fill_null(0))
    verdicts = pl.sum_horizontal(ACCOUNTED_VERDICTS)
    problems = {
        "verdicts_do_not_add_up": verdicts != pl.col("rows_read"),
        "rows_read_differs_from_raw_plays": pl.col("rows_read") != pl.col("raw_plays_rows"),
        "valid_differs_from_clean_plays": pl.col("clean") + pl.col("duplicate_across_files")
        != pl.col("clean_plays_rows"),
        "clean_differs_from_fact_streams": pl.col("clean") != pl.col("fact_streams_rows"),
        "rejected_differs_from_rejected_plays": pl.col("rejected") != pl.col("rejected_plays_rows"),
        "across_differs_from_duplicate_plays": pl.col("duplicate_across_files")
        != pl.col("duplicate_plays_rows"),
    }
    files = stored.with_columns(
        verdicts.alias("verdicts"),
        *(condition.fill_null(True).alias(name) for name, condition in problems.items()),
    ).collect()
    broken = files.filter(pl.any_horizontal(list(problems)))
    counts = files.select(pl.col(list(problems)).sum()).row(0, named=True)
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        severity=ERROR,
        metadata={
            "files": files.height,
            "files_out_of_balance": broken.height,
            **{name: int(counts[name] or 0) for name in problems},
            "sample_files_out_of_balance": _sample(
                broken.select(
                    PARTITION_COLUMN,
                    "rows_read",
                    "verdicts",
                    *ACCOUNTED_VERDICTS,
                    "raw_plays_rows",
                    "clean_plays_rows",
                    "rejected_plays_rows",
                    "fact_streams_rows",
                )
            ),
        },
    )


file_accounting_balances = Check(
    dg.AssetCheckSpec(
        "every_row_accounted_for",
        asset=FILE_ACCOUNTING.name,
        description="For every landing file: clean + filtered + duplicate + rejected = rows_read = its "
        "raw_plays rows; clean + duplicate_across_files = its clean_plays rows; clean = its fact_streams "
        "rows; rejected = its rejected_plays rows; duplicate_across_files = its duplicate_plays rows.",
        blocking=True,
        additional_deps=[spec.name for spec in (*ACCOUNTED_TABLES, FILE_READS)],
    ),
    _file_accounting_balances,
)


def _ms_played_in_range(run: CheckRun) -> dg.AssetCheckResult:
    ms_played = pl.col("ms_played")
    fact = run.scan(FACT_STREAMS)
    out_of_range = fact.filter((ms_played < 0) | (ms_played > MAX_PLAY_MS))
    stats, offending = pl.collect_all(
        [
            fact.select(
                ms_played.min().alias("min"),
                ms_played.max().alias("max"),
                ((ms_played < 0) | (ms_played > MAX_PLAY_MS)).sum().alias("out_of_range"),
            ),
            out_of_range.select("play_key", "ms_played", "source_file")
            .sort("ms_played", descending=True)
            .head(SAMPLE_SIZE),
        ]
    )
    row = stats.row(0, named=True)
    count = int(row["out_of_range"] or 0)
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=WARN,
        metadata={
            "out_of_range_rows": count,
            "min_ms_played": row["min"],
            "max_ms_played": row["max"],
            "sample_out_of_range": _sample(offending),
        },
    )


ms_played_in_range = Check(
    dg.AssetCheckSpec(
        "ms_played_in_range",
        asset=FACT_STREAMS.name,
        description=f"Every play lasted between 0 ms and 24 h ({MAX_PLAY_MS:,} ms); longer plays are "
        "suspicious.",
    ),
    _ms_played_in_range,
)


def _fact_streams_freshness(run: CheckRun) -> dg.AssetCheckResult:
    landing: LandingFolder = run.context.resources.landing
    event = run.context.instance.get_latest_materialization_event(dg.AssetKey(FACT_STREAMS.name))
    built_at = event.timestamp if event else 0.0
    files = landing.files()
    newer = [path for path in files if path.stat().st_mtime > built_at]
    ingested = set(run.scan(FILE_ACCOUNTING).select("content_hash").collect().get_column("content_hash"))
    waiting = sorted(
        path.name for path in newer if landing.describe(path).digest[:HASH_LENGTH] not in ingested
    )
    return dg.AssetCheckResult(
        passed=not waiting,
        severity=WARN,
        metadata={
            "fact_streams_built_at": dg.MetadataValue.timestamp(built_at) if event else "never",
            "landing_files": len(files),
            "files_not_in_fact": len(waiting),
            "sample_files_not_in_fact": dg.MetadataValue.json(waiting[:SAMPLE_SIZE]),
        },
    )


fact_streams_freshness = Check(
    dg.AssetCheckSpec(
        "fresher_than_newest_landing_file",
        asset=FACT_STREAMS.name,
        description="fact_streams was last materialized after every landing file with new bytes was "
        "dropped (a file whose bytes were already ingested under another name does not count).",
    ),
    _fact_streams_freshness,
    resources=frozenset({"lake", "landing"}),
)


def basic_play_resolution(resolution: pl.LazyFrame | pl.DataFrame) -> dict[str, Any]:
    """How many plays heard without a Spotify id (basic account data; `track_resolution` rows) count
    for a track id: `resolved_share` is 1.0 when there are no basic plays."""
    plays, status = pl.col("plays"), pl.col("status")
    row = (
        resolution.lazy()
        .select(
            plays.sum().alias("basic_plays"),
            plays.filter(status.is_in(RESOLVED_STATUSES)).sum().alias("resolved_plays"),
            *(plays.filter(status == name).sum().alias(f"{name}_plays") for name in RESOLUTION_STATUSES),
            pl.len().alias("name_pairs"),
        )
        .collect()
        .row(0, named=True)
    )
    counts = {name: int(value or 0) for name, value in row.items()}
    basic = counts["basic_plays"]
    return {"resolved_share": round(counts["resolved_plays"] / basic, 4) if basic else 1.0, **counts}


def basic_plays_resolved(threshold: float = DEFAULT_RESOLVED_SHARE_THRESHOLD) -> Check:
    """WARN when less than `threshold` of the basic plays resolve to a Spotify track id."""

    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        resolution = run.scan(TRACK_RESOLUTION)
        summary = basic_play_resolution(resolution)
        unresolved = (
            resolution.filter(~pl.col("status").is_in(RESOLVED_STATUSES))
            .select("artist_name", "track_name", "status", "candidate_ids", "plays")
            .sort(["plays", "artist_name", "track_name"], descending=[True, False, False])
            .head(SAMPLE_SIZE)
            .collect()
        )
        return dg.AssetCheckResult(
            passed=summary["resolved_share"] >= threshold,
            severity=WARN,
            description=None if summary["basic_plays"] else "no basic plays",
            metadata={**summary, "threshold": threshold, "sample_unresolved_pairs": _sample(unresolved)},
        )

    spec = dg.AssetCheckSpec(
        "basic_plays_resolved",
        asset=TRACK_RESOLUTION.name,
        description=f"Share of basic account-data plays (no Spotify id) that count for a track id "
        f"({' or '.join(RESOLVED_STATUSES)}); warns under {threshold:.0%}. Passes with no basic plays.",
    )
    return Check(spec, evaluate)


def model_checks(*, resolved_share_threshold: float = DEFAULT_RESOLVED_SHARE_THRESHOLD) -> list[Check]:
    """The checks of the tables the model step writes."""
    return [
        *(check for spec in MODEL_TABLES for check in table_checks(spec)),
        dim_date_coverage,
        file_accounting_balances,
        ms_played_in_range,
        fact_streams_freshness,
        basic_plays_resolved(resolved_share_threshold),
    ]


def build_lake_checks(
    *, resolved_share_threshold: float = DEFAULT_RESOLVED_SHARE_THRESHOLD
) -> list[dg.AssetChecksDefinition]:
    """The check steps of the ingest and model tables (the enrichment's are in assets/enrich.py)."""
    ingest = [
        bundle(
            name,
            [check for spec in specs for check in table_checks(spec)],
            description=f"The checks of {', '.join(spec.name for spec in specs)}, in the landing file "
            "the run wrote.",
            per_file=specs,
        )
        for name, specs in PER_FILE_STEPS.items()
    ]
    model = bundle(
        "star_schema_checks",
        model_checks(resolved_share_threshold=resolved_share_threshold),
        description="The checks of the tables the model step writes: keys, accounting, dates, plays.",
    )
    return [*ingest, model]


lake_checks = build_lake_checks()
