"""The checks of the model's tables beyond their keys: dates, per-file accounting, plays, freshness
and how many basic plays resolve to a track id."""

from typing import Any

import dagster as dg
import polars as pl

from .check_bundle import ERROR, SAMPLE_SIZE, WARN, Check, CheckRun, sample
from .resources.landing import HASH_LENGTH, LandingFolder
from .tables import (
    CLEAN_PLAYS,
    DIM_DATE,
    DUPLICATE_PLAYS,
    FACT_STREAMS,
    FILE_ACCOUNTING,
    FILE_READS,
    MODEL_STATE,
    PARTITION_COLUMN,
    RAW_PLAYS,
    REJECTED_PLAYS,
    RESOLUTION_STATUSES,
    TRACK_RESOLUTION,
    TableSpec,
)

MAX_PLAY_MS = 24 * 60 * 60 * 1000
ACCOUNTED_VERDICTS = ("clean", "filtered", "duplicate", "rejected")
RESOLVED_STATUSES = ("matched", "pinned")  # a basic play counts for a Spotify track id
DEFAULT_RESOLVED_SHARE_THRESHOLD = 0.8


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
            "sample_missing_date_keys": sample(uncovered),
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
    """Rows per landing file, from the Delta log's per-file row counts (no rows read)."""
    counts = run.lake.rows_per_partition(spec)
    return pl.LazyFrame(
        {PARTITION_COLUMN: list(counts), name: list(counts.values())},
        schema={PARTITION_COLUMN: pl.String, name: pl.Int64},
    )


ACCOUNTED_TABLES = (RAW_PLAYS, CLEAN_PLAYS, REJECTED_PLAYS, FACT_STREAMS, DUPLICATE_PLAYS)


def _awaiting_model(run: CheckRun) -> pl.DataFrame:
    """Files whose current ingest the model has not applied yet: an ingest that committed while (or
    after) the last model update ran, in another run; the next model update accounts for them."""
    applied = run.scan(MODEL_STATE).select(PARTITION_COLUMN, "ingest_id")
    reads = run.scan(FILE_READS).select(PARTITION_COLUMN, "ingest_id")
    return (
        reads.join(applied, on=[PARTITION_COLUMN, "ingest_id"], how="anti").select(PARTITION_COLUMN).collect()
    )


def _file_accounting_balances(run: CheckRun) -> dg.AssetCheckResult:
    awaiting = _awaiting_model(run)[PARTITION_COLUMN]
    stored = (
        run.scan(FILE_ACCOUNTING)
        .join(run.scan(FILE_READS).select(PARTITION_COLUMN), on=PARTITION_COLUMN, how="full", coalesce=True)
        .filter(~pl.col(PARTITION_COLUMN).is_in(awaiting.implode()))
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
            "files_awaiting_model": awaiting.len(),
            **{name: int(counts[name] or 0) for name in problems},
            "sample_files_out_of_balance": sample(
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
        "rows; rejected = its rejected_plays rows; duplicate_across_files = its duplicate_plays rows. "
        "A file ingested after the last model update (by another run) waits for the next one.",
        blocking=True,
        additional_deps=[spec.name for spec in (*ACCOUNTED_TABLES, FILE_READS)],
    ),
    _file_accounting_balances,
)


def _ms_played_in_range(run: CheckRun) -> dg.AssetCheckResult:
    ms_played = pl.col("ms_played")
    fact = run.scan(FACT_STREAMS)
    out_of_range = (ms_played < 0) | (ms_played > MAX_PLAY_MS)
    row = (
        fact.select(
            ms_played.min().alias("min"),
            ms_played.max().alias("max"),
            out_of_range.sum().alias("out_of_range"),
        )
        .collect()
        .row(0, named=True)
    )
    count = int(row["out_of_range"] or 0)
    offending = (  # the sample reads the file names only when there is something to show
        fact.filter(out_of_range)
        .select("play_key", "ms_played", "source_file")
        .sort("ms_played", descending=True)
        .head(SAMPLE_SIZE)
        .collect()
        if count
        else pl.DataFrame()
    )
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=WARN,
        metadata={
            "out_of_range_rows": count,
            "min_ms_played": row["min"],
            "max_ms_played": row["max"],
            "sample_out_of_range": sample(offending),
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
            metadata={**summary, "threshold": threshold, "sample_unresolved_pairs": sample(unresolved)},
        )

    spec = dg.AssetCheckSpec(
        "basic_plays_resolved",
        asset=TRACK_RESOLUTION.name,
        description=f"Share of basic account-data plays (no Spotify id) that count for a track id "
        f"({' or '.join(RESOLVED_STATUSES)}); warns under {threshold:.0%}. Passes with no basic plays.",
    )
    return Check(spec, evaluate)
