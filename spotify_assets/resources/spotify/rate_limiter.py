"""Request spacing shared by every worker thread of one lookup."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces requests `1 / per_second` apart across all threads; a pause holds every thread.

    A pause (a short `Retry-After`) moves the next free slot for everyone, so eight workers do not
    each spend a call on the same 429. Waiting wakes early when the lookup is stopped.
    """

    def __init__(self, per_second: float | None, stop: threading.Event):
        self._interval = 1.0 / per_second if per_second else 0.0
        self._stop = stop
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def pause_for(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(self) -> bool:
        """Block until this thread may send; False if the lookup was stopped meanwhile."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._interval
        delay = slot - now
        return not self._stop.wait(delay) if delay > 0 else not self._stop.is_set()
