"""Model: the star schema and the cross-file tables, brought up to date incrementally."""

from typing import Any

import dagster as dg
import polars as pl

from ..instance_rules import POOLS
from ..model_checks import basic_play_resolution
from ..resources.engine import TransformEngine
from ..resources.lake import LakeResource
from ..tables import FACT_STREAMS, MODEL_STATE, TRACK_RESOLUTION
from ..transforms.model_update import OUTPUT_ORDER, ModelUpdate
from .common import MODEL, lake_out

MODEL_POOL = POOLS[1]  # spotify_model: one model update at a time, also where no lake lock exists


class ModelConfig(dg.Config):
    rebuild: bool = False  # forget what the model knows and rebuild every table from clean_plays


@dg.multi_asset(
    outs={spec.name: lake_out(spec, is_required=False) for spec in OUTPUT_ORDER},
    deps=["clean_plays", "file_reads"],
    group_name=MODEL,
    pool=MODEL_POOL,
    can_subset=False,
)
def star_schema(
    context: dg.AssetExecutionContext, config: ModelConfig, engine: TransformEngine, lake: LakeResource
):
    """Brings the six dimensions, fact_streams, file_accounting, duplicate_plays and
    track_resolution up to date with every ingested landing file, in one step.

    fact_streams: one row per play counted once (the winning copy among the files that hold it),
    with foreign keys to every dimension, the UTC time and the local date key and hour in
    SPOTIFY_TIMEZONE. Incremental: only the landing files that changed since the last update (and
    the files whose plays they overlap) are rewritten; a table that did not change is not written.
    Keys are stable whatever the file order, the run or the engine; the result always equals a
    rebuild (the `rebuild_model` job forces one).
    """
    with lake.write_lock():
        if config.rebuild:
            lake.write(MODEL_STATE, MODEL_STATE.empty())
        update = engine.model_update(lake, context=context)
        for warning in update.warnings:
            context.log.warning(warning)
        summary: dict[str, Any] = {
            "mode": update.mode,
            "changed_files": len(update.changed_files),
            "rewritten_files": len(update.rewritten_files),
        }
        context.log.info(f"model update: {summary}")
        resolution = _basic_play_resolution(update, lake)
        context.log.info(f"basic plays resolved: {resolution}")
        # every output is yielded, None when its table is unchanged (nothing is written), so what runs
        # downstream for this run's landing file (its album art) runs whoever updated the model
        for spec, frame, is_output in update.steps():
            if is_output:
                extra = _resolution_metadata(spec.name, resolution)
                yield dg.Output(
                    frame, output_name=spec.name, metadata={**summary, **extra, "written": frame is not None}
                )
            elif frame is not None:
                lake.write(spec, frame)


def _basic_play_resolution(update: ModelUpdate, lake: LakeResource) -> dict:
    """The share of basic plays resolved to a track id, from the new track_resolution or the stored one."""
    frame = update.tables.get(TRACK_RESOLUTION.name)
    resolution = frame if isinstance(frame, pl.DataFrame) else lake.scan(TRACK_RESOLUTION)
    return basic_play_resolution(resolution)


def _resolution_metadata(output: str, resolution: dict) -> dict:
    """track_resolution carries every count of `basic_play_resolution`, fact_streams the share."""
    if output == TRACK_RESOLUTION.name:
        return resolution
    if output == FACT_STREAMS.name:
        share = resolution["resolved_share"]
        return {"basic_plays": resolution["basic_plays"], "basic_plays_resolved_share": share}
    return {}
