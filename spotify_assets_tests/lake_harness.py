"""The ingest and model steps without Dagster: the functions the assets call, on a temporary lake.

Fast enough for property tests (hundreds of drops). `test_graph` and `test_incremental_graph`
prove the assets run the same functions.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from spotify_assets.assets.ingest import file_reads_row
from spotify_assets.io_managers.delta import scan_table, write_table
from spotify_assets.io_managers.location import LakeLocation
from spotify_assets.resources.engine import PolarsEngine
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.landing import content_hash, partition_key
from spotify_assets.resources.warehouse import BI_VIEWS, PublishRequest, Warehouse, read_lake_table
from spotify_assets.tables import (
    BOOKKEEPING_TABLES,
    CLEAN_PLAYS,
    FILE_READS,
    LAKE_TABLES,
    MODEL_STATE,
    RAW_PLAYS,
    REJECTED_PLAYS,
    TABLES,
    WAREHOUSE_TABLES,
)
from spotify_assets.transforms.clean import clean_plays
from spotify_assets.transforms.model_update import ModelUpdate
from spotify_assets.transforms.parse import NotAHistoryFile, read_history

MODEL_OUTPUT_TABLES = [
    spec
    for spec in (*LAKE_TABLES, *BOOKKEEPING_TABLES)
    if spec.name
    not in ("raw_plays", "clean_plays", "rejected_plays", "file_reads", "album_art", "model_state")
]


@dataclass
class Lake:
    root: Path
    timezone: str = "UTC"
    overrides: str | None = None
    remote: LakeResource | None = None  # a lake on an object store instead of the folder `root`

    @property
    def uri(self) -> LakeLocation | str:
        return self.remote.location if self.remote else str(self.root)

    @property
    def resource(self) -> LakeResource:
        return self.remote or LakeResource(lake_uri=str(self.root))

    def ingest(self, path: Path) -> str | None:
        """Read, clean and store one file as the ingest assets do; None when the file is refused."""
        key = partition_key(path, content_hash(path))
        try:
            raw = read_history(path)
        except NotAHistoryFile:
            return None
        write_table(self.uri, RAW_PLAYS, raw, key)
        stored = scan_table(self.uri, RAW_PLAYS, [key]).drop("landing_file")
        with tempfile.TemporaryDirectory() as scratch:
            result = clean_plays(stored, Path(scratch))
            write_table(self.uri, CLEAN_PLAYS, result.clean, key)
            write_table(self.uri, REJECTED_PLAYS, result.rejected, key)
            write_table(self.uri, FILE_READS, file_reads_row(key, stored, result), key)
        return key

    def model(self, *, rebuild: bool = False) -> ModelUpdate:
        """One model update, written in the asset's order under the lake lock."""
        lake = self.resource
        engine = PolarsEngine(timezone=self.timezone, overrides_path=self.overrides)
        with lake.write_lock():
            if rebuild:
                lake.write(MODEL_STATE, MODEL_STATE.empty())
            update = engine.model_update(lake)
            if update.writes:
                for spec, frame, _ in update.steps():
                    if frame is not None:
                        lake.write(spec, frame)
        return update

    def table(self, name: str) -> pl.DataFrame:
        spec = TABLES[name]
        return scan_table(self.uri, spec).collect().sort(spec.primary_key)

    def publish(self, database: Path) -> None:
        """One publish of every warehouse table and view into the SQLite file `database`, as the
        `warehouse_publish` asset does (incremental when the file already holds a publish)."""
        warehouse = Warehouse(url=f"sqlite:///{database}")
        try:
            tables = tuple(read_lake_table(self.uri, spec) for spec in WAREHOUSE_TABLES)
            warehouse.publish(PublishRequest(tables=tables, views=BI_VIEWS))
        finally:
            warehouse.close()

    def model_tables(self) -> dict[str, pl.DataFrame]:
        """Every table the model writes, sorted by key, for comparisons."""
        return {spec.name: self.table(spec.name) for spec in MODEL_OUTPUT_TABLES}


def differences(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> list[str]:
    """Tables that differ, with a hint of how."""
    found = []
    for name, frame in left.items():
        other = right[name].select(frame.columns)
        if not frame.equals(other):
            extra = frame.join(other, on=frame.columns, how="anti", nulls_equal=True)
            missing = other.join(frame, on=frame.columns, how="anti", nulls_equal=True)
            found.append(
                f"{name}: {frame.height} vs {other.height} rows; only left {extra.head(3).to_dicts()}; "
                f"only right {missing.head(3).to_dicts()}"
            )
    return found


def warehouse_tables(database: Path) -> dict[str, pl.DataFrame]:
    """Every warehouse table and view in the SQLite file, rows sorted, for comparisons."""
    with sqlite3.connect(database) as connection:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        ]
        frames = {}
        for name in names:
            if name in (*(spec.name for spec in WAREHOUSE_TABLES), *BI_VIEWS):
                cursor = connection.execute(f'SELECT * FROM "{name}"')
                columns = [column[0] for column in cursor.description]
                frame = pl.DataFrame(
                    cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
                )
                frames[name] = frame.sort(columns, nulls_last=True)
    return frames
