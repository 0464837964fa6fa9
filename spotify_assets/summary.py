"""What `spotify-assets run` reports when it ends: one JSON object (`build`) or its text (`text`).

Rows per table and per file (a file whose ingest failed is marked FAILED), the files skipped and
quarantined, one line per failure (the file or step, what went wrong, what to do), album art still
pending and when Spotify's quota allows the next try, and where the lake, warehouse, report and log are.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import runner
from .runner import REFUSING_STEP
from .settings import mask_url

RETRY_AFTER = re.compile(r"retry after ((?:\d{4}-\d\d-\d\d )?\d{1,2}:\d\d UTC)")  # quota.quota_stop_reason
SKIPPED_NAMES_SHOWN = 8
NAME_WIDTH = 40  # the file column of the per-file table


def build(settings, lake, taken, outcome: dict, credentials: bool, lookups: dict) -> dict:
    """The summary of one invocation: `taken` is the intake, `outcome` what the runs did."""
    from .assets.report import REPORT_FILE_NAME

    report = outcome["report"]
    report_file = Path(settings.report_dir) / REPORT_FILE_NAME
    quarantined = taken.quarantined + outcome["refused"]
    accounting = runner.accounting(lake)
    # a file ingested by an earlier invocation is named as its accounting row names it, not by its key
    named = {row["landing_file"]: row["file_name"] for row in accounting} | outcome["names"]
    failures = _failure_lines(report, outcome | {"names": named}, quarantined)
    album_art = {
        "pending": lookups["albums_pending"],
        "tracks_pending": lookups["tracks_pending"],
        "credentials": credentials,
        "retry_after": next((match[1] for line in failures if (match := RETRY_AFTER.search(line))), None),
    }
    registrations = taken.known + report.registrations
    return {
        "success": report.success and not quarantined and not outcome["no_history"],
        "report": str(report_file.resolve()) if report_file.exists() else None,
        "lake": str(Path(settings.lake_uri).resolve())
        if "://" not in settings.lake_uri
        else settings.lake_uri,
        "warehouse": mask_url(settings.warehouse_url),
        "tables": runner.table_counts(lake),
        "files": _file_summary(registrations, accounting, report.runs),
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
            by_message.setdefault((failure.get("stage", "tables"), failure["message"]), []).append(
                failure["step"]
            )
        for (stage, message), steps in by_message.items():
            subject = f"{file} ({', '.join(steps)})" if stage != "tables" and file else ", ".join(steps)
            lines.append(f"{subject}: {message.rstrip('.')}; {WHAT_TO_DO[stage]} ({details})")
    return lines


def _naming(file: str, text: str) -> str:
    """`text`, prefixed with the file's name unless it starts with it."""
    name = Path(file).name
    return text if text.startswith(name) else f"{name}: {text}"


def _file_summary(registrations, accounting: list[dict], runs: list[dict]) -> list[dict]:
    by_key = {row["landing_file"]: row for row in accounting}
    failed = {
        run["partition"]
        for run in runs
        for failure in run["failed_steps"]
        if failure.get("stage") == "ingest"
    }
    return [
        {
            "file": str(reg.path),
            "landing_file": reg.key,
            "registration": reg.status,
            "failed": reg.key in failed,
            **{name: value for name, value in by_key.get(reg.key, {}).items() if name != "landing_file"},
        }
        for reg in registrations
    ]


def _label(name: str, suffix: str) -> str:
    """`name` and its `suffix` in NAME_WIDTH characters: the name is shortened, never the suffix."""
    room = NAME_WIDTH - len(suffix)
    return (name if len(name) <= room else name[: room - 1] + "…") + suffix


def text(summary: dict) -> str:
    """The summary as a person reads it."""
    lines = ["", "Tables in the lake (rows):"]
    lines += [f"  {name:<16} {rows:>12,}" for name, rows in summary["tables"].items()]
    lines += [
        "",
        f"  {'file':<{NAME_WIDTH}} {'read':>9} {'clean':>9} {'filtered':>9} {'duplicate':>9} {'rejected':>9}",
    ]
    for row in summary["files"]:
        suffix = " (same bytes)" if row["registration"] == "same_bytes" else ""
        name = _label(Path(row["file"]).name, suffix + (" FAILED" if row["failed"] else ""))
        lines.append(
            f"  {name:<{NAME_WIDTH}} "
            + " ".join(
                f"{row.get(k, 0):>9,}" for k in ("rows_read", "clean", "filtered", "duplicate", "rejected")
            )
        )
    lines.append("")
    if summary["nothing_new"]:
        count = len(summary["files"])
        lines.append(
            f"Nothing new: {'the file is' if count == 1 else f'all {count} files are'} in the lake "
            "already; nothing was written."
        )
    if skipped := summary["skipped"]:
        names = [Path(item["file"]).name for item in skipped]
        shown = ", ".join(names[:SKIPPED_NAMES_SHOWN]) + (
            f" and {len(names) - SKIPPED_NAMES_SHOWN} more" if len(names) > SKIPPED_NAMES_SHOWN else ""
        )
        lines.append(
            f"Skipped {len(names)} file{'s' if len(names) > 1 else ''} that "
            f"{'are' if len(names) > 1 else 'is'} not a play history: {shown}"
        )
    lines += [f"FAILED {line}" for line in summary["failures"]]
    if summary["album_art"]["pending"] or summary["album_art"]["tracks_pending"]:
        lines.append(_album_art_line(summary["album_art"]))
    lines += ["", f"Lake:      {summary['lake']}", f"Warehouse: {summary['warehouse']}"]
    if summary["report"]:
        lines.append(f"Report:    {summary['report']}")
    if summary["log"]:
        lines.append(f"Log:       {summary['log']}")
    lines.append("UI:        make dev   (dagster dev on workspace.yaml, http://127.0.0.1:3000)")
    return "\n".join(lines)


def _album_art_line(album_art: dict) -> str:
    albums, tracks = album_art["pending"], album_art["tracks_pending"]
    owed = [
        f"{count:,} {noun}{'s' if count != 1 else ''}"
        for count, noun in ((albums, "album"), (tracks, "track"))
        if count
    ]
    text = f"Spotify lookups: {' and '.join(owed)} still pending"
    if not album_art["credentials"]:
        return (
            text
            + " (no Spotify credentials: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, then run again)"
        )
    if album_art["retry_after"]:
        return (
            text + f"; Spotify's quota allows the next try after {album_art['retry_after']}: run again then"
        )
    return text + "; the next run tries them again"
