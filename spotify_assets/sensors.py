"""The landing sensor: a file dropped in the landing folder is ingested once, on its own.

Each tick the sensor looks at the landing folder (`SPOTIFY_LANDING_DIR`, through the `landing`
resource):

1. A file counts as arrived once its size and modification time are the same on two ticks in a
   row, so a file still being copied is never read half-way.
2. An arrived file that is not a Spotify history (a photo, another CSV, a damaged ZIP ...) is moved
   to `<landing>/quarantine/` with a `<name>.reason.txt` saying why. The quarantine folder lies
   inside the landing folder (same file system, so the move is a rename) and
   `LandingFolder.files()` lists only files, so it never sees it.
3. Every other arrived file becomes a `landing_files` partition (the key is the file stem plus 12
   hex digits of its content hash) and gets an `ingest_file` run with `run_key` = the content hash:
   the same bytes under any name, now or later, start nothing. Declarative automation (see
   automation.py) then brings the star schema, album art and warehouse up to date.

At most MAX_FILES_PER_TICK files (and MAX_BYTES_PER_TICK bytes, at least one file) are handled per
tick; the rest stay arrived for the next tick. The cursor (JSON) keeps each file's last seen size
and modification time and which files are handled, so it survives daemon restarts.
"""

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from .instance_rules import INGEST_CONCURRENCY_TAG  # limited to one run at a time
from .partitions import landing_files
from .resources.lake import LakeResource
from .resources.landing import QUARANTINE_DIR, LandingFile, LandingFolder, hash_of_key
from .runner import ingested_keys, plan_registrations
from .transforms.parse import NotAHistoryFile, check_large_history, read_history

INGEST_JOB = "ingest_file"
LANDING_POLL_SECONDS = 10
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


def arrived_files(cursor: LandingCursor, present: dict[str, Signature]) -> list[str]:
    """Names whose signature is unchanged since the last tick and that are not handled yet; updates
    `cursor.seen` to `present` and forgets files that are gone."""
    arrived = [
        name for name, sig in present.items()
        if cursor.seen.get(name) == sig and cursor.handled.get(name) != sig
    ]
    cursor.seen = dict(present)
    cursor.handled = {name: sig for name, sig in cursor.handled.items() if present.get(name) == sig}
    return sorted(arrived)


def take_batch(names: list[str], sizes: dict[str, int]) -> list[str]:
    """The first files of `names` within MAX_FILES_PER_TICK and MAX_BYTES_PER_TICK (at least one)."""
    batch, total = [], 0
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


def quarantine(path: Path, reason: str, *, now: datetime) -> Path:
    """Move `path` into the quarantine folder beside it, with `<name>.reason.txt`; returns the new path."""
    folder = path.parent / QUARANTINE_DIR
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}-{now:%Y%m%dT%H%M%S%f}{path.suffix}"
    shutil.move(path, target)
    target.with_name(f"{target.name}.reason.txt").write_text(
        f"{reason}\n\nMoved here from {path} by the landing sensor at {now:%Y-%m-%d %H:%M:%S} UTC.\n"
        "Fix or replace the file and drop it into the landing folder again.\n",
        encoding="utf-8",
    )
    return target


@dg.sensor(
    job_name=INGEST_JOB,
    minimum_interval_seconds=LANDING_POLL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingFolder, lake: LakeResource):
    """Ingests each complete new file of the landing folder once; quarantines files that are not histories.

    A file is complete when its size and modification time did not change between two ticks. Runs
    `ingest_file` for each new file's partition with run_key = its content hash, so the same bytes
    under another name start nothing. Files that are not Spotify histories go to
    `<landing>/quarantine/` with a `.reason.txt`.
    """
    cursor = LandingCursor.parse(context.cursor)
    paths = {path.name: path for path in landing.files()}
    present = {name: signature(path) for name, path in paths.items()}
    arrived = arrived_files(cursor, present)
    batch = take_batch(arrived, {name: present[name][0] for name in arrived})
    now = datetime.now(UTC)

    histories: list[LandingFile] = []
    for name in batch:
        reason = why_not_a_history(paths[name])
        if reason:
            moved = quarantine(paths[name], reason, now=now)
            context.log.warning(f"quarantined {name} to {moved}: {reason}")
            cursor.seen.pop(name)
        else:
            histories.append(landing.describe(paths[name]))
            cursor.handled[name] = present[name]

    registrations = plan_registrations(context.instance.get_dynamic_partitions(landing_files.name), histories)
    ingested = ingested_keys(lake.location)
    to_ingest = [reg for reg in registrations if reg.status != "same_bytes" and reg.key not in ingested]
    for registration in registrations:
        context.log.info(f"{registration.path.name}: {registration.status} as {registration.key}")
    if len(arrived) > len(batch):
        context.log.info(f"{len(arrived) - len(batch)} more arrived files wait for the next tick")
    new_keys = [reg.key for reg in registrations if reg.status == "new"]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=hash_of_key(reg.key), partition_key=reg.key,
                          tags={INGEST_CONCURRENCY_TAG: "landing_sensor"})
            for reg in to_ingest
        ],
        dynamic_partitions_requests=[landing_files.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor.serialize(),
    )
