"""What `spotify-assets run` takes in, sorted before any Dagster run starts.

The files named on the command line (a folder is walked: the unzipped export folder
`Spotify Extended Streaming History/` or `Spotify Account Data/` works), or every file in the
landing folder, become:

- **known**: bytes already ingested (under this name or another): nothing to do;
- **new histories**: copied into the landing folder when they lie elsewhere, then ingested;
- **skipped**: a file found inside a named folder that the parser refuses as a history (Spotify's
  ReadMe PDF, Userdata.json, Playlist1.json, ...): left where it is and listed in one note;
- **quarantined**: a refused file named on the command line or lying in the landing folder: moved
  to `<landing>/quarantine/` with `<name>.reason.txt`, exactly as the landing sensor does, so the
  next plain `run` is clean (a named file outside the landing folder is copied there, the original
  stays where it was).

Whether a file is a history is decided by the sensor's sniff (`sensors.why_not_a_history`, built
on the parser), only for files whose bytes are not ingested yet. Content hashes are cached by
(size, mtime, ctime, inode) in `$DAGSTER_HOME/landing_hashes.json`, so a run with nothing new does
not read a 1.4 GB history again just to learn that it knows it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .atomic_write import write_atomically
from .resources.landing import (
    HASH_LENGTH,
    QUARANTINE_DIR,
    LandingFile,
    LandingFolder,
    content_hash,
    hash_of_key,
    is_candidate,
    partition_key,
    quarantine,
)
from .runner import Registration, into_landing

HASH_CACHE_FILE = "landing_hashes.json"
QUARANTINED_BY = "spotify-assets run"


@dataclass(frozen=True)
class Candidate:
    path: Path
    walked: bool  # found inside a folder named on the command line (refused: skipped, not quarantined)


@dataclass
class Intake:
    files: list[LandingFile] = field(default_factory=list)  # new histories, in the landing folder
    known: list[Registration] = field(default_factory=list)  # bytes already ingested
    skipped: list[dict] = field(default_factory=list)  # {file, reason}
    quarantined: list[dict] = field(default_factory=list)  # {file, moved_to, reason}


def candidates(paths: list[Path], landing: LandingFolder) -> list[Candidate]:
    """The files `paths` name (folders walked, in name order), or every landing file; each once."""
    if not paths:
        return [Candidate(path, walked=False) for path in landing.files()]
    landing_root = landing.root.resolve()
    found: dict[Path, Candidate] = {}
    for path in paths:
        if path.is_dir():
            for file in walk(path):
                found.setdefault(
                    file.resolve(), Candidate(file, walked=file.resolve().parent != landing_root)
                )
        else:
            found.setdefault(path.resolve(), Candidate(path, walked=False))
    return list(found.values())


def walk(folder: Path) -> list[Path]:
    """Every file under `folder` that could be a history: hidden files and folders, partial
    downloads and quarantine folders left out; sorted by path."""
    files = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name != QUARANTINE_DIR)
        files += [Path(root) / name for name in sorted(names) if is_candidate(Path(name))]
    return files


class HashCache:
    """Content hashes by (size, mtime, ctime, inode): a write or a `touch` changes ctime, so a
    changed file is always hashed again."""

    def __init__(self, path: Path | None):
        self.path = path
        self._changed = False
        try:
            self._entries = json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            self._entries = {}

    def digest(self, path: Path) -> str:
        entry = self._entries.get(str(path.resolve()))
        if entry and entry[:4] == _identity(path):
            return entry[4]
        digest = content_hash(path)
        self.remember(path, digest)
        return digest

    def remember(self, path: Path, digest: str) -> None:
        """Record `digest` as the hash of `path` (e.g. a copy of a file just hashed)."""
        self._entries[str(path.resolve())] = [*_identity(path), digest]
        self._changed = True

    def save(self) -> None:
        """Write the cache (atomically) if it changed, forgetting files that are gone."""
        if not self.path or not self._changed:
            return
        entries = {key: value for key, value in self._entries.items() if Path(key).exists()}
        write_atomically(self.path, json.dumps(entries).encode("utf-8"))


def _identity(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def take_in(
    found: list[Candidate], landing: LandingFolder, ingested: set[str], hashes: HashCache, *, now: datetime
) -> Intake:
    """Sort `found` (see the module docstring); `ingested`: the partition keys already ingested."""
    from .sensors import why_not_a_history

    intake = Intake()
    ingested_by_hash = {hash_of_key(key): key for key in ingested}
    new_hashes: set[str] = set()
    for candidate in found:
        path = candidate.path
        digest = hashes.digest(path)
        short = digest[:HASH_LENGTH]
        if short in ingested_by_hash:
            key = ingested_by_hash[short]
            same = key == partition_key(path, digest)
            intake.known.append(
                Registration(path, key, "known" if same else "same_bytes", None if same else key)
            )
            continue
        if short in new_hashes:  # the same bytes twice in this run: registered once (plan_registrations)
            intake.files.append(LandingFile(path=path, digest=digest))
            continue
        reason = why_not_a_history(path, date_order=landing.csv_date_order)
        if reason and candidate.walked:
            intake.skipped.append({"file": str(path), "reason": reason})
        elif reason:
            moved = quarantine(into_landing(landing, path, digest), reason, now=now, by=QUARANTINED_BY)
            intake.quarantined.append({"file": str(path), "moved_to": str(moved), "reason": reason})
        else:
            landed = into_landing(landing, path, digest)
            if landed != path:
                hashes.remember(landed, digest)  # the same bytes: the next run need not read them
            intake.files.append(LandingFile(path=landed, digest=digest))
            new_hashes.add(short)
    return intake
