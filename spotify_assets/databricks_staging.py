"""The tables `DatabricksEngine` and `databricks_job.py` exchange the model's per-play work through.

A model update runs in Polars on the Dagster side (`model_update.plan_update`); the per-play work
of one landing file (`PlayTransforms.file_members` and `fact_rows`) is a Databricks job run. The
plays themselves never leave the lake: the engine stages which of the file's `clean_plays` do not
count (`excluded_plays`: the play keys the cross-file verdicts made duplicates, usually few) and,
for fact rows, the catalogue's `track_keys`; the job reads the file's plays from the lake, drops
the excluded ones and writes `file_members` or `file_facts`, which the engine reads back.

Every landing file has its own staging folder under the lake (`staging_folder`), each table a
Delta table replaced by every write. Nothing here imports Spark: both sides use it.
"""

from __future__ import annotations

import dataclasses

import xxhash

from .tables import FACT_STREAMS, MODEL_MEMBERS, PARTITION_COLUMN, Column, TableSpec
from .transforms.model import TRACK_COLUMNS

STAGING_FOLDER = "_databricks_staging"

EXCLUDED_PLAYS = TableSpec(
    name="excluded_plays",
    description="Play keys of one file's clean_plays that do not count (duplicates of copies elsewhere).",
    columns=(Column("play_key", "int64", "A clean_plays play_key of the file.", nullable=False),),
    primary_key=("play_key",),
)
TRACK_KEYS = TableSpec(
    name="track_keys",
    description="The catalogue's keys of every track member (`model.Catalogue.track_keys`).",
    columns=(
        *(MODEL_MEMBERS.column(name) for name in TRACK_COLUMNS),
        Column("track_key", "int64", "The dim_track row the member's plays count for."),
        Column("artist_key", "int64", "Their artist."),
        Column("album_key", "int64", "Their album."),
        Column("fact_content_type", "string", "Their content type in fact_streams."),
    ),
    primary_key=tuple(TRACK_COLUMNS),
)
FILE_MEMBERS = TableSpec(
    name="file_members",
    description="`model.file_members` of one file's counted plays (model_members rows without landing_file).",
    columns=tuple(column for column in MODEL_MEMBERS.columns if column.name != PARTITION_COLUMN),
    primary_key=("member_key",),
)
FILE_FACTS = dataclasses.replace(
    FACT_STREAMS,
    name="file_facts",
    description="`model.fact_rows` of one file's counted plays.",
    partitioned=False,
    foreign_keys={},
)


def staging_folder(lake_uri: str, landing_file: str) -> str:
    """Where one landing file's staging tables live (named by a digest: keys are free text)."""
    return f"{lake_uri.rstrip('/')}/{STAGING_FOLDER}/{xxhash.xxh3_64_hexdigest(landing_file.encode())}"
