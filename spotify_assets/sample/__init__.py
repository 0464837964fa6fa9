"""Realistic synthetic Spotify listening histories, in every format the platform ingests.

listener.py   the listener model: the bundled catalog, sessions, taste, reasons -> generate_plays
extended.py   the Extended Streaming History export: generate_extended, its JSON file and ZIP
basic.py      the basic account-data export: generate_basic, StreamingHistory_<kind>_<n>.json, the ZIP
formats.py    the Maven CSV writer; SAMPLE_FORMATS / write_sample, every format by name
"""

from ..transforms.parse import MAVEN_COLUMNS
from .basic import (
    ACCOUNT_DATA_FOLDER,
    BASIC_DAYS,
    BASIC_FILE_RECORDS,
    BASIC_KINDS,
    generate_basic,
    write_account_data_zip,
    write_basic_json,
)
from .extended import (
    AUDIOBOOK_SHARE,
    EPISODE_SHARE,
    EXTENDED_COLUMNS,
    MEMBER_TIME,
    ZIP_FOLDER,
    generate_extended,
    write_extended_json,
    write_extended_zip,
)
from .formats import SAMPLE_FORMATS, write_maven_csv, write_sample
from .listener import (
    AFTER_ERROR_SHARE,
    CATALOG_DIR,
    DEFAULT_END,
    DEFAULT_START,
    DUPLICATE_SHARE,
    MEAN_SESSION_PLAYS,
    QUARTER_DAYS,
    SKIP_REASONS,
    generate_plays,
    load_catalog,
)

__all__ = [
    "ACCOUNT_DATA_FOLDER",
    "AFTER_ERROR_SHARE",
    "AUDIOBOOK_SHARE",
    "BASIC_DAYS",
    "BASIC_FILE_RECORDS",
    "BASIC_KINDS",
    "CATALOG_DIR",
    "DEFAULT_END",
    "DEFAULT_START",
    "DUPLICATE_SHARE",
    "EPISODE_SHARE",
    "EXTENDED_COLUMNS",
    "MAVEN_COLUMNS",
    "MEAN_SESSION_PLAYS",
    "MEMBER_TIME",
    "QUARTER_DAYS",
    "SAMPLE_FORMATS",
    "SKIP_REASONS",
    "ZIP_FOLDER",
    "generate_basic",
    "generate_extended",
    "generate_plays",
    "load_catalog",
    "write_account_data_zip",
    "write_basic_json",
    "write_extended_json",
    "write_extended_zip",
    "write_maven_csv",
    "write_sample",
]
