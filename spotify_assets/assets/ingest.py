"""Ingest: landing files become `raw_plays`, then clean plays, rejects and per-file accounting."""


import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from ..partitions import landing_files
from ..resources.engine import TransformEngine
from ..resources.lake import LakeResource
from ..resources.landing import LandingFolder, hash_of_key
from ..tables import CLEAN_PLAYS, FILE_ACCOUNTING, PARTITION_COLUMN, RAW_PLAYS, REJECTED_PLAYS
from ..transforms.parse import NotAHistoryFile, read_history
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

    Detects the format from content (Maven CSV, Extended Streaming History JSON or ZIP), keeps the
    source file and line of every record, and never reads IP addresses or user agents. A file that
    is not a history fails its own partition only, naming the file and what was expected.
    """
    path = landing.find(context.partition_key)
    try:
        frame = read_history(path)
    except NotAHistoryFile as error:
        raise dg.Failure(description=str(error), metadata={"file": str(path)}) from error
    return dg.Output(frame, metadata={"file": str(path), "bytes": path.stat().st_size})


@dg.multi_asset(
    outs={
        "clean_plays": lake_out(CLEAN_PLAYS),
        "rejected_plays": lake_out(REJECTED_PLAYS),
        "file_accounting": lake_out(FILE_ACCOUNTING),
    },
    partitions_def=landing_files,
    group_name=INGEST,
)
def cleaned_plays(
    context: dg.AssetExecutionContext,
    raw_plays: pl.LazyFrame,
    engine: TransformEngine,
    lake: LakeResource,
):
    """Splits one file's raw rows into clean plays, rejected rows and the file's accounting.

    clean_plays: one row per distinct valid play of at least 500 ms (duplicates of plays kept
    from this or any other file are counted, not kept). rejected_plays: one row per unusable
    record with file, line, raw text and reason. file_accounting: one row per file, where
    clean + filtered + duplicate + rejected = rows read.
    """
    key = context.partition_key
    kept_elsewhere = lake.scan(CLEAN_PLAYS).filter(pl.col(PARTITION_COLUMN) != key).select("play_key")
    with tempfile.TemporaryDirectory(prefix="spotify_assets_clean_") as scratch:
        result = engine.clean(raw_plays, kept_elsewhere, Path(scratch), context=context)
        counts = result.counts
        for detail in result.rejected["detail"].head(REJECTS_LOGGED):
            context.log.warning(f"rejected: {detail}")
        if result.rejected.height > REJECTS_LOGGED:
            context.log.warning(f"... and {result.rejected.height - REJECTS_LOGGED} more rejected rows in rejected_plays")
        context.log.info(f"{key}: " + ", ".join(f"{name} {value}" for name, value in counts.items()))
        source = raw_plays.select("source_file", "source_format").head(1).collect()
        accounting = pl.DataFrame({
            "file_name": [source["source_file"][0].split("/")[0] if source.height else key],
            "content_hash": [hash_of_key(key)],
            "source_format": [source["source_format"][0] if source.height else "empty"],
            **{name: [value] for name, value in counts.items()},
        })
        accounting_metadata = {name: dg.MetadataValue.int(value) for name, value in counts.items()}
        yield dg.Output(result.clean, output_name="clean_plays", metadata=accounting_metadata)
        yield dg.Output(result.rejected, output_name="rejected_plays",
                        metadata={"reasons": _reason_counts(result.rejected)})
        yield dg.Output(accounting, output_name="file_accounting", metadata=accounting_metadata)


def _reason_counts(rejected: pl.DataFrame) -> dg.MetadataValue:
    counts = rejected.group_by("reason").len().sort("reason")
    return dg.MetadataValue.json(dict(zip(counts["reason"].to_list(), counts["len"].to_list())))
