"""Every table of the platform, in one index: import any table, collection or value list from here.

The declarations live in `table_defs/`, one module per layer (`ingest.py`, `model.py`,
`enrich.py`, and `columns.py` for the columns several layers share); the `TableSpec` machinery is
in `table_spec.py`. This module gathers them into the ordered collections below and checks every
foreign key across layers. Each `TableSpec` names a table's columns, logical types, primary key,
foreign keys and indexes: the Delta schema, the warehouse DDL, the asset checks and the UI's column
schema all come from it. Table names are asset names: the same in the lake, the warehouse and the UI.
"""

from __future__ import annotations

from .table_defs.columns import FILE_FORMATS, LANDING_FILE, SOURCE_FILE, SOURCE_FORMATS, SOURCE_LINE
from .table_defs.enrich import ALBUM_ART, ALBUM_ART_STATUSES, RELEASE_DATE_PRECISIONS, TRACK_METADATA
from .table_defs.ingest import (
    CLEAN_PLAYS,
    CONTENT_TYPES,
    DATE_ORDERS,
    FILE_READS,
    RAW_PLAYS,
    RAW_TEXT_FIELDS,
    REJECT_REASONS,
    REJECTED_PLAYS,
)
from .table_defs.model import (
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    DIM_RECORDING,
    DIM_TRACK,
    DUPLICATE_PLAYS,
    DUPLICATE_RULES,
    FACT_STREAMS,
    FILE_ACCOUNTING,
    MEMBER_KINDS,
    MODEL_MEMBERS,
    MODEL_STATE,
    RESOLUTION_STATUSES,
    TRACK_RESOLUTION,
)
from .table_spec import PARTITION_COLUMN, POLARS_TYPES, Column, TableSpec, check_foreign_keys

# the index: every table, the values its columns may hold, the shared columns, the collections, and
# the machinery the code that handles any table needs
__all__ = [
    "ALBUM_ART",
    "ALBUM_ART_STATUSES",
    "BOOKKEEPING_TABLES",
    "CLEAN_PLAYS",
    "CONTENT_TYPES",
    "DATE_ORDERS",
    "DIM_ALBUM",
    "DIM_ARTIST",
    "DIM_DATE",
    "DIM_PLATFORM",
    "DIM_REASON",
    "DIM_RECORDING",
    "DIM_TRACK",
    "DUPLICATE_PLAYS",
    "DUPLICATE_RULES",
    "FACT_STREAMS",
    "FILE_ACCOUNTING",
    "FILE_FORMATS",
    "FILE_READS",
    "LAKE_TABLES",
    "LANDING_FILE",
    "MEMBER_KINDS",
    "MODEL_MEMBERS",
    "MODEL_STATE",
    "PARTITION_COLUMN",
    "POLARS_TYPES",
    "RAW_PLAYS",
    "RAW_TEXT_FIELDS",
    "REJECTED_PLAYS",
    "REJECT_REASONS",
    "RELEASE_DATE_PRECISIONS",
    "RESOLUTION_STATUSES",
    "SOURCE_FILE",
    "SOURCE_FORMATS",
    "SOURCE_LINE",
    "STAR_SCHEMA",
    "TABLES",
    "TRACK_METADATA",
    "TRACK_RESOLUTION",
    "WAREHOUSE_TABLES",
    "Column",
    "TableSpec",
]

LAKE_TABLES = (
    RAW_PLAYS,
    CLEAN_PLAYS,
    REJECTED_PLAYS,
    FILE_READS,
    FILE_ACCOUNTING,
    DUPLICATE_PLAYS,
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
    TRACK_RESOLUTION,
    ALBUM_ART,
    TRACK_METADATA,
)
BOOKKEEPING_TABLES = (MODEL_MEMBERS, MODEL_STATE)
# Published to the warehouse, dimensions before the fact so foreign keys resolve.
WAREHOUSE_TABLES = (
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
    ALBUM_ART,
    REJECTED_PLAYS,
    FILE_ACCOUNTING,
    TRACK_RESOLUTION,
)
STAR_SCHEMA = (
    DIM_ARTIST,
    DIM_ALBUM,
    DIM_RECORDING,
    DIM_TRACK,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    FACT_STREAMS,
)
TABLES = {spec.name: spec for spec in (*LAKE_TABLES, *BOOKKEEPING_TABLES)}
check_foreign_keys(TABLES)
