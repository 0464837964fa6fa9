"""The transformation engine: one interface, chosen once per deployment profile.

Assets call `engine.clean(...)` and `engine.model_update(...)` and never ask which engine runs.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from ..transforms.clean import CleanResult, clean_plays
from ..transforms.model_update import ModelSettings, ModelUpdate, plan_update
from ..transforms.overrides import load_overrides
from ..transforms.verdicts import LakeReader


class TransformEngine(dg.ConfigurableResource):
    """Runs the cleaning and modelling transforms; results come back as Polars frames."""

    timezone: str = "UTC"
    overrides_path: str | None = None  # SPOTIFY_TRACK_OVERRIDES: name pairs pinned to a track id

    def clean(
        self, raw: pl.LazyFrame, scratch: Path, *, context: dg.AssetExecutionContext | None = None
    ) -> CleanResult:
        """File-local verdicts for one file's raw rows; `scratch` is a folder that outlives the result.
        `context` is the calling asset's (an engine that submits remote jobs reports through it)."""
        raise NotImplementedError

    def model_settings(self) -> ModelSettings:
        """The time zone and the overrides file as the model sees them now."""
        overrides = load_overrides(self.overrides_path)
        return ModelSettings(
            timezone=self.timezone,
            overrides=overrides.pins,
            overrides_digest=overrides.digest,
            warnings=overrides.warnings,
        )

    def model_update(
        self, lake: LakeReader, *, context: dg.AssetExecutionContext | None = None
    ) -> ModelUpdate:
        """What the star schema needs written to reflect every ingested file (see model_update.py)."""
        raise NotImplementedError


class PolarsEngine(TransformEngine):
    """Local default: lazy Polars on this machine."""

    def clean(
        self, raw: pl.LazyFrame, scratch: Path, *, context: dg.AssetExecutionContext | None = None
    ) -> CleanResult:
        return clean_plays(raw, scratch)

    def model_update(
        self, lake: LakeReader, *, context: dg.AssetExecutionContext | None = None
    ) -> ModelUpdate:
        return plan_update(lake, self.model_settings())
