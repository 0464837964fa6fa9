"""Ingest: landing files become `raw_plays`, then clean plays, rejects and per-file accounting."""

import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import xxhash

from ..partitions import landing_files
from ..resources.engine import TransformEngine
from ..resources.landing import LandingFolder, hash_of_key
from ..tables import CLEAN_PLAYS, FILE_READS, RAW_PLAYS, REJECTED_PLAYS
from ..transforms.clean import CleanResult
from ..transforms.parse import NotAHistoryFile, read_history_file
from ..transforms.rules import RULES_VERSION
from .common import INGEST, LAKE_IO_MANAGER, OWNERS, lake_out, table_metadata

REJECTS_LOGGED = 20


@dg.asset(
    partitions_def=landing_files,
    group_name=INGEST,
    io_manager_key=LAKE_IO_MANAGER,
    kinds={"polars", "delta"},
    owners=OWNERS,
    metadata=table_metadata(RAW_PLAYS),
)
def raw_plays(context: dg.AssetExecutionContext, landing: LandingFolder) -> dg.Output[pl.LazyFrame]:
    """One row per record of one landing file (partition), values as text exactly as they came.

    Detects the format from content (Maven CSV also as a spreadsheet saved it, Extended Streaming
    History JSON, basic account-data JSON, or a ZIP of them: members are judged by content, the rest
    skipped and listed), keeps the source file and line of every record, and never reads IP
    addresses or user agents. A file that is not a history fails its own partition only, naming the
    file and what was expected.
    """
    path = landing.find(context.partition_key)
    try:
        read = read_history_file(path, date_order=landing.csv_date_order)
    except NotAHistoryFile as error:
        raise dg.Failure(description=str(error), metadata={"file": str(path)}) from error
    return dg.Output(
        read.plays, metadata={"file": str(path), "bytes": path.stat().st_size, **read.metadata()}
    )


@dg.multi_asset(
    outs={
        "clean_plays": lake_out(CLEAN_PLAYS),
        "rejected_plays": lake_out(REJECTED_PLAYS),
        "file_reads": lake_out(FILE_READS),
    },
    partitions_def=landing_files,
    group_name=INGEST,
)
def cleaned_plays(
    context: dg.AssetExecutionContext,
    raw_plays: pl.LazyFrame,
    engine: TransformEngine,
    landing: LandingFolder,
):
    """Splits one file's raw rows into its clean plays, its rejected rows and what its ingest read.

    clean_plays: one row per distinct valid play of at least 500 ms in the file (repeats inside the
    file are counted, not kept; copies in other files are decided by the model). rejected_plays: one
    row per unusable record with file, line, raw text and reason. file_reads: one row per file, where
    valid + filtered + duplicate_in_file + rejected = rows read. Nothing here reads another file, so
    files can be ingested at once. A file whose every row is rejected fails its partition (after its
    rows are stored) with the count and the top reasons.
    """
    key = context.partition_key
    with tempfile.TemporaryDirectory(prefix="spotify_assets_clean_") as scratch:
        result = engine.clean(raw_plays, Path(scratch), context=context)
        counts = result.counts
        for detail in result.rejected["detail"].head(REJECTS_LOGGED):
            context.log.warning(f"rejected: {detail}")
        if result.rejected.height > REJECTS_LOGGED:
            context.log.warning(
                f"... and {result.rejected.height - REJECTS_LOGGED} more rejected rows in rejected_plays"
            )
        context.log.info(f"{key}: " + ", ".join(f"{name} {value}" for name, value in counts.items()))
        reads = file_reads_row(key, raw_plays, result, landing)
        counts_metadata = {name: dg.MetadataValue.int(value) for name, value in counts.items()}
        yield dg.Output(result.clean, output_name="clean_plays", metadata=counts_metadata)
        yield dg.Output(
            result.rejected,
            output_name="rejected_plays",
            metadata={"reasons": _reason_counts(result.rejected)},
        )
        yield dg.Output(reads, output_name="file_reads", metadata=counts_metadata)
    if counts["rows_read"] and counts["rejected"] == counts["rows_read"]:
        raise dg.Failure(description=all_rejected_message(reads["file_name"][0], result.rejected))


def file_reads_row(
    key: str, raw: pl.LazyFrame, result: CleanResult, landing: LandingFolder | None = None
) -> pl.DataFrame:
    """The file_reads row of landing file `key`: what was read and kept."""
    formats = raw.select(pl.col("source_format").unique().sort()).collect()["source_format"]
    first = raw.select("source_file").head(1).collect()["source_file"]
    return pl.DataFrame(
        {
            "file_name": [first[0].split("/")[0] if len(first) else _name_in(landing, key)],
            "content_hash": [hash_of_key(key)],
            "source_format": [file_format(formats.to_list())],
            **{name: [value] for name, value in result.counts.items()},
            "ingest_id": [ingest_fingerprint(result)],
        }
    )


def _name_in(landing: LandingFolder | None, key: str) -> str:
    """The name of a file without records (no row names it): as it lies in the landing folder, or
    the partition key when it is gone from there."""
    try:
        return landing.find(key).name if landing is not None else key
    except FileNotFoundError:
        return key


def ingest_fingerprint(result: CleanResult) -> str:
    """The same for the same clean plays and counts under the same rules; different otherwise.
    The play keys are hashes already: their sum modulo 2**64 is an order-free fingerprint."""
    keys = result.clean.select("play_key").collect()["play_key"].to_numpy()
    total = int(np.sum(keys.view(np.uint64), dtype=np.uint64)) if len(keys) else 0
    counts = ",".join(f"{name}={value}" for name, value in sorted(result.counts.items()))
    return xxhash.xxh3_64_hexdigest(f"{RULES_VERSION}|{counts}|{total}".encode())


def file_format(formats: list[str]) -> str:
    """The file's source format: the one its records have, `mixed`, or `empty` (no records)."""
    return formats[0] if len(formats) == 1 else ("mixed" if formats else "empty")


def all_rejected_message(file_name: str, rejected: pl.DataFrame) -> str:
    top = rejected.group_by("reason").len().sort("len", "reason", descending=[True, False]).head(3)
    reasons = ", ".join(f"{reason} ({count:,})" for reason, count in top.rows())
    first = rejected["detail"][0]
    return (
        f"{file_name}: all {rejected.height:,} rows were rejected ({reasons}); e.g. {first}. "
        "Nothing of it is counted: check that it is a Spotify history export as downloaded "
        "(see rejected_plays)."
    )


def _reason_counts(rejected: pl.DataFrame) -> dg.MetadataValue:
    counts = rejected.group_by("reason").len().sort("reason")
    return dg.MetadataValue.json(dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True)))
