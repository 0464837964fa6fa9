"""What more than one layer's tables share: the column helper, the landing-file and source-line
columns, and what both per-file tables (`file_reads`, `file_accounting`) say of a landing file.

Declarations only; `spotify_assets.tables` is the index the rest of the code imports from.
"""

from __future__ import annotations

from ..table_spec import PARTITION_COLUMN, Column


def col(name: str, type_: str, description: str, **options) -> Column:
    return Column(name, type_, description, **options)


LANDING_FILE = col(
    PARTITION_COLUMN,
    "string",
    "Partition key: landing file stem plus a short content hash.",
    nullable=False,
    max_length=200,
)
SOURCE_FILE = col(
    "source_file",
    "string",
    "File the row came from (for a ZIP: archive/member).",
    nullable=False,
    max_length=400,
)
SOURCE_LINE = col(
    "source_line",
    "int64",
    "CSV: physical line where the record starts (header is line 1). JSON: record number, from 1.",
    nullable=False,
)

SOURCE_FORMATS = ("extended_json", "maven_csv", "basic_json")  # also the order in which copies win
FILE_FORMATS = (*SOURCE_FORMATS, "mixed", "empty")

# What both per-file tables say of a landing file: its name, bytes, format and the file-local counts.
FILE_COLUMNS = (
    LANDING_FILE,
    col("file_name", "string", "Name of the landing file.", nullable=False),
    col(
        "content_hash",
        "string",
        "The first 12 hex digits of the xxh3-64 of the file's bytes.",
        nullable=False,
    ),
    col("source_format", "string", f"One of {', '.join(FILE_FORMATS)}.", nullable=False, max_length=16),
    col("rows_read", "int64", "Records read (blank lines excluded).", nullable=False),
)
FILTERED = col("filtered", "int64", "Valid rows under 500 ms.", nullable=False)
REJECTED = col("rejected", "int64", "Rows sent to rejected_plays.", nullable=False)
DUPLICATE_IN_FILE = col(
    "duplicate_in_file", "int64", "Repeats of a play earlier in the same file.", nullable=False
)

KEY = {"nullable": False}  # the options of a key column
