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
import os
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

SAMPLE_FORMATS = ("csv", "json", "zip")
DEFAULT_DAGSTER_HOME = "data/dagster_home"
RETRY_AFTER = re.compile(r"retry after (\d{1,2}:\d{2} UTC)")
SKIPPED_NAMES_SHOWN = 8


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotify-assets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="write a realistic sample listening history")
    sample.add_argument("out", type=Path, help="file to write (a folder gets history.csv)")
    sample.add_argument("--rows", type=int, default=150_000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--format", choices=SAMPLE_FORMATS, default="csv",
                        help="csv: Maven Analytics; json/zip: Spotify Extended Streaming History")
    run = commands.add_parser("run", help="ingest history files and materialize every asset")
    run.add_argument("files", nargs="*", type=Path,
                     help="files or folders (walked, e.g. the unzipped export); default: SPOTIFY_LANDING_DIR")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    run.add_argument("--verbose", action="store_true", help="show every Dagster event, tracebacks included")
    return parser


def _sample(args: argparse.Namespace) -> int:
    from . import sample

    out = args.out / f"history.{args.format}" if args.out.is_dir() else args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = {"csv": sample.write_maven_csv, "json": sample.write_extended_json,
              "zip": sample.write_extended_zip}[args.format]
    writer(out, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows:,} plays to {out}")
    return 0


def _dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copy(Path(__file__).parent / "dagster.yaml", config)
    return home


def _run(args: argparse.Namespace) -> int:
    from . import intake, runner
    from .resources.landing import LandingFolder
    from .settings import Settings, mask_url, spotify_credentials_configured
    from .up_to_date import UpToDate

    settings = Settings.from_env()
    landing = LandingFolder(path=settings.landing_dir)
    missing = [str(path) for path in args.files if not path.exists()]
    if missing:
        print(f"spotify-assets: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = intake.candidates(args.files, landing)
    if not found:
        where = ", ".join(map(str, args.files)) or landing.root
        print(f"spotify-assets: no history files in {where}; drop one into {landing.root} or name it",
              file=sys.stderr)
        return 2
    home = _dagster_home()
    hashes = intake.HashCache(home / intake.HASH_CACHE_FILE)
    now = datetime.now(UTC)
    ingested = runner.ingested_keys(settings.lake_uri)
    taken = intake.take_in(found, landing, ingested, hashes, now=now)
    hashes.save()
    credentials = spotify_credentials_configured()
    pending_albums = runner.pending_album_count(settings.lake_uri)
    marker = UpToDate(home, {"lake": settings.lake_uri, "warehouse": mask_url(settings.warehouse_url),
                             "report": settings.report_dir, "engine": settings.engine, "timezone": settings.timezone})
    idle = not (taken.files or taken.quarantined or (credentials and pending_albums)) and marker.holds(settings.lake_uri)
    if idle:
        outcome = {"report": runner.RunReport(), "log": None, "refused": [], "names": {}}
    else:
        outcome = _execute(args, settings, landing, taken, ingested, home, now, credentials)
        pending_albums = runner.pending_album_count(settings.lake_uri)
    outcome["no_history"] = _no_history(args.files, taken)
    summary = _summary(settings, taken, outcome, credentials, pending_albums)
    if not idle:
        marker.record(settings.lake_uri, up_to_date=summary["success"] and not (credentials and pending_albums))
    print(json.dumps(summary, indent=2, default=str) if args.json else _text_summary(summary))
    return 0 if summary["success"] else 1


def _no_history(files: list[Path], taken) -> str | None:
    """The failure line for folders named on the command line that hold no play history at all."""
    if not files or not taken.skipped or taken.files or taken.known or taken.quarantined:
        return None
    return (f"{', '.join(map(str, files))}: no play history among its {len(taken.skipped)} files; expected "
            "Spotify's StreamingHistory*.json / Streaming_History_Audio_*.json files or the export ZIP")


def _execute(args, settings, landing, taken, ingested: set[str], home: Path, now: datetime,
             credentials: bool) -> dict:
    """The Dagster runs of this invocation (none when nothing is new or stale)."""
    import dagster as dg

    from . import runner
    from .definitions import build_definitions
    from .progress import Progress
    from .run_events import EventLogFile

    defs = build_definitions(settings, interactive=True)
    names = {landing_file.key: landing_file.path.name for landing_file in taken.files}
    log: list[EventLogFile] = []

    def write_log(entry) -> None:
        if not log:
            log.append(EventLogFile(home / "logs", now=now))
        log[0].write(entry)

    progress = Progress(sys.stderr, tty=sys.stderr.isatty(), labels=_labels(names), also=write_log)
    if not args.verbose:
        progress.start()
    with dg.DagsterInstance.get() as instance:
        if args.whole_process:
            gc.freeze()  # the imported code lives as long as the process: no collection walks it again
        try:
            report = runner.run_files(
                defs, instance, landing, settings.lake_uri, [], "DEBUG" if args.verbose else "CRITICAL",
                files=taken.files, ingested=ingested, retry_pending_album_art=credentials,
                watcher=(lambda *run: write_log) if args.verbose else progress.watcher,
            )
        finally:
            progress.close()
            if log:
                log[0].close()
    refused = _quarantine_refused(report, landing, now)
    return {"report": report, "log": str(log[0].path) if log else None, "refused": refused, "names": names}


def _labels(names: dict[str, str]):
    """How progress names a run: its file, or what it brings up to date."""
    from .runner import ALBUM_ART_JOB, MODEL_JOB

    order = {key: index for index, key in enumerate(dict.fromkeys(names), start=1)}

    def label(job_name: str, partition: str | None) -> str:
        if job_name == MODEL_JOB:
            return "model, warehouse and report"
        name = names.get(partition or "", partition or job_name)
        if job_name == ALBUM_ART_JOB:
            return f"album art for {name}"
        return f"[{order[partition]}/{len(order)}] {name}" if partition in order else name

    return label


def _quarantine_refused(report, landing, now: datetime) -> list[dict]:
    """Landing files the ingest refused although the sniff let them through (a large file is sniffed
    on its head only): moved to quarantine like any refused file."""
    from .intake import QUARANTINED_BY
    from .resources.landing import quarantine

    refused = []
    for run in report.runs:
        for failure in run["failed_steps"]:
            path = Path(failure.get("file") or "")
            if failure["step"] == REFUSING_STEP and path.parent == landing.root and path.is_file():
                moved = quarantine(path, failure["message"], now=now, by=QUARANTINED_BY)
                refused.append({"file": str(path), "moved_to": str(moved), "reason": failure["message"]})
    return refused


REFUSING_STEP = "raw_plays"  # fails with dg.Failure(metadata={"file": ...}) when the parser refuses a file


def _summary(settings, taken, outcome: dict, credentials: bool, pending_albums: int) -> dict:
    from . import runner
    from .assets.report import REPORT_FILE_NAME
    from .settings import mask_url

    report = outcome["report"]
    report_file = Path(settings.report_dir) / REPORT_FILE_NAME
    quarantined = taken.quarantined + outcome["refused"]
    failures = _failure_lines(report, outcome, quarantined)
    album_art = {
        "pending": pending_albums,
        "credentials": credentials,
        "retry_after": next((match[1] for line in failures if (match := RETRY_AFTER.search(line))), None),
    }
    registrations = taken.known + report.registrations
    return {
        "success": report.success and not quarantined and not outcome["no_history"],
        "report": str(report_file.resolve()) if report_file.exists() else None,
        "lake": str(Path(settings.lake_uri).resolve()) if "://" not in settings.lake_uri else settings.lake_uri,
        "warehouse": mask_url(settings.warehouse_url),
        "tables": runner.table_counts(settings.lake_uri),
        "files": _file_summary(registrations, runner.accounting(settings.lake_uri), report.runs),
        "runs": [{key: value for key, value in run.items() if key != "failed_steps"} for run in report.runs],
        "nothing_new": bool(taken.known) and not (taken.files or taken.quarantined or report.runs),
        "skipped": taken.skipped,
        "quarantined": quarantined,
        "failures": failures,
        "album_art": album_art,
        "log": outcome["log"],
    }


WHAT_TO_DO = {
    "ingest": "fix or replace the file, then run again",
    "album_art": "the next run resumes the lookup",
    "tables": "the next run tries again",
}


def _failure_lines(report, outcome: dict, quarantined: list[dict]) -> list[str]:
    """One line per failure: the file or step, what went wrong, what to do."""
    names = outcome["names"]
    details = f"full error in {outcome['log']}" if outcome["log"] else "details with --verbose"
    lines = [
        f"{_naming(item['file'], item['reason'])} -> moved to {item['moved_to']} "
        "(with a .reason.txt); fix or replace it and run again"
        for item in quarantined
    ]
    if outcome["no_history"]:
        lines.append(outcome["no_history"])
    moved = {Path(item["file"]).name for item in outcome["refused"]}
    for run in report.runs:
        file = names.get(run["partition"] or "", run["partition"])
        by_message: dict[tuple[str, str], list[str]] = {}
        for failure in run["failed_steps"]:
            if failure["step"] == REFUSING_STEP and Path(failure.get("file") or "").name in moved:
                continue  # already said, with where it went
            by_message.setdefault((failure.get("stage", "tables"), failure["message"]), []).append(failure["step"])
        for (stage, message), steps in by_message.items():
            subject = f"{file} ({', '.join(steps)})" if stage != "tables" and file else ", ".join(steps)
            lines.append(f"{subject}: {message}; {WHAT_TO_DO[stage]} ({details})")
    return lines


def _naming(file: str, text: str) -> str:
    """`text`, prefixed with the file's name unless it starts with it."""
    name = Path(file).name
    return text if text.startswith(name) else f"{name}: {text}"


def _file_summary(registrations, accounting: list[dict], runs: list[dict]) -> list[dict]:
    by_key = {row["landing_file"]: row for row in accounting}
    failed = {run["partition"] for run in runs
              for failure in run["failed_steps"] if failure.get("stage") == "ingest"}
    return [
        {"file": str(reg.path), "landing_file": reg.key, "registration": reg.status, "failed": reg.key in failed,
         **{name: value for name, value in by_key.get(reg.key, {}).items() if name != "landing_file"}}
        for reg in registrations
    ]


def _text_summary(summary: dict) -> str:
    lines = ["", "Tables in the lake (rows):"]
    lines += [f"  {name:<16} {rows:>12,}" for name, rows in summary["tables"].items()]
    lines += ["", f"  {'file':<40} {'read':>9} {'clean':>9} {'filtered':>9} {'duplicate':>9} {'rejected':>9}"]
    for row in summary["files"]:
        name = Path(row["file"]).name + (" (same bytes)" if row["registration"] == "same_bytes" else "")
        name = f"{name[:33]} FAILED" if row["failed"] else name
        lines.append(
            f"  {name[:40]:<40} " + " ".join(f"{row.get(k, 0):>9,}" for k in
                                            ("rows_read", "clean", "filtered", "duplicate", "rejected"))
        )
    lines.append("")
    if summary["nothing_new"]:
        count = len(summary["files"])
        lines.append(f"Nothing new: {'the file is' if count == 1 else f'all {count} files are'} in the lake "
                     "already; nothing was written.")
    if skipped := summary["skipped"]:
        names = [Path(item["file"]).name for item in skipped]
        shown = ", ".join(names[:SKIPPED_NAMES_SHOWN]) + (
            f" and {len(names) - SKIPPED_NAMES_SHOWN} more" if len(names) > SKIPPED_NAMES_SHOWN else "")
        lines.append(f"Skipped {len(names)} file{'s' if len(names) > 1 else ''} that "
                     f"{'are' if len(names) > 1 else 'is'} not a play history: {shown}")
    lines += [f"FAILED {line}" for line in summary["failures"]]
    if summary["album_art"]["pending"]:
        lines.append(_album_art_line(summary["album_art"]))
    lines += ["", f"Lake:      {summary['lake']}", f"Warehouse: {summary['warehouse']}"]
    if summary["report"]:
        lines.append(f"Report:    {summary['report']}")
    if summary["log"]:
        lines.append(f"Log:       {summary['log']}")
    lines.append("UI:        make dev   (dagster dev on workspace.yaml, http://127.0.0.1:3000)")
    return "\n".join(lines)


def _album_art_line(album_art: dict) -> str:
    pending = album_art["pending"]
    text = f"Album art: {pending:,} album{'s' if pending != 1 else ''} still pending"
    if not album_art["credentials"]:
        return text + " (no Spotify credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, then run again)"
    if album_art["retry_after"]:
        return text + f"; Spotify's quota allows the next try after {album_art['retry_after']}: run again then"
    return text + "; the next run tries them again"


def main(argv: list[str] | None = None) -> int:
    """The console script (`argv` None: the process is ours) or an in-process call (`argv` given)."""
    args = _parser().parse_args(argv)
    args.whole_process = argv is None
    code = _sample(args) if args.command == "sample" else _run(args)
    if args.whole_process:
        gc.freeze()  # exit without a last collection over every object Dagster made (~0.6 s)
    return code


if __name__ == "__main__":
    sys.exit(main())
