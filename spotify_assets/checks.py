"""Asset checks on the lake, derived from the table specifications in `tables.py`.

Integrity checks (keys, references, per-file accounting) are blocking with severity ERROR: when
one fails, nothing downstream of the table is materialized in that run, and declarative
automation does not publish the warehouse from it. Coverage, range and freshness checks warn.
A check on a per-file table looks at the whole table (it runs with each file's ingest) and names
the offending files. Every check reads the lake through the `lake` resource.
"""

import dagster as dg
import polars as pl

from .resources.lake import LakeResource
from .resources.landing import HASH_LENGTH, LandingFolder
from .tables import (
    CLEAN_PLAYS, DIM_DATE, DUPLICATE_PLAYS, FACT_STREAMS, FILE_ACCOUNTING, FILE_READS, LAKE_TABLES,
    PARTITION_COLUMN, RAW_PLAYS, REJECTED_PLAYS, STAR_SCHEMA, TABLES, TableSpec,
)

SAMPLE_SIZE = 10
MAX_PLAY_MS = 24 * 60 * 60 * 1000
ACCOUNTED_VERDICTS = ("clean", "filtered", "duplicate", "rejected")
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _sample(frame: pl.DataFrame) -> dg.MetadataValue:
    """Up to SAMPLE_SIZE offending rows, as JSON the UI shows."""
    return dg.MetadataValue.json(frame.head(SAMPLE_SIZE).to_dicts())


def build_primary_key_check(spec: TableSpec) -> dg.AssetChecksDefinition:
    """`<table>`'s primary key is unique and never null."""
    key = list(spec.primary_key)

    @dg.asset_check(
        asset=dg.AssetKey(spec.name),
        name="primary_key_unique_not_null",
        description=f"Every row has a ({', '.join(key)}) and no two rows share one.",
        blocking=True,
    )
    def primary_key_check(lake: LakeResource) -> dg.AssetCheckResult:
        where = [PARTITION_COLUMN] if spec.partitioned and PARTITION_COLUMN not in key else []
        table = lake.scan(spec).select(*key, *where)
        null_keys = table.filter(pl.any_horizontal(pl.col(key).is_null())).collect()
        duplicates = (
            table.drop_nulls(key)
            .group_by(key).agg(pl.len().alias("rows"), *(pl.col(column).unique() for column in where))
            .filter(pl.col("rows") > 1).sort("rows", descending=True)
            .collect()
        )
        return dg.AssetCheckResult(
            passed=null_keys.is_empty() and duplicates.is_empty(),
            severity=ERROR,
            metadata={
                "rows": table.select(pl.len()).collect().item(),
                "null_keys": null_keys.height,
                "duplicated_keys": duplicates.height,
                "sample_duplicates": _sample(duplicates),
                "sample_null_keys": _sample(null_keys),
            },
        )

    return primary_key_check


def build_foreign_key_check(spec: TableSpec) -> dg.AssetChecksDefinition:
    """Every foreign key of `<table>` resolves to a row of the table it references."""

    @dg.asset_check(
        asset=dg.AssetKey(spec.name),
        name="foreign_keys_resolve",
        description="Every " + ", ".join(f"{column} is in {table}" for column, table in spec.foreign_keys.items()) + ".",
        blocking=True,
        additional_deps=[dg.AssetKey(table) for table in dict.fromkeys(spec.foreign_keys.values())],
    )
    def foreign_key_check(lake: LakeResource) -> dg.AssetCheckResult:
        table = lake.scan(spec)
        metadata: dict = {"rows": table.select(pl.len()).collect().item()}
        dangling_total = 0
        for column, referenced in spec.foreign_keys.items():
            parent = lake.scan(TABLES[referenced]).select(pl.col(column).unique())
            dangling = (
                table.join(parent, on=column, how="anti").group_by(column).len("rows")
                .sort("rows", descending=True).collect()
            )
            rows = int(dangling["rows"].sum()) if dangling.height else 0
            dangling_total += rows
            metadata[f"dangling_{column}_rows"] = rows
            if rows:
                metadata[f"sample_dangling_{column}"] = _sample(dangling)
        return dg.AssetCheckResult(passed=dangling_total == 0, severity=ERROR, metadata=metadata)

    return foreign_key_check


@dg.asset_check(
    asset=dg.AssetKey(DIM_DATE.name),
    name="covers_every_fact_date",
    description="dim_date has every day from the first to the last local date in fact_streams, without gaps.",
    additional_deps=[dg.AssetKey(FACT_STREAMS.name)],
)
def dim_date_coverage(lake: LakeResource) -> dg.AssetCheckResult:
    fact_dates = lake.scan(FACT_STREAMS).select("date_key").unique()
    dates = lake.scan(DIM_DATE).select("date_key", "date").collect()
    uncovered = fact_dates.join(dates.lazy(), on="date_key", how="anti").sort("date_key").collect()
    expected_days = (
        (dates["date"].max() - dates["date"].min()).days + 1 if dates.height else 0
    )
    gaps = expected_days - dates["date"].n_unique()
    return dg.AssetCheckResult(
        passed=uncovered.is_empty() and gaps == 0,
        severity=WARN,
        metadata={
            "days": dates.height,
            "fact_dates_missing": uncovered.height,
            "days_missing_inside_range": gaps,
            "sample_missing_date_keys": _sample(uncovered),
        },
    )


def _rows_per_file(lake: LakeResource, spec: TableSpec, name: str) -> pl.LazyFrame:
    return lake.scan(spec).group_by(PARTITION_COLUMN).agg(pl.len().alias(name))


@dg.asset_check(
    asset=dg.AssetKey(FILE_ACCOUNTING.name),
    name="every_row_accounted_for",
    description="For every landing file: clean + filtered + duplicate + rejected = rows_read = its raw_plays rows; "
                "clean + duplicate_across_files = its clean_plays rows; clean = its fact_streams rows; rejected = "
                "its rejected_plays rows; duplicate_across_files = its duplicate_plays rows.",
    blocking=True,
    additional_deps=[dg.AssetKey(spec.name) for spec in (RAW_PLAYS, CLEAN_PLAYS, REJECTED_PLAYS, FILE_READS,
                                                         FACT_STREAMS, DUPLICATE_PLAYS)],
)
def file_accounting_balances(lake: LakeResource) -> dg.AssetCheckResult:
    stored = (
        lake.scan(FILE_ACCOUNTING)
        .join(lake.scan(FILE_READS).select(PARTITION_COLUMN), on=PARTITION_COLUMN, how="full", coalesce=True)
        .join(_rows_per_file(lake, RAW_PLAYS, "raw_plays_rows"), on=PARTITION_COLUMN, how="left")
        .join(_rows_per_file(lake, CLEAN_PLAYS, "clean_plays_rows"), on=PARTITION_COLUMN, how="left")
        .join(_rows_per_file(lake, REJECTED_PLAYS, "rejected_plays_rows"), on=PARTITION_COLUMN, how="left")
        .join(_rows_per_file(lake, FACT_STREAMS, "fact_streams_rows"), on=PARTITION_COLUMN, how="left")
        .join(_rows_per_file(lake, DUPLICATE_PLAYS, "duplicate_plays_rows"), on=PARTITION_COLUMN, how="left")
        .with_columns(pl.col("^.*_rows$").fill_null(0))
    )
    verdicts = pl.sum_horizontal(ACCOUNTED_VERDICTS)
    problems = {
        "verdicts_do_not_add_up": verdicts != pl.col("rows_read"),
        "rows_read_differs_from_raw_plays": pl.col("rows_read") != pl.col("raw_plays_rows"),
        "valid_differs_from_clean_plays":
            pl.col("clean") + pl.col("duplicate_across_files") != pl.col("clean_plays_rows"),
        "clean_differs_from_fact_streams": pl.col("clean") != pl.col("fact_streams_rows"),
        "rejected_differs_from_rejected_plays": pl.col("rejected") != pl.col("rejected_plays_rows"),
        "across_differs_from_duplicate_plays":
            pl.col("duplicate_across_files") != pl.col("duplicate_plays_rows"),
    }
    files = stored.with_columns(
        verdicts.alias("verdicts"), *(condition.fill_null(True).alias(name) for name, condition in problems.items())
    ).collect()
    broken = files.filter(pl.any_horizontal(list(problems)))
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        severity=ERROR,
        metadata={
            "files": files.height,
            "files_out_of_balance": broken.height,
            **{name: int(files[name].sum()) for name in problems},
            "sample_files_out_of_balance": _sample(broken.select(
                PARTITION_COLUMN, "rows_read", "verdicts", *ACCOUNTED_VERDICTS,
                "raw_plays_rows", "clean_plays_rows", "rejected_plays_rows", "fact_streams_rows",
            )),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(FACT_STREAMS.name),
    name="ms_played_in_range",
    description=f"Every play lasted between 0 ms and 24 h ({MAX_PLAY_MS:,} ms); longer plays are suspicious.",
)
def ms_played_in_range(lake: LakeResource) -> dg.AssetCheckResult:
    ms_played = pl.col("ms_played")
    out_of_range = lake.scan(FACT_STREAMS).filter((ms_played < 0) | (ms_played > MAX_PLAY_MS))
    stats = lake.scan(FACT_STREAMS).select(ms_played.min().alias("min"), ms_played.max().alias("max")).collect()
    offending = out_of_range.select("play_key", "ms_played", "source_file").sort("ms_played", descending=True)
    count = out_of_range.select(pl.len()).collect().item()
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=WARN,
        metadata={
            "out_of_range_rows": count,
            "min_ms_played": stats["min"][0],
            "max_ms_played": stats["max"][0],
            "sample_out_of_range": _sample(offending.head(SAMPLE_SIZE).collect()),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(FACT_STREAMS.name),
    name="fresher_than_newest_landing_file",
    description="fact_streams was last materialized after every landing file with new bytes was dropped "
                "(a file whose bytes were already ingested under another name does not count).",
)
def fact_streams_freshness(
    context: dg.AssetCheckExecutionContext, lake: LakeResource, landing: LandingFolder
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(FACT_STREAMS.name))
    built_at = event.timestamp if event else 0.0
    files = landing.files()
    newer = [path for path in files if path.stat().st_mtime > built_at]
    ingested = set(lake.scan(FILE_ACCOUNTING).select("content_hash").collect()["content_hash"])
    waiting = sorted(path.name for path in newer if landing.describe(path).digest[:HASH_LENGTH] not in ingested)
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


primary_key_checks = [build_primary_key_check(spec) for spec in LAKE_TABLES]
foreign_key_checks = [build_foreign_key_check(spec) for spec in STAR_SCHEMA if spec.foreign_keys]
lake_checks = [
    *primary_key_checks,
    *foreign_key_checks,
    dim_date_coverage,
    file_accounting_balances,
    ms_played_in_range,
    fact_streams_freshness,
]
