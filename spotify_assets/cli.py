"""The `spotify-assets` command: write a sample history, or run the platform in-process.

`run` sorts what it is given before any Dagster run (intake.py), runs what is new (runner.py),
shows progress from the runs' events (progress.py) and ends with a summary: rows per table and per
file, one line per failure, album art still pending. Dagster's own output (tracebacks included)
goes to a log file under `$DAGSTER_HOME/logs`, or to the terminal with `--verbose`. Heavy modules
(Dagster's storage, the asset code) are imported only when a run needs them.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import instance_config

SAMPLE_FORMATS = ("csv", "json", "zip", "basic", "account-zip")  # sample.SAMPLE_FORMATS
DEFAULT_DAGSTER_HOME = "data/dagster_home"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotify-assets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="write a realistic sample listening history")
    sample.add_argument("out", type=Path, help="file to write (a folder gets the format's usual file name)")
    sample.add_argument("--rows", type=int, default=150_000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument(
        "--format",
        choices=SAMPLE_FORMATS,
        default="csv",
        help="csv: Maven Analytics; json/zip: Spotify Extended Streaming History; "
        "basic/account-zip: Spotify's basic account data (the last year of that history)",
    )
    run = commands.add_parser("run", help="ingest history files and materialize every asset")
    run.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="files or folders (walked, e.g. the unzipped export); default: SPOTIFY_LANDING_DIR",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    run.add_argument("--verbose", action="store_true", help="show every Dagster event, tracebacks included")
    return parser


def _sample(args: argparse.Namespace) -> int:
    from . import sample

    out = sample.write_sample(args.format, args.out, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows:,} plays to {out}")
    return 0


def _dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    instance_config.ensure(home)
    return home


def open_instance(home: Path):
    """The Dagster instance of `home`. Two first runs at once would both create its SQLite tables
    (`table … already exists`): the first one creates them under a lock the others wait for."""
    import dagster as dg

    from .io_managers.locks import file_lock

    with file_lock(str(home), "instance"):
        return dg.DagsterInstance.get()


def _run(args: argparse.Namespace) -> int:
    from . import intake, runner, summary
    from .io_managers.location import lake_location
    from .resources.landing import LandingFolder
    from .resources.spotify import spotify_api_from_env
    from .settings import Settings, mask_url, spotify_credentials_configured
    from .transforms.overrides import overrides_digest
    from .up_to_date import UpToDate

    try:  # a setting that cannot work is one line, before anything is read or written
        settings = Settings.from_env()
        spotify_api_from_env()
    except ValueError as error:
        print(f"spotify-assets: {error}", file=sys.stderr)
        return 2
    landing = LandingFolder(path=settings.landing_dir, csv_date_order=settings.csv_date_order)
    missing = [str(path) for path in args.files if not path.exists()]
    if missing:
        print(f"spotify-assets: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = intake.candidates(args.files, landing)
    if not found:
        where = ", ".join(map(str, args.files)) or landing.root
        print(
            f"spotify-assets: no history files in {where}; drop one into {landing.root} or name it",
            file=sys.stderr,
        )
        return 2
    home = _dagster_home()
    hashes = intake.HashCache(home / intake.HASH_CACHE_FILE)
    now = datetime.now(UTC)
    lake = lake_location(settings)
    ingested = runner.ingested_keys(lake)
    taken = intake.take_in(found, landing, ingested, hashes, now=now)
    hashes.save()
    credentials = spotify_credentials_configured()
    marker = UpToDate(
        home,
        {
            "lake": settings.lake_uri,
            "warehouse": mask_url(settings.warehouse_url),
            "report": settings.report_dir,
            "engine": settings.engine,
            "timezone": settings.timezone,
            "overrides": overrides_digest(settings.track_overrides),
            "listen_rule": settings.listen_rule,
        },
    )
    refresh = _outputs_to_refresh(settings, marker.changed_settings())
    quiet = not (taken.files or taken.quarantined or refresh)
    recorded = marker.holds(settings.lake_uri) if quiet else None
    lookups = recorded.get("lookups") if recorded else None
    if lookups is not None and credentials:  # not_found answers come due with time: ask the lake
        lookups = runner.pending_lookups(lake)
    idle = lookups is not None and not (credentials and lookups["partitions"])
    outcome: dict[str, Any]
    if idle and lookups is not None:
        outcome = {"report": runner.RunReport(), "log": None, "refused": [], "names": {}}
    else:
        outcome = _execute(args, settings, lake, landing, taken, ingested, home, now, credentials, refresh)
        lookups = runner.pending_lookups(lake)
    outcome["no_history"] = _no_history(args.files, taken)
    result = summary.build(settings, lake, taken, outcome, credentials, lookups)
    if not idle:
        due = credentials and bool(lookups["partitions"])
        marker.record(
            settings.lake_uri, up_to_date=result["success"] and not due, recorded={"lookups": lookups}
        )
    print(json.dumps(result, indent=2, default=str) if args.json else summary.text(result))
    return 0 if result["success"] else 1


def _outputs_to_refresh(settings, changed: set[str] | None) -> set[str]:
    """What must be published or written again although no table upstream changed: the warehouse
    when it is new, gone (an SQLite file deleted, a MySQL database emptied or out of reach) or its
    URL or listen rule changed (a publish with nothing to change writes nothing); the report when
    its file is gone or what it shows changed. `changed` None (no earlier up-to-date run):
    Dagster's own record decides, as always."""
    from .assets.report import REPORT_FILE_NAME
    from .resources.warehouse.sqlite import sqlite_file

    refresh = set()
    database = sqlite_file(settings.warehouse_url)
    changed = changed or set()
    lost = not database.exists() if database else _server_warehouse_lost(settings.warehouse_url)
    if changed & {"warehouse", "listen_rule"} or lost:
        refresh.add("warehouse")
    report_gone = not (Path(settings.report_dir) / REPORT_FILE_NAME).exists()
    if report_gone or changed & {"report", "listen_rule"}:
        refresh.add("report")
    return refresh


def _server_warehouse_lost(url: str) -> bool:
    """A MySQL warehouse with no record of a publish (a database dropped and created again under
    the same URL) or out of reach: its publish runs again, and says why when it fails."""
    from .resources.warehouse import Warehouse, WarehouseError

    warehouse = Warehouse(url=url)
    try:
        return not warehouse.published_versions()
    except WarehouseError:
        return True
    finally:
        warehouse.close()


def _no_history(files: list[Path], taken) -> str | None:
    """The failure line for folders named on the command line that hold no play history at all."""
    if not files or not taken.skipped or taken.files or taken.known or taken.quarantined:
        return None
    return (
        f"{', '.join(map(str, files))}: no play history among its {len(taken.skipped)} files; expected "
        "Spotify's StreamingHistory*.json / Streaming_History_Audio_*.json files or the export ZIP"
    )


def _execute(
    args,
    settings,
    lake,
    landing,
    taken,
    ingested: set[str],
    home: Path,
    now: datetime,
    credentials: bool,
    refresh: set[str],
) -> dict:
    """The Dagster runs of this invocation (none when nothing is new or stale)."""
    from . import runner
    from .definitions import build_definitions
    from .progress import Progress
    from .run_events import EventLogFile

    defs = build_definitions(settings, interactive=True)
    names = {landing_file.key: landing_file.path.name for landing_file in taken.files}
    log: list[EventLogFile] = []

    def log_file() -> EventLogFile:
        if not log:
            log.append(EventLogFile(home / "logs", now=now))
        return log[0]

    def write_log(entry) -> None:
        log_file().write(entry)

    progress = Progress(sys.stderr, tty=sys.stderr.isatty(), labels=_labels(names, ingested), also=write_log)
    if not args.verbose:
        progress.start()
        _libraries_log_to(lambda text: log_file().note(text))
    with open_instance(home) as instance:
        if args.whole_process:
            gc.freeze()  # the imported code lives as long as the process: no collection walks it again
            gc.enable()
        try:
            report = runner.run_files(
                defs,
                instance,
                landing,
                lake,
                [],
                "DEBUG" if args.verbose else "CRITICAL",
                files=taken.files,
                ingested=ingested,
                retry_pending_album_art=credentials,
                refresh_outputs=refresh,
                watcher=(lambda *run: write_log) if args.verbose else progress.watcher,
            )
        finally:
            progress.close()
            if log:
                log[0].close()
    refused = _quarantine_refused(report, landing, now)
    return {"report": report, "log": str(log[0].path) if log else None, "refused": refused, "names": names}


LIBRARY_LOGGERS = ("spotipy", "urllib3")  # they log every HTTP error they see, e.g. each 404 or 429


class _NoteHandler(logging.Handler):
    def __init__(self, note) -> None:
        super().__init__(logging.INFO)
        self.note = note

    def emit(self, record: logging.LogRecord) -> None:
        self.note(f"{record.name} {record.levelname}: {record.getMessage()}")


def _libraries_log_to(note) -> None:
    """The HTTP libraries' own log lines go to the log file, not the terminal (where Python would
    print them, having no handler): the terminal shows one line per failure."""
    handler = _NoteHandler(note)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for earlier in [h for h in library.handlers if isinstance(h, _NoteHandler)]:
            library.removeHandler(earlier)  # an earlier in-process call's, with its log file closed
        library.addHandler(handler)
        library.propagate = False


def _labels(names: dict[str, str], ingested: set[str]):
    """How progress names a run: its file ([n/N] among the files with bytes not ingested yet, each
    bytes once: a copy runs no ingest of its own), or what it brings up to date."""
    from .resources.landing import hash_of_key
    from .runner import ALBUM_ART_JOB, MODEL_JOB

    done = {hash_of_key(key) for key in ingested}
    new = dict.fromkeys(digest for digest in map(hash_of_key, names) if digest not in done)
    order = {digest: index for index, digest in enumerate(new, start=1)}

    def label(job_name: str, partition: str | None) -> str:
        if job_name == MODEL_JOB:
            return "model, warehouse and report"
        name = names.get(partition or "", partition or job_name)
        if job_name == ALBUM_ART_JOB:
            return f"album art for {name}"
        digest = hash_of_key(partition) if partition else None
        return f"[{order[digest]}/{len(order)}] {name}" if digest in order else name

    return label


def _quarantine_refused(report, landing, now: datetime) -> list[dict]:
    """Landing files the ingest refused although the sniff let them through (a large file is sniffed
    on its head only): moved to quarantine like any refused file."""
    from .intake import QUARANTINED_BY
    from .resources.landing import quarantine
    from .runner import REFUSING_STEP

    refused = []
    for run in report.runs:
        for failure in run["failed_steps"]:
            path = Path(failure.get("file") or "")
            if failure["step"] == REFUSING_STEP and path.parent == landing.root and path.is_file():
                moved = quarantine(path, failure["message"], now=now, by=QUARANTINED_BY)
                refused.append({"file": str(path), "moved_to": str(moved), "reason": failure["message"]})
    return refused


def main(argv: list[str] | None = None) -> int:
    """The console script (`argv` None: the process is ours) or an in-process call (`argv` given)."""
    args = _parser().parse_args(argv)
    args.whole_process = argv is None
    if args.whole_process:
        gc.disable()  # importing Dagster makes ~1M long-lived objects: collecting them is wasted (~0.4 s)
    code = _sample(args) if args.command == "sample" else _run(args)
    if args.whole_process:
        gc.freeze()  # exit without a last collection over every object Dagster made (~0.6 s)
    return code


if __name__ == "__main__":
    sys.exit(main())
