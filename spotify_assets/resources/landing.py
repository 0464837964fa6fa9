"""The landing folder: where history files are dropped, and how a file becomes a partition.

A file's partition key is its sanitized stem plus a short content hash, so the key names the file
for a person and the bytes for the platform: the same bytes under another name get the same hash
and are recognized as already ingested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import xxhash

HASH_LENGTH = 12
QUARANTINE_DIR = "quarantine"
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
        return sorted(
            path for path in self.root.iterdir()
            if path.is_file() and not path.name.startswith(".")
            and not path.name.endswith((".part", ".crdownload", ".tmp", ".reason.txt"))
        )

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
