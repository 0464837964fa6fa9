"""Judging a file too big to read whole (for the landing sensor): by its structure and head only.

A ZIP passes the same size checks as when it is read, then each member's head (64 KiB inflated)
must show a history somewhere; a JSON file must be within the size limit and start like an array of
play records; a CSV is read as a sample of its first complete records, so its header, separator and
quoting are judged exactly as the ingest judges them (except day-first/month-first, which a sample
may be unable to decide although the whole file can).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from .archive import EXPECTED_HISTORY, member_head, open_archive
from .common import HEAD_BYTES, MAX_MEMBER_BYTES, UTF8_BOM, DateOrderUnknown, NotAHistoryFile, size_text
from .detect import head_of, is_zip, looks_like_history, read_member
from .encoding import UTF8, check_convertible, text_encoding
from .json_history import EXPECTED as EXPECTED_JSON


def check_large_history(path: Path, name: str, date_order: str | None, sample_bytes: int) -> None:
    """Raises NotAHistoryFile when `path` is surely not a history; costs milliseconds whatever its size."""
    head = head_of(path, sample_bytes)
    if is_zip(head):
        _check_zip(path, name)
        return
    text_head = head.removeprefix(UTF8_BOM).lstrip()
    if text_head[:1] in (b"[", b"{"):
        size = path.stat().st_size
        if size > MAX_MEMBER_BYTES:
            raise NotAHistoryFile(
                f"{name}: {size_text(size)} of JSON, more than the {size_text(MAX_MEMBER_BYTES)} a history "
                "file may have; not read (Spotify's history files are at most ~15 MB each: use those)"
            )
        if text_head[:1] == b"{":
            raise NotAHistoryFile(f"{name}: JSON is not an array of plays; {EXPECTED_JSON}")
        if not looks_like_history(head, name):
            raise NotAHistoryFile(
                f"{name}: JSON does not start like an array of play records; {EXPECTED_JSON}"
            )
        return
    encoding = text_encoding(path)
    if encoding is None:
        raise NotAHistoryFile(f"{name}: not a text file; expected a Spotify history CSV, JSON or ZIP")
    if encoding != UTF8:
        check_convertible(path.stat().st_size, encoding, name)
    with tempfile.TemporaryDirectory(prefix="spotify_assets_sniff_") as folder:
        sample = Path(folder) / "sample.csv"
        sample.write_bytes(complete_records(head))
        with contextlib.suppress(DateOrderUnknown):  # the rest of the file may decide
            read_member(sample, name, head_of(sample), date_order)


def _check_zip(path: Path, name: str) -> None:
    archive, members = open_archive(path, name)
    with archive:
        for info in members:
            head = member_head(archive, info, f"{name}/{info.filename}", HEAD_BYTES)
            if looks_like_history(head, info.filename):
                return
    names = ", ".join(info.filename for info in members[:6]) or "nothing"
    raise NotAHistoryFile(f"{name}: ZIP holds no history (it holds {names}); {EXPECTED_HISTORY}")


def complete_records(head: bytes) -> bytes:
    """`head` cut after its last line break outside quotes, so the sample holds whole CSV records."""
    cut = len(head)
    while (cut := head.rfind(b"\n", 0, cut)) > 0:
        if head.count(b'"', 0, cut) % 2 == 0:
            return head[: cut + 1]
    return head
