"""Writing a small file whole or not at all: the report page, the report cache's entries, the
instance config, the CLI's landing hashes and up-to-date marker."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"  # a killed writer's leftover ends with it


def write_atomically(path: Path, data: bytes) -> Path:
    """Writes `data` to `path` through a temporary file beside it renamed over it: a reader sees
    the old file or the new one, and a killed writer leaves the old one (and a `TEMP_SUFFIX` file).
    The file gets mode 0644, as a plain write under the usual umask would leave it (a temporary
    file is 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=TEMP_SUFFIX, delete=False) as file:
        file.write(data)
    try:
        os.chmod(file.name, 0o644)
        os.replace(file.name, path)
    except BaseException:
        Path(file.name).unlink(missing_ok=True)
        raise
    return path
