"""ZIP files as Spotify mails them (`my_spotify_data.zip`), read member by member, by content.

Every member is sniffed like a loose file (`detect.read_member`): play histories of any format are
read; members that are not histories (`Userdata.json`, `Playlist1.json`, the ReadMe PDF, images,
a ZIP inside the ZIP ...) are skipped and listed in the result. A ZIP without any history member is
refused naming what it holds, and so is a ZIP with a member that starts like a history but cannot be
read (a JSON cut short): skipping it would lose its plays without a word.

Memory stays bounded whatever the archive declares: before anything is unpacked, every member's
declared size is checked against MAX_MEMBER_BYTES and their sum against MAX_ARCHIVE_BYTES; a
member is then inflated in chunks into a temporary file with the same cap counted on the bytes
actually produced (a member that lies about its size is stopped there, or fails its CRC check),
and only that file is parsed. A member that cannot be unpacked fails the whole ZIP: it might be
history.
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from pathlib import Path

import polars as pl

from .common import (
    MAX_ARCHIVE_BYTES,
    MAX_MEMBER_BYTES,
    DateOrderUnknown,
    HistoryRead,
    NotAHistoryFile,
    short_reason,
    size_text,
)
from .detect import head_of, looks_like_history, read_member

CHUNK_BYTES = 1 << 20
LISTED_MEMBERS = 6
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)
EXPECTED_HISTORY = (
    "expected Spotify's export (StreamingHistory*.json, Streaming_History_Audio_*.json, endsong*.json) "
    "or a Maven CSV"
)


def open_archive(path: Path, name: str) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The open archive and its file members, after the size checks (nothing unpacked yet)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise NotAHistoryFile(f"{name}: damaged ZIP ({error}); expected Spotify's history export") from error
    members = sorted(
        (info for info in archive.infolist() if not info.is_dir()), key=lambda info: info.filename
    )
    for info in members:
        if info.file_size > MAX_MEMBER_BYTES:
            archive.close()
            raise NotAHistoryFile(
                f"{name}/{info.filename}: declares {size_text(info.file_size)} uncompressed, more than the "
                f"{size_text(MAX_MEMBER_BYTES)} a history member may have (Spotify's are at most ~15 MB); "
                "the ZIP is not read"
            )
    total = sum(info.file_size for info in members)
    if total > MAX_ARCHIVE_BYTES:
        archive.close()
        raise NotAHistoryFile(
            f"{name}: its members declare {size_text(total)} uncompressed, more than the "
            f"{size_text(MAX_ARCHIVE_BYTES)} one ZIP may hold; not read"
        )
    return archive, members


def read_zip(path: Path, name: str, date_order: str | None) -> HistoryRead:
    """Every history member's plays (`source_file` = `archive/member`), and the members skipped."""
    archive, members = open_archive(path, name)
    frames: list[pl.DataFrame] = []
    read: list[str] = []
    skipped: list[tuple[str, str]] = []
    with archive, tempfile.TemporaryDirectory(prefix="spotify_assets_zip_") as folder:
        for number, info in enumerate(members):
            member_name = f"{name}/{info.filename}"
            unpacked = unpack(archive, info, Path(folder) / f"member-{number}", member_name)
            head = head_of(unpacked)
            try:
                frames.append(read_member(unpacked, member_name, head, date_order).collect())
                read.append(info.filename)
            except DateOrderUnknown:
                raise
            except NotAHistoryFile as error:
                if looks_like_history(head, member_name):  # a damaged history: its plays would be lost
                    raise NotAHistoryFile(
                        f"{error}; the ZIP is not read (its other members neither): download the export "
                        "again, or unpack it and ingest its files, leaving out or fixing that one"
                    ) from error
                skipped.append((info.filename, short_reason(error, member_name)))
            finally:
                unpacked.unlink()
    if not frames:
        raise NotAHistoryFile(f"{name}: ZIP holds no history: {_listing(skipped)}; {EXPECTED_HISTORY}")
    return HistoryRead(pl.concat(frames).lazy(), tuple(read), tuple(skipped))


def unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, member_name: str) -> Path:
    """The member inflated into `target`, in chunks, stopped past MAX_MEMBER_BYTES."""
    written = 0
    try:
        with archive.open(info) as source, target.open("wb") as sink:
            while chunk := source.read(CHUNK_BYTES):
                written += len(chunk)
                if written > MAX_MEMBER_BYTES:
                    raise NotAHistoryFile(
                        f"{member_name}: inflates past {size_text(MAX_MEMBER_BYTES)} (it declares "
                        f"{size_text(info.file_size)}); a damaged or hostile ZIP, not read"
                    )
                sink.write(chunk)
    except NotAHistoryFile:
        target.unlink(missing_ok=True)
        raise
    except UNPACK_ERRORS as error:
        target.unlink(missing_ok=True)
        raise NotAHistoryFile(
            f"{member_name}: cannot be unpacked ({error.__class__.__name__}: {str(error)[:200]}); "
            "the ZIP is damaged, not read"
        ) from error
    return target


def member_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, member_name: str, size: int) -> bytes:
    """The first `size` bytes of a member (only those are inflated)."""
    try:
        with archive.open(info) as source:
            return source.read(size)
    except UNPACK_ERRORS as error:
        raise NotAHistoryFile(
            f"{member_name}: cannot be unpacked ({error.__class__.__name__}: {str(error)[:200]}); "
            "the ZIP is damaged"
        ) from error


def _listing(skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return "it is empty"
    listed = ", ".join(f"{member} ({why})" for member, why in skipped[:LISTED_MEMBERS])
    more = len(skipped) - LISTED_MEMBERS
    return listed + (f" and {more} more" if more > 0 else "")
