"""Advisory file locks for a local lake, shared by every process that writes it (the CLI's in-process
runs, the daemon's runs, tests): `<lake>/_locks/<name>.lock`, held with `flock`.

The kernel releases a lock when its holder's process ends, however it ends, so a killed run never
leaves one behind. Object-store lakes have no lock files (callers skip them there).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FOLDER = "_locks"


@contextmanager
def file_lock(lake_root: str, name: str, *, exclusive: bool = True) -> Iterator[None]:
    """Hold the lock `name` of the local lake at `lake_root` for the block, waiting for it."""
    folder = Path(lake_root) / LOCK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
