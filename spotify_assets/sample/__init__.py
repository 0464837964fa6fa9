"""Realistic synthetic Spotify listening histories, in every format the platform ingests.

listener.py   the listener model and the Extended Streaming History writer (to be split)
basic.py      the basic account-data export: StreamingHistory_<kind>_<n>.json, my_spotify_data.zip
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
from .formats import SAMPLE_FORMATS, write_maven_csv, write_sample
from .listener import (
    AFTER_ERROR_SHARE,
    AUDIOBOOK_SHARE,
    CATALOG_DIR,
    DEFAULT_END,
    DEFAULT_START,
    DUPLICATE_SHARE,
    EPISODE_SHARE,
    EXTENDED_COLUMNS,
    MEAN_SESSION_PLAYS,
    QUARTER_DAYS,
    SKIP_REASONS,
    ZIP_FOLDER,
    generate_extended,
    generate_plays,
    load_catalog,
    write_extended_json,
    write_extended_zip,
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
