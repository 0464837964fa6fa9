"""Register landing files as partitions and bring the graph up to date in-process.

This is what `spotify-assets run` does, with the very Definitions the UI loads:

1. Each new file's ingest runs in its own run (a bad file fails only its partition); the last new
   file's run is FILE_JOB, carrying everything downstream, so one new file costs one Dagster run.
2. Album art: the earlier new files get their `refresh_album_art` run (their albums are known only
   once the star schema has every file); with Spotify credentials, every other partition with
   Spotify lookups due (pending albums and tracks) is retried too, until a quota stop.
3. Catch-up: an unpartitioned asset (star schema, warehouse, report) never materialized, or whose
   parent was materialized after it, is stale: a failed model or publish of an earlier run, or album
   art that changed after the last publish. Those assets and what lies downstream of them run once more in one
   `refresh_model` run. With nothing new and nothing stale, nothing runs and nothing is written.

Which landing files are ingested is decided from the lake (`ingested_keys`), before any run.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .resources.landing import LandingFile, LandingFolder, hash_of_key

if TYPE_CHECKING:
    import dagster as dg

    from .io_managers.location import Lake
    from .tables import TableSpec

MODEL_STEP_TABLE = "dim_track"  # an output of the model step: naming it reruns the step
FILE_JOB = "everything"  # one landing file's ingest and everything downstream, in one run
INGEST_JOB = "ingest_file"
MODEL_JOB = "refresh_model"
ALBUM_ART_JOB = "refresh_album_art"
LANDING_FILES = "landing_files"  # the dynamic partitions (partitions.py)
QUOTA_STOP = "quota exhausted"  # album_art's failure text when Spotify's quota stops a lookup
REFUSING_STEP = (
    "raw_plays"  # fails with dg.Failure(metadata={"file": path}) exactly when the parser refuses a file
)


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


# Called before each run with (job name, partition key or None, run id); returns the callback
# that receives the run's events (dagster EventLogEntry) as they are stored, or None.
RunWatcher = Callable[[str, "str | None", str], "Callable | None"]


def into_landing(landing: LandingFolder, path: Path, digest: str | None = None) -> Path:
    """`path` itself when it lies in the landing folder, else a copy placed there (`digest`: its
    content hash when already known)."""
    landing.root.mkdir(parents=True, exist_ok=True)
    if path.resolve().parent == landing.root.resolve():
        return path
    target = landing.root / path.name
    if target.exists():
        digest = digest or landing.describe(path).digest
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
                Registration(
                    landing_file.path, key_by_hash[digest], "same_bytes", same_as=key_by_hash[digest]
                )
            )
        else:
            registrations.append(Registration(landing_file.path, key, "new"))
            key_by_hash[digest] = key
    return registrations


def register_files(
    instance: dg.DagsterInstance,
    landing: LandingFolder,
    paths: list[Path],
    files: list[LandingFile] | None = None,
) -> list[Registration]:
    """Add a partition per new file; bytes already registered under another name are not added.
    `files`: the paths already described (hashed), to hash nothing twice."""
    described = files if files is not None else [landing.describe(path) for path in paths]
    registrations = plan_registrations(instance.get_dynamic_partitions(LANDING_FILES), described)
    new_keys = [registration.key for registration in registrations if registration.status == "new"]
    if new_keys:
        instance.add_dynamic_partitions(LANDING_FILES, new_keys)
    return registrations


def ingested_keys(lake: Lake) -> set[str]:
    """Partitions whose ingest completed (they have a file_reads row)."""
    from .tables import FILE_READS

    return landing_files_in(lake, FILE_READS)


def landing_files_in(lake: Lake, spec: TableSpec) -> set[str]:
    """The landing files a table holds rows of: for a Delta-partitioned table, read from its log
    (no data file is opened), else from its landing_file column."""
    import polars as pl

    from .io_managers.delta import open_table, scan_table, table_exists
    from .tables import PARTITION_COLUMN

    if not spec.partitioned or not table_exists(lake, spec.name):
        return set(scan_table(lake, spec).select(PARTITION_COLUMN).collect()[PARTITION_COLUMN].to_list())
    actions = pl.DataFrame(open_table(lake, spec.name).get_add_actions(flatten=True))
    return set(actions[f"partition.{PARTITION_COLUMN}"].to_list())


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    partition_key: str | None,
    log_level: str,
    *,
    asset_selection: list | None = None,
    watcher: RunWatcher | None = None,
) -> dict:
    """One in-process run; returns what the summary needs (failures as one line per failed step)."""
    from .run_events import failure_line, failure_metadata, listen

    run_id = str(uuid.uuid4())
    callback = watcher(job_name, partition_key, run_id) if watcher else None
    if callback:
        listen(instance, run_id, callback)
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_id=run_id,
        asset_selection=asset_selection,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    failed = [event for event in result.all_events if event.is_step_failure]
    return {
        "job": job_name,
        "partition": partition_key,
        "run_id": result.run_id,
        "success": result.success,
        "materialized": sorted(
            {
                event.asset_key.to_user_string()
                for event in result.get_asset_materialization_events()
                if event.asset_key is not None
            }
        ),
        "failures": [f"{event.step_key}: {failure_line(event)}" for event in failed],
        "failed_steps": [
            {
                "step": event.step_key,
                "message": failure_line(event),
                "file": failure_metadata(event).get("file"),
            }
            for event in failed
        ],
    }


def run_files(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    landing: LandingFolder,
    lake: Lake,
    paths: list[Path],
    log_level: str = "INFO",
    *,
    files: list[LandingFile] | None = None,
    ingested: set[str] | None = None,
    retry_pending_album_art: bool = False,
    refresh_outputs: Iterable[str] = (),
    watcher: RunWatcher | None = None,
) -> RunReport:
    """Register `paths` (or `files`, already described) and bring every table up to date with them
    (see the module docstring); `ingested`: `ingested_keys(lake)` when the caller has it."""
    report = RunReport()
    landed = [into_landing(landing, path) for path in paths] if files is None else [f.path for f in files]
    report.registrations = register_files(instance, landing, landed, files)
    done = ingested_keys(lake) if ingested is None else ingested
    pending = list(dict.fromkeys(reg.key for reg in report.registrations if reg.key not in done))

    def run(job_name: str, partition: str | None = None, **options) -> dict:
        report.runs.append(
            execute(defs, instance, job_name, partition, log_level, watcher=watcher, **options)
        )
        return report.runs[-1]

    for key in pending[:-1]:
        run(INGEST_JOB, key)
    if pending:
        run(FILE_JOB, pending[-1])
    ingested = ingested_keys(lake) if pending else done
    album_art_partitions = [key for key in pending[:-1] if key in ingested]
    if retry_pending_album_art:
        tried = {*pending, *album_art_partitions}
        retry_days = (defs.resources or {})["spotify"].not_found_retry_days
        due = pending_lookups(lake, retry_days)["partitions"]
        registered = set(instance.get_dynamic_partitions(LANDING_FILES))  # a new DAGSTER_HOME knows none
        album_art_partitions += [key for key in due if key not in tried and key in registered]

    def quota_spent(*runs: dict) -> bool:
        return any(QUOTA_STOP in failure for done in runs for failure in done["failures"])

    if quota_spent(*report.runs):  # the last file's lookup met the quota: the others wait for the next run
        album_art_partitions = []
    for key in album_art_partitions:  # their albums are known only once the star schema has all files
        if quota_spent(run(ALBUM_ART_JOB, key)):
            break  # the quota is spent: the others stay pending for the next run
    per_file = _mark_per_file_failures(defs, report.runs)
    # the model also runs for Web API answers it has not taken in yet (a lookup ran after it) and
    # for changed settings (time zone, overrides file): neither is a new materialization upstream
    outdated = per_file and (catalogue_outdated(lake) or model_settings_outdated(defs, lake))
    # an output to refresh that a run of this invocation already wrote (the first run's new
    # warehouse and report, say) is done
    written = {name for done in report.runs for name in done.get("materialized", ())}
    refresh = [key for key in output_keys(defs, refresh_outputs) if key.to_user_string() not in written]
    also = [*([dg_key(MODEL_STEP_TABLE)] if outdated else []), *refresh]
    stale = [] if not per_file else stale_assets(defs, instance, also)
    if stale:
        run(MODEL_JOB, asset_selection=stale)
        _mark_per_file_failures(defs, report.runs[-1:])
    return report


def dg_key(name: str) -> dg.AssetKey:
    import dagster as dg

    return dg.AssetKey(name)


def catalogue_outdated(lake: Lake) -> bool:
    """The Web API answered something the model's dimensions do not carry yet."""
    from .io_managers.delta import LakeTables
    from .transforms.model_update import catalogue_outdated as outdated

    return outdated(LakeTables(lake))


def output_keys(defs: dg.Definitions, outputs: Iterable[str]) -> list[dg.AssetKey]:
    """The assets of the named outputs: `warehouse` (every table and view it publishes), `report`."""
    from .assets.common import REPORT, WAREHOUSE

    groups = {{"warehouse": WAREHOUSE, "report": REPORT}[name] for name in outputs}
    return [spec.key for spec in defs.resolve_all_asset_specs() if spec.group_name in groups]


def model_settings_outdated(defs: dg.Definitions, lake: Lake) -> bool:
    """The model was built under other settings than the engine's now (time zone, overrides file)."""
    from .io_managers.delta import LakeTables
    from .transforms.model_update import settings_outdated

    engine = (defs.resources or {})["engine"]
    return settings_outdated(LakeTables(lake), engine.model_settings())


def pending_lookups(lake: Lake, not_found_retry_days: int = 30) -> dict:
    """What the Spotify lookup still owes: albums_pending, tracks_pending, and the partitions with
    lookups due (enrich.pending_lookups, read from the lake)."""
    from .assets.enrich import pending_lookups as owed

    return owed(lake, not_found_retry_days=not_found_retry_days)


def stale_assets(
    defs: dg.Definitions, instance: dg.DagsterInstance, also: Iterable[dg.AssetKey] = ()
) -> list[dg.AssetKey]:
    """Unpartitioned assets never materialized or materialized before one of their parents (or
    named in `also`), everything downstream of them that is unpartitioned too, and the siblings
    their multi-asset cannot run without. (A lake that only ever saw refused files thus gets its
    empty tables.)"""
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    latest = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_storage_id
        for record in instance.get_asset_records(list(specs))
    }
    whole = {key for key, spec in specs.items() if spec.partitions_def is None}
    children: dict = {}
    for key, spec in specs.items():
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(key)

    def outdated(key: dg.AssetKey) -> bool:
        own = latest.get(key)
        return own is None or any((latest.get(dep.asset_key) or -1) > own for dep in specs[key].deps)

    stale = {key for key in whole if outdated(key)} | set(also)
    frontier = list(stale)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child in whole and child not in stale:
                stale.add(child)
                frontier.append(child)
    for key in list(stale):
        assets_def = defs.resolve_assets_def(key)
        if not assets_def.can_subset:
            stale.update(assets_def.keys)
    return sorted(stale, key=lambda key: key.to_user_string())


def _mark_per_file_failures(defs: dg.Definitions, runs: list[dict]) -> bool:
    """Mark each failed step with its `stage`: `ingest` or `album_art` (one file's) or `tables` (the
    model, a publish, the report). True when no `tables` step failed (a catch-up of the tables after
    such a failure would only fail the same way again)."""
    failures = [failure for run in runs for failure in run["failed_steps"]]
    if not failures:
        return True
    stage_of = {
        node.name: stage
        for job, stage in ((INGEST_JOB, "ingest"), (ALBUM_ART_JOB, "album_art"))
        for node in defs.resolve_job_def(job).nodes_in_topological_order
    }
    for failure in failures:
        failure["stage"] = stage_of.get(failure["step"], "tables")
    return all(failure["stage"] != "tables" for failure in failures)


def table_counts(lake: Lake) -> dict[str, int]:
    """Rows per lake table, from the row counts every Delta commit records (no data is read)."""
    from .io_managers.delta import table_row_count
    from .tables import LAKE_TABLES

    return {spec.name: table_row_count(lake, spec) for spec in LAKE_TABLES}


def accounting(lake: Lake) -> list[dict]:
    """file_accounting's rows, by landing file. Read through delta-rs' own query engine, which hands
    Arrow to Polars without a dataset scan."""
    import polars as pl
    from deltalake import QueryBuilder

    from .io_managers.delta import open_table, table_exists
    from .tables import FILE_ACCOUNTING, PARTITION_COLUMN

    if not table_exists(lake, FILE_ACCOUNTING.name):
        return []
    query = QueryBuilder().register("accounting", open_table(lake, FILE_ACCOUNTING.name))
    return (
        pl.DataFrame(query.execute("select * from accounting").read_all()).sort(PARTITION_COLUMN).to_dicts()
    )
