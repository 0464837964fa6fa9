"""Direct read access to the lake, for assets that consult a table they do not take as an input."""

from __future__ import annotations

import dagster as dg
import polars as pl

from ..io_managers.delta import scan_table
from ..tables import TableSpec


class LakeResource(dg.ConfigurableResource):
    """The Delta lake under `SPOTIFY_LAKE_URI`, read-only."""

    lake_uri: str

    def scan(self, spec: TableSpec, partitions: list[str] | None = None) -> pl.LazyFrame:
        return scan_table(self.lake_uri, spec, partitions)
