"""The transformation engine: one interface, chosen once per deployment profile.

Assets call `engine.clean(...)` and `engine.star_schema(...)` and never ask which engine runs.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from ..transforms.clean import CleanResult, clean_plays
from ..transforms.model import star_schema


class TransformEngine(dg.ConfigurableResource):
    """Runs the cleaning and modelling transforms; results come back as Polars frames."""

    timezone: str = "UTC"

    def clean(self, raw: pl.LazyFrame, kept_elsewhere: pl.LazyFrame, scratch: Path, *,
              context: dg.AssetExecutionContext | None = None) -> CleanResult:
        """Verdicts for one file's raw rows; `scratch` is a folder that outlives the result.
        `context` is the calling asset's (an engine that submits remote jobs reports through it)."""
        raise NotImplementedError

    def star_schema(self, clean: pl.LazyFrame, *,
                    context: dg.AssetExecutionContext | None = None) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        raise NotImplementedError


class PolarsEngine(TransformEngine):
    """Local default: lazy Polars on this machine."""

    def clean(self, raw: pl.LazyFrame, kept_elsewhere: pl.LazyFrame, scratch: Path, *,
              context: dg.AssetExecutionContext | None = None) -> CleanResult:
        return clean_plays(raw, kept_elsewhere, scratch)

    def star_schema(self, clean: pl.LazyFrame, *,
                    context: dg.AssetExecutionContext | None = None) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        return star_schema(clean, self.timezone)
