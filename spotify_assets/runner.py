"""Register landing files as partitions and materialize the graph in-process.

This is what `spotify-assets run` does, with the very Definitions the UI loads: each file's
ingest runs in its own run (a bad file fails only its partition); the last new file's run also
carries everything downstream, so one new file costs one Dagster run. With several new files the
earlier ones then get their album_art run and the published tables one refresh.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from .io_managers.delta import scan_table
from .io_managers.location import Lake
from .partitions import landing_files
from .resources.landing import LandingFile, LandingFolder, hash_of_key
from .tables import FILE_ACCOUNTING, FILE_READS, LAKE_TABLES, PARTITION_COLUMN


@dataclass(frozen=True)
class Registration:
    path: Path
    key: str
    status: str  # new, known, or same_bytes (as another registered file)
    same_as: str | None = None


@dataclass
class RunReport:
    registrations: list[Registration] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(run["success"] for run in self.runs)


def into_landing(landing: LandingFolder, path: Path) -> Path:
    """`path` itself when it lies in the landing folder, else a copy placed there."""
    landing.root.mkdir(parents=True, exist_ok=True)
    if path.resolve().parent == landing.root.resolve():
        return path
    target = landing.root / path.name
    if target.exists():
        digest = landing.describe(path).digest
        if target.stat().st_size == path.stat().st_size and landing.describe(target).digest == digest:
            return target
        target = landing.root / f"{path.stem}-{digest[:8]}{path.suffix}"
    shutil.copy2(path, target)
    return target


def plan_registrations(known_keys: Iterable[str], files: Iterable[LandingFile]) -> list[Registration]:
    """What registering `files` means, given the partitions already known: a new partition per new
    file; bytes already registered (under any name) are recognized, not added again."""
    known = set(known_keys)
    key_by_hash = {hash_of_key(key): key for key in known}
    registrations = []
    for landing_file in files:
        key = landing_file.key
        digest = hash_of_key(key)
        if key in known:
            registrations.append(Registration(landing_file.path, key, "known"))
        elif digest in key_by_hash:
            registrations.append(
                Registration(landing_file.path, key_by_hash[digest], "same_bytes", same_as=key_by_hash[digest])
            )
        else:
            registrations.append(Registration(landing_file.path, key, "new"))
            key_by_hash[digest] = key
    return registrations


def register_files(instance: dg.DagsterInstance, landing: LandingFolder, paths: list[Path]) -> list[Registration]:
    """Add a partition per new file; bytes already registered under another name are not added."""
    registrations = plan_registrations(
        instance.get_dynamic_partitions(landing_files.name), [landing.describe(path) for path in paths]
    )
    new_keys = [registration.key for registration in registrations if registration.status == "new"]
    if new_keys:
        instance.add_dynamic_partitions(landing_files.name, new_keys)
    return registrations


def ingested_keys(lake_uri: Lake) -> set[str]:
    """Partitions whose ingest completed (they have a file_reads row)."""
    accounting = scan_table(lake_uri, FILE_READS).select(PARTITION_COLUMN).collect()
    return set(accounting[PARTITION_COLUMN].to_list())


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str,
             partition_key: str | None, log_level: str) -> dict:
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=instance, partition_key=partition_key, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip() if event.step_failure_data.error else ''}"
        for event in result.all_events if event.is_step_failure
    ]
    return {"job": job_name, "partition": partition_key, "run_id": result.run_id,
            "success": result.success, "failures": failures}


def run_files(defs: dg.Definitions, instance: dg.DagsterInstance, landing: LandingFolder,
              lake_uri: Lake, paths: list[Path], log_level: str = "INFO") -> RunReport:
    """Register `paths` and bring every table up to date with them."""
    report = RunReport()
    report.registrations = register_files(instance, landing, [into_landing(landing, path) for path in paths])
    done = ingested_keys(lake_uri)
    pending = list(dict.fromkeys(reg.key for reg in report.registrations if reg.key not in done))
    for key in pending[:-1]:
        report.runs.append(_execute(defs, instance, "ingest_file", key, log_level))
    if pending:
        report.runs.append(_execute(defs, instance, "everything", pending[-1], log_level))
    ingested = ingested_keys(lake_uri)
    earlier = [key for key in pending[:-1] if key in ingested]
    for key in earlier:  # their albums are known only once the star schema has all files
        report.runs.append(_execute(defs, instance, "refresh_album_art", key, log_level))
    if not pending or pending[-1] not in ingested:
        report.runs.append(_execute(defs, instance, "refresh_model", None, log_level))
    elif earlier:  # their album art is in the lake: publish it
        report.runs.append(_execute(defs, instance, "publish", None, log_level))
    return report


def table_counts(lake_uri: Lake) -> dict[str, int]:
    return {spec.name: scan_table(lake_uri, spec).select(pl.len()).collect().item() for spec in LAKE_TABLES}


def accounting(lake_uri: Lake) -> list[dict]:
    return scan_table(lake_uri, FILE_ACCOUNTING).sort(PARTITION_COLUMN).collect().to_dicts()
