"""Asset checks on the lake, derived from the table specifications in `tables.py`.

Every table gets `primary_key_unique_not_null` and, when it declares foreign keys,
`foreign_keys_resolve`; the model's tables also get the checks of `model_checks.py`. The checks of
the tables one step writes run together in one step right after it (`check_bundle.bundle`):
`raw_plays_checks`, `cleaned_plays_checks`, `star_schema_checks` (and `spotify_lookup_checks` in
assets/enrich.py), so a blocking check still stops what lies downstream of its asset, and a failed
one holds back everything downstream of any table of that step.

Integrity checks (primary keys, foreign keys, per-file accounting) are blocking with severity
ERROR, except the foreign keys of the enrichment tables (see `ADVISORY_FOREIGN_KEYS`). Coverage,
range, resolution and freshness checks warn. A per-file table (raw_plays, clean_plays,
rejected_plays, file_reads: one partition per landing file, its primary key starts with the file)
is checked in the partition the run wrote when the step runs for one partition, else whole. Every
check reads the lake through the `lake` resource.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from .adapters.dagster_check_history import last_evaluation
from .check_bundle import ERROR, WARN, WHOLE_TABLE, Check, CheckRun, bundle, sample
from .model_checks import (
    DEFAULT_RESOLVED_SHARE_THRESHOLD,
    basic_plays_resolved,
    dim_date_coverage,
    fact_streams_freshness,
    file_accounting_balances,
    ms_played_in_range,
)
from .model_checks import RESOLVED_STATUSES as RESOLVED_STATUSES
from .model_checks import basic_play_resolution as basic_play_resolution
from .tables import (
    ALBUM_ART,
    CLEAN_PLAYS,
    FILE_READS,
    LAKE_TABLES,
    PARTITION_COLUMN,
    RAW_PLAYS,
    REJECTED_PLAYS,
    TABLES,
    TRACK_METADATA,
    TableSpec,
)

# The enrichment tables' foreign keys warn instead of blocking: their rows are Web API answers kept
# per landing file, written by spotify_lookup for that file only, so a row can only be corrected by
# that file's next lookup. (The one known way to orphan a row, the "unknown album" of tracks known by
# name that leaves dim_album once a later export resolves them, is closed: such albums get no album_art
# row, lookup_plan.album_states.) A MySQL warehouse refuses an album_art orphan at publish.
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


PRIMARY_KEY_CHECK = "primary_key_unique_not_null"


def _key_problems(
    keys: pl.LazyFrame, key: list[str], where: list[str]
) -> tuple[int, pl.DataFrame, pl.DataFrame]:
    """Rows of `keys`, its rows with a null key, and its duplicated keys (with their files)."""
    distinct = pl.col(key[0]).n_unique() if len(key) == 1 else pl.struct(key).n_unique()
    rows, null_keys, counts = pl.collect_all(
        [
            keys.select(pl.len()),
            keys.filter(pl.any_horizontal(pl.col(key).is_null())),
            keys.drop_nulls(key).select(pl.len().alias("keys"), distinct.alias("distinct")),
        ]
    )
    # the key columns alone decide; only a table with duplicates is grouped for the sample
    duplicates = (
        pl.DataFrame()
        if counts["keys"].item() == counts["distinct"].item()
        else keys.drop_nulls(key)
        .group_by(key)
        .agg(pl.len().alias("rows"), *(pl.col(column).unique().sort() for column in where))
        .filter(pl.col("rows") > 1)
        .sort(["rows", *key], descending=True)
        .collect()
    )
    return rows.item(), null_keys, duplicates


def _verified_partitions(run: CheckRun, check_key: dg.AssetCheckKey, table: str) -> Mapping[str, str]:
    """The partition markers the check's last completed evaluation verified, when it passed on this
    table; else none."""
    earlier = last_evaluation(run.context.instance, check_key, run.context.run.run_id)
    if earlier is None or not earlier[0] or earlier[1].get("verified_table") != table:
        return {}
    markers = earlier[1].get("verified_partitions")
    return markers if isinstance(markers, dict) else {}


def _partitioned_key_problems(
    run: CheckRun, spec: TableSpec, check_key: dg.AssetCheckKey
) -> tuple[int, pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """A whole partitioned table's key problems, reading only what changed since it last passed.

    A passing evaluation records every partition's marker (the digest of its data files, which
    changes with every rewrite). Partitions with the same marker hold the rows verified then, whose
    keys were unique among themselves; so the keys of the other partitions only need to be unique
    among themselves and absent from those (one pass over the unchanged partitions' key column,
    hashing only the new keys). No earlier pass, another lake or a failed evaluation: all rows."""
    key = list(spec.primary_key)
    where = [PARTITION_COLUMN] if PARTITION_COLUMN not in key else []
    table_uri = run.lake.location.table_uri(spec.name)
    lake_table = run.lake.current_version(spec)
    earlier = _verified_partitions(run, check_key, table_uri)
    unchanged = sorted(name for name, marker in lake_table.markers.items() if earlier.get(name) == marker)
    changed = sorted(set(lake_table.markers) - set(unchanged))
    metadata: dict[str, Any] = {"verified_table": table_uri}
    if not changed:  # everything verified already
        rows, null_keys, duplicates = lake_table.row_count, pl.DataFrame(), pl.DataFrame()
        metadata["scope"] = f"0 changed partition(s) against {len(unchanged)} verified by an earlier check"
    elif not unchanged:
        rows, null_keys, duplicates = _key_problems(lake_table.scan().select(*key, *where), key, where)
        metadata["scope"] = WHOLE_TABLE
    else:
        new = lake_table.scan(changed).select(*key, *where)
        clashes = lake_table.scan(unchanged).select(*key, *where).join(new.select(key), on=key, how="semi")
        _, null_keys, duplicates = _key_problems(pl.concat([new, clashes]), key, where)
        rows = lake_table.row_count
        metadata["scope"] = (
            f"{len(changed)} changed partition(s) against {len(unchanged)} verified by an earlier check"
        )
    metadata["verified_partitions"] = dg.MetadataValue.json(dict(lake_table.markers))
    return rows, null_keys, duplicates, metadata


def primary_key_check(spec: TableSpec) -> Check:
    """`<table>`'s primary key is unique and never null."""
    key = list(spec.primary_key)
    check_spec = dg.AssetCheckSpec(
        PRIMARY_KEY_CHECK,
        asset=spec.name,
        description=f"Every row has a ({', '.join(key)}) and no two rows share one.",
        blocking=True,
    )

    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        where = [PARTITION_COLUMN] if spec.partitioned and PARTITION_COLUMN not in key else []
        table, scope = run.written(spec)
        metadata: dict[str, Any] = {"scope": scope}
        if spec.partitioned and scope == WHOLE_TABLE:
            rows, null_keys, duplicates, metadata = _partitioned_key_problems(run, spec, check_spec.key)
        else:
            rows, null_keys, duplicates = _key_problems(table.select(*key, *where), key, where)
        passed = null_keys.is_empty() and duplicates.is_empty()
        if not passed:
            metadata.pop("verified_partitions", None)
        return dg.AssetCheckResult(
            passed=passed,
            severity=ERROR,
            metadata={
                **metadata,
                "rows": rows,
                "null_keys": null_keys.height,
                "duplicated_keys": duplicates.height,
                "sample_duplicates": sample(duplicates),
                "sample_null_keys": sample(null_keys),
            },
        )

    return Check(check_spec, evaluate)


def _with_files(table: pl.LazyFrame, dangling: pl.DataFrame, column: str, where: list[str]) -> pl.DataFrame:
    """The dangling keys with the landing files holding them (a partitioned table's sample names the
    files to rewrite), in their order."""
    if not where:
        return dangling
    files = (
        table.select(column, *where)
        .join(dangling.lazy().select(column), on=column, how="semi")
        .group_by(column)
        .agg(pl.col(name).unique().sort() for name in where)
    )
    return dangling.join(files.collect(), on=column, how="left", maintain_order="left")


def foreign_key_check(spec: TableSpec, tables: Mapping[str, TableSpec] = TABLES) -> Check:
    """Every non-null foreign key of `<table>` is the primary key of a row of the table it references,
    and a not-null foreign key column holds no null."""
    references = spec.references(tables)
    blocking = spec.name not in ADVISORY_FOREIGN_KEYS

    where = [PARTITION_COLUMN] if spec.partitioned else []  # the sample names the files to rewrite

    def evaluate(run: CheckRun) -> dg.AssetCheckResult:
        table = run.scan(spec)
        keys = {
            reference.column: run.scan(tables[reference.parent])
            .select(pl.col(reference.parent_column).alias(reference.column))
            .unique()
            for reference in references
        }
        # one pass over the table counts every reference's dangling and null rows; only a column
        # with dangling rows is grouped again, for its sample
        collected = pl.collect_all(list(keys.values()))
        counts = (
            table.select(
                pl.len().alias("rows"),
                *(
                    (pl.col(column).is_not_null() & ~pl.col(column).is_in(parent.to_series().implode()))
                    .sum()
                    .alias(f"dangling_{column}_rows")
                    for column, parent in zip(keys, collected, strict=True)
                ),
                *(pl.col(column).null_count().alias(f"null_{column}_rows") for column in keys),
            )
            .collect()
            .row(0, named=True)
        )
        metadata: dict[str, Any] = {"rows": counts["rows"]}
        broken = 0
        for reference in references:
            column = reference.column
            dangling_rows = int(counts[f"dangling_{column}_rows"])
            metadata[f"dangling_{column}_rows"] = dangling_rows
            broken += dangling_rows
            if dangling_rows:
                dangling = (
                    table.select(column)
                    .join(keys[column], on=column, how="anti")
                    .drop_nulls(column)
                    .group_by(column)
                    .agg(pl.len().alias("rows"))
                    .sort(["rows", column], descending=True)
                    .collect()
                )
                metadata[f"sample_dangling_{column}"] = sample(_with_files(table, dangling, column, where))
            if not reference.nullable:
                null_rows = int(counts[f"null_{column}_rows"])
                metadata[f"null_{column}_rows"] = null_rows
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
