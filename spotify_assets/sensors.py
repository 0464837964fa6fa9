"""The landing sensor: a file dropped in the landing folder is ingested once, in one run with all downstream.

Each tick the sensor looks at the landing folder (`SPOTIFY_LANDING_DIR`, through the `landing`
resource):

1. A file counts as arrived when nobody has written to it for QUIET_SECONDS (its modification time
   is that old at first sight), or when its size and modification time are the same on two ticks
   in a row (the fallback for clocks that disagree). It is read once (sniffed and hashed) and
   stat'ed again afterwards: if it changed meanwhile, it is still being written and waits. A
   complete file that is moved or copied in is thus handled on the first tick that sees it; a file
   still being copied is never read half-way.
2. An arrived file that is not a Spotify history (a photo, another CSV, a damaged ZIP ...) is moved
   to `<landing>/quarantine/` with a `<name>.reason.txt` saying why (`resources.landing.quarantine`,
   the same as `spotify-assets run` does). The quarantine folder lies inside the landing folder
   (same file system, so the move is a rename) and `LandingFolder.files()` lists only files, so it
   never sees it.
3. Every other arrived file becomes a `landing_files` partition (the key is the file stem plus 12
   hex digits of its content hash) and gets one run of FILE_JOB for that partition: its ingest,
   the star schema, its album art and the published tables, in one run, so a small file reaches
   `fact_streams` seconds after it arrives. `run_key` = the content hash: the same bytes under any
   name, now or later, start nothing. The runs carry INGEST_CONCURRENCY_TAG, which the instance
   limits to one at a time (`dagster.yaml`), so a burst of files is a queue of runs, one per file.

At most MAX_FILES_PER_TICK files (and MAX_BYTES_PER_TICK bytes, at least one file) are handled per
tick; the rest stay arrived for the next tick. The cursor (JSON) keeps each file's last seen size
and modification time and which files are handled, so it survives daemon restarts.
"""

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from .instance_rules import INGEST_CONCURRENCY_TAG  # limited to one run at a time
from .partitions import landing_files
from .resources.lake import LakeResource
from .resources.landing import LandingFile, LandingFolder, hash_of_key, quarantine
from .runner import FILE_JOB, LANDING_FILES, ingested_keys, plan_registrations
from .transforms.parse import NotAHistoryFile, check_large_history, read_history

LANDING_POLL_SECONDS = 5  # the daemon's sensor loop runs every 5 s: a shorter interval buys nothing
QUIET_SECONDS = 2  # a file nobody wrote to for this long counts as complete at first sight
MAX_FILES_PER_TICK = 20
MAX_BYTES_PER_TICK = 4 << 30
FULL_SNIFF_BYTES = 32 << 20  # smaller files are read exactly as the ingest will read them
HEAD_SAMPLE_BYTES = 1 << 20

Signature = tuple[int, int]  # size in bytes, modification time in ns


@dataclass
class LandingCursor:
    """What the sensor remembers between ticks, per file name: the last (size, mtime) seen, and the
    (size, mtime) at which the file was handled (registered or quarantined)."""

    seen: dict[str, Signature] = field(default_factory=dict)
    handled: dict[str, Signature] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "LandingCursor":
        if not text:
            return cls()
        state = json.loads(text)
        return cls(
            seen={name: tuple(value) for name, value in state.get("seen", {}).items()},
            handled={name: tuple(value) for name, value in state.get("handled", {}).items()},
        )

    def serialize(self) -> str:
        return json.dumps({"seen": self.seen, "handled": self.handled}, sort_keys=True)


def signature(path: Path) -> Signature:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def arrived_files(cursor: LandingCursor, present: dict[str, Signature], *, now_ns: int) -> list[str]:
    """Names not handled yet that count as complete: unchanged since the last tick, or not written
    to for QUIET_SECONDS. Updates `cursor.seen` to `present` and forgets files that are gone."""
    quiet_ns = int(QUIET_SECONDS * 1e9)
    arrived = [
        name
        for name, sig in present.items()
        if cursor.handled.get(name) != sig and (cursor.seen.get(name) == sig or now_ns - sig[1] >= quiet_ns)
    ]
    cursor.seen = dict(present)
    cursor.handled = {name: sig for name, sig in cursor.handled.items() if present.get(name) == sig}
    return sorted(arrived)


def take_batch(names: list[str], sizes: dict[str, int]) -> list[str]:
    """The first files of `names` within MAX_FILES_PER_TICK and MAX_BYTES_PER_TICK (at least one)."""
    batch: list[str] = []
    total = 0
    for name in names[:MAX_FILES_PER_TICK]:
        if batch and total + sizes[name] > MAX_BYTES_PER_TICK:
            break
        batch.append(name)
        total += sizes[name]
    return batch


def why_not_a_history(path: Path, *, date_order: str | None = None) -> str | None:
    """None when `path` looks like a Spotify history, else why not (the parser's own message).

    Files up to FULL_SNIFF_BYTES are read exactly as the ingest reads them. A larger CSV is judged
    on a head sample cut at a record boundary; a larger JSON or ZIP on its structure only (an array
    of plays; member sizes and heads), so a 1.4 GB file costs the sensor a few milliseconds.
    `date_order` is the `SPOTIFY_CSV_DATE_ORDER` setting, as the ingest gets it.
    """
    try:
        if path.stat().st_size <= FULL_SNIFF_BYTES:
            read_history(path, date_order=date_order)
            return None
        return _why_not_a_large_history(path, date_order)
    except NotAHistoryFile as error:
        return str(error)
    except (OSError, pl.exceptions.PolarsError) as error:
        return f"{path.name}: cannot be read ({error.__class__.__name__}: {str(error)[:300]})"


def _why_not_a_large_history(path: Path, date_order: str | None) -> str | None:
    check_large_history(path, path.name, date_order, HEAD_SAMPLE_BYTES)
    return None


@dg.sensor(
    job_name=FILE_JOB,
    minimum_interval_seconds=LANDING_POLL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingFolder, lake: LakeResource):
    """Starts one run per complete new file of the landing folder (its ingest and everything
    downstream); quarantines files that are not histories.

    A file is complete when nobody wrote to it for a few seconds (or it did not change between two
    ticks) and it did not change while the sensor read it. run_key = its content hash, so the same
    bytes under another name start nothing. Files that are not Spotify histories go to
    `<landing>/quarantine/` with a `.reason.txt`.
    """
    cursor = LandingCursor.parse(context.cursor)
    paths = {path.name: path for path in landing.files()}
    present = {name: signature(path) for name, path in paths.items()}
    arrived = arrived_files(cursor, present, now_ns=time.time_ns())
    batch = take_batch(arrived, {name: present[name][0] for name in arrived})
    now = datetime.now(UTC)

    histories: list[LandingFile] = []
    for name in batch:
        path = paths[name]
        reason = why_not_a_history(path, date_order=landing.csv_date_order)
        described = None if reason or not path.exists() else landing.describe(path)
        after = signature(path) if path.exists() else None
        if after is None:  # moved away or deleted meanwhile
            cursor.seen.pop(name, None)
        elif after != present[name]:  # written to while we read it: wait for the next tick
            cursor.seen[name] = after
            context.log.info(f"{name} changed while it was read; it is still being written")
        elif reason:
            moved = quarantine(path, reason, now=now, by="the landing sensor")
            context.log.warning(f"quarantined {name} to {moved}: {reason}")
            cursor.seen.pop(name)
        elif described is not None:
            histories.append(described)
            cursor.handled[name] = present[name]

    registrations = plan_registrations(context.instance.get_dynamic_partitions(LANDING_FILES), histories)
    ingested = ingested_keys(lake.location)
    to_ingest = [reg for reg in registrations if reg.status != "same_bytes" and reg.key not in ingested]
    for registration in registrations:
        context.log.info(f"{registration.path.name}: {registration.status} as {registration.key}")
    if len(arrived) > len(batch):
        context.log.info(f"{len(arrived) - len(batch)} more arrived files wait for the next tick")
    new_keys = [reg.key for reg in registrations if reg.status == "new"]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=hash_of_key(reg.key),
                partition_key=reg.key,
                tags={INGEST_CONCURRENCY_TAG: "landing_sensor"},
            )
            for reg in to_ingest
        ],
        dynamic_partitions_requests=[landing_files.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor.serialize(),
    )
