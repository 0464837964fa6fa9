"""The landing folder: where history files are dropped, and how a file becomes a partition.

A file's partition key is its sanitized stem plus a short content hash, so the key names the file
for a person and the bytes for the platform: the same bytes under another name get the same hash
and are recognized as already ingested.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import xxhash

HASH_LENGTH = 12
QUARANTINE_DIR = "quarantine"
PARTIAL_SUFFIXES = (".part", ".crdownload", ".tmp", ".reason.txt")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_hash(path: Path) -> str:
    """xxh3-64 of the file's bytes, as 16 hex digits."""
    digest = xxhash.xxh3_64()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def key_stem(path: Path) -> str:
    """The file-name part of a partition key: the stem with unsafe characters replaced."""
    return _UNSAFE.sub("_", path.stem).strip("_.-")[:80] or "history"


def partition_key(path: Path, digest: str) -> str:
    return f"{key_stem(path)}-{digest[:HASH_LENGTH]}"


def hash_of_key(key: str) -> str:
    return key.rsplit("-", 1)[-1]


def is_candidate(path: Path) -> bool:
    """Whether a file could be a history: not hidden, not a partial download, not a reason note."""
    return not path.name.startswith(".") and not path.name.endswith(PARTIAL_SUFFIXES)


def quarantine(path: Path, reason: str, *, now: datetime, by: str) -> Path:
    """Move `path` into the quarantine folder beside it, with `<name>.reason.txt`; returns the new path.

    The landing sensor and `spotify-assets run` both quarantine here (`by` names which), so a refused
    file leaves the landing folder and the next run is clean.
    """
    folder = path.parent / QUARANTINE_DIR
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}-{now:%Y%m%dT%H%M%S%f}{path.suffix}"
    shutil.move(path, target)
    target.with_name(f"{target.name}.reason.txt").write_text(
        f"{reason}\n\nMoved here from {path} by {by} at {now:%Y-%m-%d %H:%M:%S} UTC.\n"
        "Fix or replace the file and drop it into the landing folder again.\n",
        encoding="utf-8",
    )
    return target


@dataclass(frozen=True)
class LandingFile:
    path: Path
    digest: str

    @property
    def key(self) -> str:
        return partition_key(self.path, self.digest)


class LandingFolder(dg.ConfigurableResource):
    """The folder `SPOTIFY_LANDING_DIR` where history files are dropped."""

    path: str
    csv_date_order: str | None = None  # SPOTIFY_CSV_DATE_ORDER: dmy or mdy, for CSVs whose dates cannot say

    @property
    def root(self) -> Path:
        return Path(self.path)

    def files(self) -> list[Path]:
        """History candidates in the folder (not hidden, not partial downloads), by name."""
        if not self.root.is_dir():
            return []
        return sorted(path for path in self.root.iterdir() if path.is_file() and is_candidate(path))

    def describe(self, path: Path) -> LandingFile:
        return LandingFile(path=path, digest=content_hash(path))

    def find(self, key: str) -> Path:
        """The landing file whose name and bytes give partition `key`."""
        stem = key[: -(HASH_LENGTH + 1)]
        for path in self.files():
            if key_stem(path) == stem and self.describe(path).key == key:
                return path
        raise FileNotFoundError(
            f"no file in the landing folder {self.root} has the name and content of partition {key!r}: "
            "it was moved, renamed or changed after it was registered"
        )
