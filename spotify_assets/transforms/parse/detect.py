"""Telling the formats apart by content: a file's first bytes say ZIP, JSON or CSV, never its name."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from .common import HEAD_BYTES, UTF8_BOM, ZIP_MAGIC, NotAHistoryFile
from .encoding import UTF8, text_encoding, to_utf8
from .json_history import read_json_history
from .maven_csv import maven_header, read_maven_csv

EXPECTED = "expected a Spotify history CSV, JSON or ZIP"


def head_of(path: Path, size: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def read_member(path: Path, name: str, head: bytes, date_order: str | None) -> pl.LazyFrame:
    """The plays of one file that is not a ZIP (a loose file, or a member unpacked from a ZIP)."""
    if is_zip(head):
        raise NotAHistoryFile(f"{name}: a ZIP inside the ZIP, not read; unpack it and ingest it on its own")
    text_head = head.removeprefix(UTF8_BOM).lstrip()
    if not text_head:
        raise NotAHistoryFile(f"{name}: the file is empty (or only white space); {EXPECTED}")
    if text_head[:1] in (b"[", b"{"):
        return read_json_history(path, name, text_head)
    encoding = text_encoding(path)
    if encoding is None:
        raise NotAHistoryFile(f"{name}: not a text file; {EXPECTED}")
    if encoding == UTF8:
        return read_maven_csv(path, name, head, date_order)
    with tempfile.TemporaryDirectory(prefix="spotify_assets_utf8_") as folder:
        copy = to_utf8(path, Path(folder) / "utf8.csv", encoding, name)
        return read_maven_csv(copy, name, head_of(copy), date_order).collect().lazy()


def looks_like_history(head: bytes, name: str) -> bool:
    """Whether a file's head has the structure of a history (cheap: for files too big to read here)."""
    text_head = head.removeprefix(UTF8_BOM).lstrip()
    if text_head[:1] == b"[":
        records = text_head[1:].lstrip()
        basic = b'"endTime"' in records and b'"msPlayed"' in records
        return records[:1] == b"]" or b'"ts"' in records or basic
    if is_zip(head) or text_head[:1] == b"{" or not text_head:
        return False
    try:
        maven_header(head, name)
    except NotAHistoryFile:
        return False
    return True
