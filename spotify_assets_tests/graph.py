"""A platform on temporary folders: the real Definitions, an ephemeral Dagster instance, a tmp lake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from spotify_assets import runner
from spotify_assets.definitions import build_definitions
from spotify_assets.io_managers.delta import scan_table
from spotify_assets.io_managers.location import LakeLocation, lake_location
from spotify_assets.resources.landing import LandingFolder
from spotify_assets.settings import Settings
from spotify_assets.tables import LAKE_TABLES


@dataclass
class Platform:
    settings: Settings
    instance: dg.DagsterInstance

    @classmethod
    def on(cls, root: Path, **settings) -> Platform:
        options = {
            "landing_dir": str(root / "landing"),
            "lake_uri": str(root / "lake"),
            "warehouse_url": f"sqlite:///{root / 'warehouse.sqlite'}",
            "report_dir": str(root / "reports"),
        } | settings
        (root / "landing").mkdir(parents=True, exist_ok=True)
        return cls(Settings(**options), dg.DagsterInstance.ephemeral())

    @property
    def landing(self) -> LandingFolder:
        return LandingFolder(path=self.settings.landing_dir)

    @property
    def lake(self) -> LakeLocation:
        return lake_location(self.settings)

    @property
    def defs(self) -> dg.Definitions:
        return build_definitions(self.settings)

    def run(self, *paths: Path) -> runner.RunReport:
        files = list(paths) or self.landing.files()
        return runner.run_files(self.defs, self.instance, self.landing, self.lake, files, "WARNING")

    def table(self, name: str) -> pl.DataFrame:
        spec = next(spec for spec in LAKE_TABLES if spec.name == name)
        return scan_table(self.lake, spec).collect()

    def snapshot(self) -> dict[str, pl.DataFrame]:
        """Every lake table, sorted by its key, for comparisons."""
        return {spec.name: self.table(spec.name).sort(spec.primary_key) for spec in LAKE_TABLES}
