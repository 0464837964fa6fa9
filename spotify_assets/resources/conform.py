"""Tables an engine other than Polars computed, shaped like the Polars engine's results.

The Spark and Databricks engines hand the assets the frames `PolarsEngine.star_schema` would: each
table conformed to its spec (`TableSpec.conform`), dimensions collected and sorted by primary key,
`fact_streams` lazy.
"""

from __future__ import annotations

import polars as pl

from ..tables import STAR_SCHEMA, TABLES


def polars_star_schema(
    frames: dict[str, pl.DataFrame | pl.LazyFrame],
) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Frames typed like the Polars engine's: sorted dimensions, `fact_streams` lazy."""
    tables = {spec.name: spec.conform(frames[spec.name]) for spec in STAR_SCHEMA}
    return {
        name: frame if name == "fact_streams" else frame.collect().sort(TABLES[name].primary_key)
        for name, frame in tables.items()
    }
