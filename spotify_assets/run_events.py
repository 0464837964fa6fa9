"""Dagster's events of an in-process run, as they are stored: listening to them, and reading them
as one-line failures and log-file lines.

`listen` is the one place that uses `DagsterInstance.add_event_listener`, which Dagster does not
document as public API: the instance calls the listener with each `EventLogEntry` of the run right
after storing it, in the thread that runs the step. test_cli names the method, so an upgrade that
drops it fails there, in one place. Everything the listener receives (`EventLogEntry`,
`DagsterEvent`) is public.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

LISTENER_METHOD = "add_event_listener"
MAX_LINE = 600
LOGS_KEPT = 20
_WRAPPER = re.compile(r"^Dagster\w*Error$")
_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )")  # "polars.exceptions.X: ..." -> "X: ..."

# Errors raised by listeners (which are switched off then, so a display never breaks a run).
callback_errors: list[str] = []


def listen(instance: dg.DagsterInstance, run_id: str, callback: Callable[[dg.EventLogEntry], None]) -> None:
    """Call `callback` with every event of run `run_id` as it is stored. A callback that raises is
    switched off (the run goes on); the error is kept in `callback_errors`."""

    def guarded(entry: dg.EventLogEntry) -> None:
        if state["on"]:
            try:
                callback(entry)
            except Exception as error:  # a display must never break a run
                state["on"] = False
                callback_errors.append(f"{type(error).__name__}: {error}")

    state = {"on": True}
    getattr(instance, LISTENER_METHOD)(run_id, guarded)


def one_line(text: str) -> str:
    """`text` on one line: its lines joined with '; ', at most MAX_LINE characters."""
    line = "; ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def failure_line(event: dg.DagsterEvent) -> str:
    """The reason a step failed, on one line: a `dg.Failure`'s description, else the first error
    in the cause chain that is not one of Dagster's wrappers (e.g. `ColumnNotFoundError: ...`)."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return one_line(data.user_failure_data.description)
    error = data.error
    while error is not None and _WRAPPER.match(error.cls_name or "") and (error.cause or error.context):
        error = error.cause or error.context
    if error is None:
        return "failed (no error recorded)"
    return one_line(_MODULE_PATH.sub("", _head(error.message)))


def _head(message: str) -> str:
    """An exception's first line (and the next one when the first announces it with ':'); the rest
    of a long message (a query plan, a stack of contexts) is for the log file."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    keep = 2 if len(lines) > 1 and lines[0].rstrip().endswith(":") else 1
    return "\n".join(lines[:keep])


def failure_metadata(event: dg.DagsterEvent) -> dict:
    """The metadata a `dg.Failure` carried (e.g. `file`), as plain values."""
    data = event.step_failure_data.user_failure_data
    if data is None:
        return {}
    return {key: getattr(value, "value", value) for key, value in data.metadata.items()}


def log_line(entry: dg.EventLogEntry) -> str:
    """One event as the log file shows it; a failure is followed by its full error and traceback."""
    stamp = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    event = entry.dagster_event
    kind = event.event_type_value if event is not None else "LOG"
    head = " - ".join(
        part
        for part in (
            stamp,
            logging.getLevelName(entry.level),
            entry.job_name,
            entry.run_id,
            entry.step_key,
            kind,
        )
        if part
    )
    line = f"{head} - {entry.message}"
    error = _error_of(event)
    return f"{line}\n{error.to_string()}" if error is not None else line


def _error_of(event: dg.DagsterEvent | None):
    if event is None:
        return None
    if event.is_step_failure:
        return event.step_failure_data.error
    specific = event.event_specific_data
    return getattr(specific, "error", None)


class EventLogFile:
    """Every event of the CLI's runs, with full errors and tracebacks, in one file per invocation
    under `folder` (`$DAGSTER_HOME/logs`); the newest LOGS_KEPT files are kept."""

    def __init__(self, folder: Path, *, now: datetime):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"spotify-assets-run-{now:%Y%m%dT%H%M%S%f}.log"
        self._handle = self.path.open("a", encoding="utf-8")
        for old in sorted(folder.glob("spotify-assets-run-*.log"))[:-LOGS_KEPT]:
            old.unlink(missing_ok=True)

    def write(self, entry: dg.EventLogEntry) -> None:
        self._handle.write(log_line(entry) + "\n")
        self._handle.flush()

    def note(self, text: str) -> None:
        self._handle.write(text.rstrip() + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
