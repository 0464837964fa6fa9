"""What a long `spotify-assets run` shows while it works, built from the runs' own Dagster events.

For each run: which file (or stage), which step is running, and, when the step reports them, rows
done, rate and time left. On a terminal it is one line redrawn in place; otherwise (a log, CI) a
plain line when a run starts, every `plain_every` seconds while it runs, and when it ends.

Steps report how far they are with one log line in the form `progress_message` writes, e.g.

    context.log.info(progress_message(done, total))             # "progress: 4,200,000 of 10,000,000 rows"
    context.log.info(progress_message(done, total, "tracks"))   # "progress: 120 of 800 tracks"

It shows in the UI as any log line; the total is optional (for rows, the file's row count, known
once `raw_plays` is stored, stands in for it).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from dagster import AssetKey

if TYPE_CHECKING:
    import dagster as dg

PROGRESS = re.compile(r"^progress: (?P<done>[\d,_]+)(?: of (?P<total>[\d,_]+))? (?P<unit>[a-z]+)\b")
ROWS_READ_ASSET = "raw_plays"  # its row count is the file's, the total of every later step
ROW_COUNT = "dagster/row_count"
TTY_REDRAW_SECONDS = 0.25
PLAIN_EVERY_SECONDS = 10.0
BAR_WIDTH = 20


def progress_message(done: int, total: int | None = None, unit: str = "rows") -> str:
    """The log line a step writes to report how far it is: `done` `unit`s (rows, files, tracks) of
    `total`, when it knows it."""
    return f"progress: {done:,} of {total:,} {unit}" if total is not None else f"progress: {done:,} {unit}"


def parse_progress(message: str) -> tuple[int, int | None, str] | None:
    """(done, total or None, unit) from a `progress_message` line; None for any other message."""
    match = PROGRESS.match(message)
    if match is None:
        return None
    total = match["total"]
    return _number(match["done"]), _number(total) if total else None, match["unit"]


def _bar(run: RunState) -> str:
    """`[#######-------] ` for the step's share done, when it is known."""
    if not (run.samples and run.total):
        return ""
    filled = round(BAR_WIDTH * min(run.samples[-1][1] / run.total, 1.0))
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] "


def _number(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


@dataclass
class RunState:
    """What is known about the run in progress."""

    label: str
    started: float
    step: str | None = None
    step_started: float = 0.0
    rows_read: int | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, done) of this step
    total: int | None = None
    unit: str = "rows"
    failed: bool = False
    planned_steps: set[str] = field(default_factory=set)  # from the run's *_PLANNED events
    steps_started: int = 0


class Progress:
    """Renders the runs' progress to `stream`; `watcher` plugs into `runner.run_files`."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        labels: Callable[[str, str | None], str],
        clock: Callable[[], float] = time.monotonic,
        plain_every: float = PLAIN_EVERY_SECONDS,
        also: Callable[[dg.EventLogEntry], None] | None = None,
    ):
        self.stream = stream
        self.tty = tty
        self.labels = labels
        self.clock = clock
        self.plain_every = plain_every
        self.also = also
        self.run: RunState | None = None
        self._last_plain = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def watcher(
        self, job_name: str, partition: str | None, run_id: str
    ) -> Callable[[dg.EventLogEntry], None]:
        with self._lock:
            self.run = RunState(label=self.labels(job_name, partition), started=self.clock())
            self._emit(f"{self.run.label} ...", final=not self.tty)
            self._last_plain = self.clock()
        return self.on_event

    def start(self) -> Progress:
        """Redraw (terminal) or print a periodic line (otherwise) while a step is silent."""
        self._ticker = threading.Thread(
            target=self._tick_forever, name="spotify-assets-progress", daemon=True
        )
        self._ticker.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()

    def _tick_forever(self) -> None:
        interval = TTY_REDRAW_SECONDS if self.tty else min(1.0, self.plain_every)
        while not self._stop.wait(interval):
            self.tick()

    # -- events ---------------------------------------------------------------------------------

    def on_event(self, entry: dg.EventLogEntry) -> None:
        if self.also is not None:
            self.also(entry)
        with self._lock:
            if self.run is not None:
                self._update(self.run, entry)

    def _update(self, run: RunState, entry: dg.EventLogEntry) -> None:
        now = self.clock()
        event = entry.dagster_event
        if event is None:
            reported = parse_progress(entry.user_message or "")
            if reported is not None:
                done, total, run.unit = reported
                run.samples.append((now, done))
                run.total = total or (run.rows_read if run.unit == "rows" else None)
                self._show(run, now)
            return
        kind = event.event_type_value
        if kind.endswith("_PLANNED") and entry.step_key:
            run.planned_steps.add(entry.step_key)
            self._show(run, now)
        elif kind == "STEP_START":
            run.step, run.step_started, run.samples, run.total = entry.step_key, now, [], None
            run.steps_started += 1
            self._show(run, now)
        elif kind == "ASSET_MATERIALIZATION" and event.asset_key == AssetKey(ROWS_READ_ASSET):
            rows = getattr(
                event.step_materialization_data.materialization.metadata.get(ROW_COUNT), "value", None
            )
            run.rows_read = rows if isinstance(rows, int) else None
        elif kind == "STEP_FAILURE":
            run.failed = True
        elif kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
            outcome = "failed" if run.failed or kind == "PIPELINE_FAILURE" else "done"
            self._emit(f"{run.label}: {outcome} in {now - run.started:.1f} s", final=True)
            self.run = None

    def tick(self) -> None:
        with self._lock:
            if self.run is not None:
                self._show(self.run, self.clock())

    # -- rendering ------------------------------------------------------------------------------

    def status(self, run: RunState, now: float) -> str:
        parts = [run.label]
        if run.step is None:
            parts.append(f"setting up the run ({len(run.planned_steps)} steps) · {now - run.started:.0f} s")
        else:
            of = f"/{len(run.planned_steps)}" if len(run.planned_steps) >= run.steps_started else ""
            parts.append(f"step {run.steps_started}{of} {run.step}")
        if run.samples:
            parts += self._rows(run, now)
        else:
            if run.rows_read is not None:
                parts.append(f"{run.rows_read:,} rows read")
            if run.step:
                parts.append(f"{now - run.step_started:.0f} s")
        return " · ".join(parts)

    @staticmethod
    def _rows(run: RunState, now: float) -> list[str]:
        _, done = run.samples[-1]
        first_time, first_done = run.samples[0] if len(run.samples) > 1 else (run.step_started, 0)
        elapsed = run.samples[-1][0] - first_time
        unit = run.unit
        parts = [
            f"{done:,} of {run.total:,} {unit} ({done / run.total:.0%})" if run.total else f"{done:,} {unit}"
        ]
        if elapsed > 0 and done > first_done:
            rate = (done - first_done) / elapsed
            parts.append(f"{rate:,.0f} {unit}/s")
            if run.total and run.total >= done:
                left = (run.total - done) / rate - (now - run.samples[-1][0])
                parts.append(f"about {max(left, 0):.0f} s left")
        return parts

    def _show(self, run: RunState, now: float) -> None:
        if self.tty:
            self._emit(_bar(run) + self.status(run, now), final=False)
        elif now - self._last_plain >= self.plain_every:
            self._emit(self.status(run, now), final=True)
            self._last_plain = now

    def _emit(self, text: str, *, final: bool) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
