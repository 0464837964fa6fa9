"""Text encodings of CSV files: UTF-8 streams as it is; UTF-16 and Windows-1252 are converted first.

Spreadsheets on Windows save "CSV" in the system code page (Windows-1252 in western locales, so
`é` is the one byte E9 and a character it lacks becomes `?`) and "Unicode text" as UTF-16 with
tabs. Polars reads UTF-8 only, so such a file is converted to UTF-8 (in chunks) and read from the
copy; names then read as the spreadsheet meant them instead of as U+FFFD.

The encoding is decided from the first SAMPLE_BYTES: a UTF-16 byte-order mark; else a NUL byte or a
known binary signature means not text; else bytes that are not UTF-8 mean Windows-1252. A
converted file is read into memory, so it may be at most MAX_MEMBER_BYTES (a larger one is refused,
asking for a UTF-8 copy). In a UTF-8 file, invalid bytes after the sample read as U+FFFD.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from .common import MAX_MEMBER_BYTES, NotAHistoryFile, size_text

UTF8, UTF16, CP1252 = "utf-8", "utf-16", "cp1252"
NAMES = {UTF16: "UTF-16", CP1252: "Windows-1252"}
SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
BINARY_SIGNATURES = (b"%PDF-", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04")


def text_encoding(path: Path) -> str | None:
    """UTF8, UTF16 or CP1252 for a text file, None for a binary one (from its first bytes)."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16
    if b"\x00" in sample or sample.startswith(BINARY_SIGNATURES):
        return None
    try:
        sample.decode(UTF8)
    except UnicodeDecodeError as error:
        cut_at_the_end = error.reason == "unexpected end of data" and len(sample) == SAMPLE_BYTES
        return UTF8 if cut_at_the_end else CP1252
    return UTF8


def check_convertible(size: int, encoding: str, name: str) -> None:
    if size > MAX_MEMBER_BYTES:
        raise NotAHistoryFile(
            f"{name}: {size_text(size)} of {NAMES[encoding]} text, more than the "
            f"{size_text(MAX_MEMBER_BYTES)} that are converted to UTF-8 here; save it from the spreadsheet "
            "as CSV UTF-8 and drop that copy"
        )


def to_utf8(path: Path, target: Path, encoding: str, name: str) -> Path:
    """`path` (in `encoding`) written to `target` as UTF-8, without a byte-order mark."""
    check_convertible(path.stat().st_size, encoding, name)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            sink.write(decoder.decode(chunk).encode(UTF8))
        sink.write(decoder.decode(b"", final=True).encode(UTF8))
    return target
