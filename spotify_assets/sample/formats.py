"""The Maven Analytics CSV writer, and SAMPLE_FORMATS / ``write_sample``: every sample format by name.

The Maven CSV is the plays of the listener model (``generate_plays``) as Maven Analytics publish
them; SAMPLE_FORMATS names the writer of every format, for ``spotify-assets sample``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .basic import write_account_data_zip, write_basic_json
from .extended import write_extended_json, write_extended_zip
from .listener import generate_plays


def write_maven_csv(path: str | Path, rows: int, seed: int = 0) -> Path:
    """Write ``rows`` plays as the Maven Analytics "Spotify Streaming History" CSV; return the path.

    Header as published, ``ts`` as ``YYYY-MM-DD HH:MM:SS``, booleans ``TRUE``/``FALSE``, bare ids,
    RFC 4180 quoting (names with commas or quotes are quoted, quotes doubled), LF line ends, no BOM.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    upper = {True: "TRUE", False: "FALSE"}
    generate_plays(rows, seed).with_columns(
        pl.col("shuffle", "skipped").replace_strict(upper, return_dtype=pl.String)
    ).write_csv(path, datetime_format="%Y-%m-%d %H:%M:%S")
    return path


SAMPLE_FORMATS = {
    # format: (writer, file name when the target is a folder)
    "csv": (write_maven_csv, "history.csv"),
    "json": (write_extended_json, "history.json"),
    "zip": (write_extended_zip, "history.zip"),
    "basic": (write_basic_json, "StreamingHistory_music_0.json"),
    "account-zip": (write_account_data_zip, "my_spotify_data.zip"),
}


def write_sample(format_: str, out: str | Path, rows: int, seed: int = 0) -> Path:
    """Write a sample history in one of SAMPLE_FORMATS to ``out`` (a folder gets the format's usual
    file name); return the path."""
    writer, file_name = SAMPLE_FORMATS[format_]
    out = Path(out)
    target = out / file_name if out.is_dir() else out
    return writer(target, rows, seed)
