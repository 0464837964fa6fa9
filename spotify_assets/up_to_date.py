"""The lake `spotify-assets run` last left up to date, so a run with nothing new needs no Dagster.

Deciding that nothing is stale takes the Definitions and the Dagster instance (asset records), about
a second of imports. After an invocation whose runs all succeeded and left nothing stale, the CLI
writes `$DAGSTER_HOME/up_to_date.json`: the lake's fingerprint (each Delta table's latest version)
and the settings it ran with. The next `run` with no new file, nothing to quarantine and no album
art to retry compares the fingerprint and, when it is unchanged, starts nothing.

Why that is enough: a table turns stale only when one of its parents is materialized after it, and
every parent of an unpartitioned asset is a lake table, whose every write is a Delta commit, which
changes the fingerprint. A run of the daemon (`make dev`) that writes the lake therefore sends the
next `run` through the full check; one that writes nothing (the incremental model with nothing
new) left nothing to publish, whatever became of its publish steps. A lake elsewhere than on local
disk has no fingerprint: always the full check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic_write import write_atomically

STATE_FILE = "up_to_date.json"
DELTA_LOG = "_delta_log"


def lake_fingerprint(lake_uri: str) -> dict[str, int] | None:
    """{table: latest Delta version} of every table in a local lake; None for an object store."""
    if "://" in lake_uri:
        return None
    root = Path(lake_uri)
    if not root.is_dir():
        return {}
    fingerprint = {}
    for table in sorted(os.scandir(root), key=lambda entry: entry.name):
        log = Path(table.path) / DELTA_LOG
        if table.is_dir() and log.is_dir():
            versions = [
                int(name[:-5]) for name in os.listdir(log) if name.endswith(".json") and name[:-5].isdigit()
            ]
            fingerprint[table.name] = max(versions, default=-1)
    return fingerprint


class UpToDate:
    """The marker file in `home` for one profile (`settings`: what must match, e.g. lake and warehouse).
    It also keeps what the summary reads from the lake and that only a lake write changes (the
    Spotify lookups still pending), so an idle run need not compute it again."""

    def __init__(self, home: Path, settings: dict[str, str]):
        self.path = home / STATE_FILE
        self.settings = settings

    def holds(self, lake_uri: str) -> dict | None:
        """What was recorded with the lake when it is exactly as the last up-to-date invocation left
        it, else None."""
        fingerprint = lake_fingerprint(lake_uri)
        state = self._state() if fingerprint is not None else None
        if state is None or state.get("settings") != self.settings or state.get("lake") != fingerprint:
            return None
        return state.get("recorded", {})

    def changed_settings(self) -> set[str] | None:
        """The settings that differ from the last up-to-date invocation's; None when there was none
        (a first run, or the last one failed)."""
        state = self._state()
        if state is None:
            return None
        before = state.get("settings", {})
        return {name for name in {*before, *self.settings} if before.get(name) != self.settings.get(name)}

    def _state(self) -> dict | None:
        """The last up-to-date invocation's record; None when there is none (or it is unreadable)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record(self, lake_uri: str, *, up_to_date: bool, recorded: dict) -> None:
        """Remember the lake as up to date now with `recorded`, or forget it (after a failure)."""
        fingerprint = lake_fingerprint(lake_uri)
        if not up_to_date or fingerprint is None:
            self.path.unlink(missing_ok=True)
            return
        state = {"settings": self.settings, "lake": fingerprint, "recorded": recorded}
        write_atomically(self.path, json.dumps(state).encode("utf-8"))
