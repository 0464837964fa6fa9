"""Delta maintenance of the lake: the `maintain_lake` job and its weekly schedule (off by default).

Every ingest writes its landing file's partitions and every model update rewrites partitions and
the small tables whole; each write leaves the files it replaced behind (older versions stay
readable) and adds a commit to the table's log. The job goes through every lake table and:

1. compacts it (delta-rs `optimize.compact()`): a partition's small files are merged into larger
   ones. Our own writers put one file per partition per write, so a lake written only by them
   rarely has anything to merge (then nothing is committed); files written by Spark/Databricks or
   by appends are merged.
2. vacuums it: deletes the data files no current version uses that were replaced more than
   `retention_hours` ago (`SPOTIFY_LAKE_RETENTION_HOURS`, 168 by default). Only files the log
   marks as removed are candidates (delta-rs's lite mode), so a file a running writer has not
   committed yet is never touched. Versions older than the retention can no longer be read.
3. writes a checkpoint and drops log entries older than the table's log retention
   (`delta.logRetentionDuration`, 30 days by default): opening the table then reads one Parquet
   checkpoint instead of replaying every JSON commit.

`enforce_retention_duration` is Delta's guard for readers of older versions: while it is on,
delta-rs refuses a retention shorter than the table's `delta.deletedFileRetentionDuration` (7 days
unless set; our tables do not set it). The job keeps it on by default, so a shorter setting fails
the run with one line saying so. Turn it off (run config `enforce_retention_duration: false`) only
when nothing reads the lake's older versions for longer than the retention: a query or a
time-travel read that started on an older version loses its files.

Nothing about the content changes: compaction rewrites the same rows, vacuum deletes only files no
current version uses. The job holds the lake's exclusive lock (a local lake: no model update,
publish or check runs meanwhile) and runs in the `spotify_model` pool, which keeps it apart from
model updates on an object store, where there is no lock. Ingests may run meanwhile: on a local
lake each table's commit lock is held while it is maintained, so an ingest's commit waits; on an
object store, a commit that conflicts with the compaction fails one of the two (Delta's conflict
check; the loser is re-run), never the data.
"""

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import dagster as dg
import polars as pl

from .assets.model import MODEL_POOL
from .io_managers.delta import open_table, table_exists
from .io_managers.location import Lake, LakeLocation
from .io_managers.locks import file_lock
from .resources.lake import LakeResource
from .settings import DEFAULT_LAKE_RETENTION_HOURS, lake_retention_hours
from .tables import TABLES

MAINTENANCE_CRON = "0 4 * * 0"  # Sundays, 04:00 in SPOTIFY_TIMEZONE
DELTA_DEFAULT_RETENTION_HOURS = 168  # delta.deletedFileRetentionDuration when a table does not set it


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table (files and bytes of its current version, before and after)."""

    table: str
    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    files_compacted: int  # small files merged away
    files_vacuumed: int  # unreferenced files deleted from storage
    version: int  # the table's version afterwards


def live_files(lake: Lake, table: str) -> tuple[int, int]:
    """Files and bytes the table's current version reads."""
    actions = pl.DataFrame(open_table(lake, table).get_add_actions(flatten=True))
    return (actions.height, int(actions["size_bytes"].sum())) if actions.height else (0, 0)


def maintain_table(
    lake: Lake, table: str, *, retention_hours: int, enforce_retention_duration: bool = True
) -> TableMaintenance:
    """Compact, vacuum and checkpoint one table (see the module docstring), holding the table's commit
    lock on a local lake so that no ingest commits to it meanwhile."""
    location = LakeLocation.of(lake)
    with nullcontext() if location.remote else file_lock(location.uri, table):
        files_before, bytes_before = live_files(location, table)
        delta_table = open_table(location, table)
        compacted = delta_table.optimize.compact()
        vacuumed = delta_table.vacuum(  # lite mode: only files the log marks as removed
            retention_hours=retention_hours,
            dry_run=False,
            enforce_retention_duration=enforce_retention_duration,
            full=False,
        )
        delta_table.create_checkpoint()
        delta_table.cleanup_metadata()
        files_after, bytes_after = live_files(location, table)
    return TableMaintenance(
        table=table,
        files_before=files_before,
        bytes_before=bytes_before,
        files_after=files_after,
        bytes_after=bytes_after,
        files_compacted=int(compacted["numFilesRemoved"]) - int(compacted["numFilesAdded"]),
        files_vacuumed=len(vacuumed),
        version=delta_table.version(),
    )


class MaintenanceConfig(dg.Config):
    # None: SPOTIFY_LAKE_RETENTION_HOURS, also when run config sets only enforce_retention_duration
    # (run config replaces the job's default config whole)
    retention_hours: int | None = None
    enforce_retention_duration: bool = True

    def hours(self) -> int:
        return self.retention_hours if self.retention_hours is not None else lake_retention_hours()


def check_retention(config: MaintenanceConfig, hours: int) -> None:
    """One clear line before anything is touched (delta-rs would refuse table by table); `hours` is
    the retention the run uses (`MaintenanceConfig.hours`)."""
    if hours < 0:
        raise dg.Failure(f"retention_hours={hours}: expected hours >= 0")
    if config.enforce_retention_duration and hours < DELTA_DEFAULT_RETENTION_HOURS:
        raise dg.Failure(
            f"retention_hours={hours} is shorter than Delta's minimum of "
            f"{DELTA_DEFAULT_RETENTION_HOURS} h: raise SPOTIFY_LAKE_RETENTION_HOURS, or run maintain_lake "
            "with enforce_retention_duration: false if nothing reads older versions of the lake"
        )


@dg.op(pool=MODEL_POOL, out=dg.Out(dg.Nothing))
def maintain_lake_tables(
    context: dg.OpExecutionContext, config: MaintenanceConfig, lake: LakeResource
) -> dg.Output[None]:
    """Compacts, vacuums and checkpoints every Delta table of the lake, under the lake's exclusive lock."""
    hours = config.hours()
    check_retention(config, hours)
    location, results = lake.location, []
    with lake.write_lock():
        for name in TABLES:
            if not table_exists(location, name):
                continue
            started = time.perf_counter()
            result = maintain_table(
                location,
                name,
                retention_hours=hours,
                enforce_retention_duration=config.enforce_retention_duration,
            )
            context.log.info(
                f"{name}: {result.files_before} -> {result.files_after} live files, "
                f"{result.files_vacuumed} vacuumed (retention {hours} h, "
                f"{time.perf_counter() - started:.1f} s)"
            )
            results.append(asdict(result))
    summary = pl.DataFrame(results, schema=list(TableMaintenance.__dataclass_fields__), orient="row")
    return dg.Output(
        None,
        metadata={
            "tables": len(results),
            "files_vacuumed": int(summary["files_vacuumed"].sum()) if results else 0,
            "files_compacted": int(summary["files_compacted"].sum()) if results else 0,
            "live_files_after": int(summary["files_after"].sum()) if results else 0,
            "retention_hours": hours,
            "per_table": dg.MetadataValue.md(_markdown(summary)),
        },
    )


def _markdown(summary: pl.DataFrame) -> str:
    header = "| " + " | ".join(summary.columns) + " |\n|" + "---|" * len(summary.columns) + "\n"
    return header + "".join("| " + " | ".join(str(value) for value in row) + " |\n" for row in summary.rows())


def maintenance_job(retention_hours: int = DEFAULT_LAKE_RETENTION_HOURS) -> dg.JobDefinition:
    @dg.job(
        name="maintain_lake",
        config={"ops": {"maintain_lake_tables": {"config": {"retention_hours": retention_hours}}}},
        description="Compact, vacuum (files replaced more than SPOTIFY_LAKE_RETENTION_HOURS ago) and "
        "checkpoint every lake table; the content never changes.",
    )
    def maintain_lake() -> None:
        maintain_lake_tables()

    return maintain_lake


def maintenance_schedule(job: dg.JobDefinition, timezone: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="maintain_lake_schedule",
        job=job,
        cron_schedule=MAINTENANCE_CRON,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Weekly (Sunday 04:00): maintain_lake. Off by default; turn it on in the UI.",
    )
