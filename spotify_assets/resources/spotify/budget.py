"""The daily call budget, and the ledger file that carries it across runs and processes."""

from __future__ import annotations

import fcntl
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


class CallBudget:
    """At most `limit` calls per UTC day; with a ledger file the count spans runs within that day.

    Without a ledger the budget is per lookup. `record()` adds this lookup's calls to the ledger under
    an exclusive `fcntl` lock, so lookups in several processes can share one file.
    """

    def __init__(self, limit: int | None, ledger_path: str | None):
        self.limit = limit
        self._ledger = Path(ledger_path) if ledger_path else None
        self._day = datetime.now(UTC).date()
        self._used_before = self._read_ledger().get(self._day.isoformat(), 0)
        self._used_now = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Count one call; False (and nothing counted) when the day's budget is spent."""
        with self._lock:
            if self.limit is not None and self._used_before + self._used_now >= self.limit:
                return False
            self._used_now += 1
            return True

    def resets_at(self) -> datetime:
        """When the budget is whole again: the next 00:00 UTC."""
        return datetime.combine(self._day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)

    def record(self) -> None:
        """Add this lookup's calls to the ledger (under an exclusive lock, so runs can share it)."""
        if self._ledger is None or not self._used_now:
            return
        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(self._ledger, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            ledger = json.loads(text) if text.strip() else {}
            day = self._day.isoformat()
            ledger = {day: ledger.get(day, 0) + self._used_now}  # older days are of no use
            handle.seek(0)
            handle.truncate()
            json.dump(ledger, handle)

    def _read_ledger(self) -> dict[str, int]:
        if self._ledger is None or not self._ledger.exists():
            return {}
        text = self._ledger.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else {}
