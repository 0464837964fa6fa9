"""The `spotify-assets` command: write a sample history, or run the platform in-process."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

SAMPLE_FORMATS = ("csv", "json", "zip", "basic", "account-zip")  # sample.SAMPLE_FORMATS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotify-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="write a realistic sample listening history")
    sample.add_argument("out", type=Path, help="file to write (a folder gets the format's usual file name)")
    sample.add_argument("--rows", type=int, default=150_000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--format", choices=SAMPLE_FORMATS, default="csv",
                        help="csv: Maven Analytics; json/zip: Spotify Extended Streaming History; "
                        "basic/account-zip: Spotify's basic account data (the last year of that history)")
    run = commands.add_parser("run", help="ingest history files and materialize every asset")
    run.add_argument("files", nargs="*", type=Path, help="default: every file in SPOTIFY_LANDING_DIR")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    run.add_argument("--verbose", action="store_true", help="show every Dagster event, not only warnings")
    return parser


def _sample(args: argparse.Namespace) -> int:
    from . import sample

    out = sample.write_sample(args.format, args.out, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows:,} plays to {out}")
    return 0


def _instance():
    import dagster as dg

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path("data/dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copy(Path(__file__).parent / "dagster.yaml", config)
    return dg.DagsterInstance.get()


def _run(args: argparse.Namespace) -> int:
    from . import runner
    from .assets.report import REPORT_FILE_NAME
    from .definitions import build_definitions
    from .io_managers.location import lake_location
    from .resources.landing import LandingFolder
    from .settings import Settings, mask_url

    settings = Settings.from_env()
    defs = build_definitions(settings, interactive=True)
    landing = LandingFolder(path=settings.landing_dir)
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"spotify-assets: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    paths = args.files or landing.files()
    if not paths:
        print(f"spotify-assets: no history files in {landing.root}; drop one there or name it", file=sys.stderr)
        return 2
    lake = lake_location(settings)
    with _instance() as instance:
        report = runner.run_files(
            defs, instance, landing, lake, paths, "DEBUG" if args.verbose else "WARNING"
        )
    report_file = Path(settings.report_dir) / REPORT_FILE_NAME
    summary = {
        "success": report.success,
        "report": str(report_file.resolve()) if report_file.exists() else None,
        "lake": str(Path(settings.lake_uri).resolve()) if "://" not in settings.lake_uri else settings.lake_uri,
        "warehouse": mask_url(settings.warehouse_url),
        "tables": runner.table_counts(lake),
        "files": _file_summary(report, runner.accounting(lake)),
        "runs": report.runs,
    }
    print(json.dumps(summary, indent=2, default=str) if args.json else _text_summary(summary))
    return 0 if report.success else 1


def _file_summary(report, accounting: list[dict]) -> list[dict]:
    by_key = {row["landing_file"]: row for row in accounting}
    return [
        {"file": str(reg.path), "landing_file": reg.key, "registration": reg.status,
         **{name: value for name, value in by_key.get(reg.key, {}).items() if name != "landing_file"}}
        for reg in report.registrations
    ]


def _text_summary(summary: dict) -> str:
    lines = ["", "Tables in the lake (rows):"]
    lines += [f"  {name:<16} {rows:>12,}" for name, rows in summary["tables"].items()]
    lines += ["", f"  {'file':<40} {'read':>9} {'clean':>9} {'filtered':>9} {'duplicate':>9} {'rejected':>9}"]
    for row in summary["files"]:
        name = Path(row["file"]).name + ("" if row["registration"] != "same_bytes" else " (same bytes)")
        lines.append(
            f"  {name[:40]:<40} " + " ".join(f"{row.get(k, 0):>9,}" for k in
                                            ("rows_read", "clean", "filtered", "duplicate", "rejected"))
        )
    for run in summary["runs"]:
        for failure in run["failures"]:
            lines.append(f"  FAILED {run['job']} [{run['partition'] or '-'}] {failure}")
    lines += ["", f"Lake:      {summary['lake']}", f"Warehouse: {summary['warehouse']}"]
    if summary["report"]:
        lines.append(f"Report:    {summary['report']}")
    lines.append("UI:        make dev   (dagster dev on workspace.yaml, http://127.0.0.1:3000)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _sample(args) if args.command == "sample" else _run(args)


if __name__ == "__main__":
    sys.exit(main())
