"""Model: the star schema built from every file's clean plays."""


import dagster as dg
import polars as pl

from ..resources.engine import TransformEngine
from ..tables import STAR_SCHEMA
from .common import MODEL, lake_out


@dg.multi_asset(
    outs={spec.name: lake_out(spec) for spec in STAR_SCHEMA},
    group_name=MODEL,
)
def star_schema(context: dg.AssetExecutionContext, clean_plays: pl.LazyFrame, engine: TransformEngine):
    """Builds the six dimensions and fact_streams from all clean plays, in one pass.

    fact_streams: one row per clean play with foreign keys to every dimension, the UTC time and
    the local date key and hour in SPOTIFY_TIMEZONE. Keys are stable: the same natural key gets
    the same key whatever the file order, the run or the engine.
    """
    tables = engine.star_schema(clean_plays, context=context)
    context.log.info(", ".join(
        f"{name} {frame.height}" for name, frame in tables.items() if isinstance(frame, pl.DataFrame)
    ))
    for name, frame in tables.items():
        yield dg.Output(frame, output_name=name)
