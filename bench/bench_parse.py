"""Parse benchmark: reading one history file into raw_plays rows, as the ingest does.

Each case writes its file once (cached under bench/out), then in a fresh child process reads it
with `read_history_file` and sinks the rows to Parquet (what the lake IO manager does with
`raw_plays`), and separately times `parse_timestamp` over the rows' `ts` (what cleaning will do).
Peak RSS is the child's VmHWM, reset after the imports (so it is the read's own, plus the
interpreter). CPU seconds (user + system, all threads) are reported beside wall time: on a shared
machine they move less with the load. For comparison it also times the previous `ts` rule (one
chrono format), which reads no spreadsheet form.

Cases:
- `basic`: a basic account-data music file, 100,000 records (`sample.write_basic_json`);
- `spreadsheet`: a Maven CSV as a US spreadsheet saves it, 10,000,000 rows (`,`, UTF-8 BOM, CRLF,
  `ts` as `7/8/2013 2:44`: month first, no seconds), so the date order is decided from the values;
- `maven`: the canonical Maven CSV, 10,000,000 rows, for comparison.

    python bench/bench_parse.py                      # every case
    python bench/bench_parse.py --case basic spreadsheet
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
SEED = 11
CASES = {"basic": 100_000, "spreadsheet": 10_000_000, "maven": 10_000_000}


def input_file(case: str) -> Path:
    from spotify_assets import sample

    rows = CASES[case]
    path = (
        OUT
        / {
            "basic": f"StreamingHistory_music_{rows}.json",
            "spreadsheet": f"spreadsheet_us_{rows}.csv",
            "maven": f"history_{rows}.csv",
        }[case]
    )
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    started = time.perf_counter()
    if case == "basic":  # the whole history as basic records: exactly `rows` music plays
        sample.write_basic_json(path, rows, SEED, days=100 * 365)
    elif case == "maven":
        sample.write_maven_csv(path, rows, SEED)
    else:
        _write_spreadsheet_csv(path, rows)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    return path


def _write_spreadsheet_csv(path: Path, rows: int) -> None:
    import polars as pl

    from spotify_assets import sample

    upper = {True: "TRUE", False: "FALSE"}
    sample.generate_plays(rows, SEED).with_columns(
        pl.col("ts").dt.strftime("%-m/%-d/%Y %-H:%M"),
        pl.col("shuffle", "skipped").replace_strict(upper, return_dtype=pl.String),
    ).write_csv(path, include_bom=True, line_terminator="\r\n")


def previous_rule(text):
    """clean.py's `ts` rule before issue 11 (one chrono format), for comparison."""
    return (
        text.str.replace("T", " ", literal=True)
        .str.strip_suffix("Z")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def measure(path: Path) -> dict:
    """Runs in the child process."""
    import polars as pl

    from spotify_assets.transforms.parse import read_history_file
    from spotify_assets.transforms.timestamps import parse_timestamp

    Path("/proc/self/clear_refs").write_text("5")  # peak RSS from here on
    with tempfile.TemporaryDirectory(prefix="bench_parse_") as folder:
        started, cpu = time.perf_counter(), _cpu_seconds()
        read = read_history_file(path)
        rows_path = Path(folder) / "raw_plays.parquet"
        read.plays.sink_parquet(rows_path)
        read_seconds, read_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        read_peak = _kib("VmHWM")
        raw = pl.scan_parquet(rows_path)
        rows, date_order, source_format = (
            raw.select(pl.len(), pl.col("date_order").first(), pl.col("source_format").first())
            .collect()
            .row(0)
        )
        Path("/proc/self/clear_refs").write_text("5")
        started, cpu = time.perf_counter(), _cpu_seconds()
        parsed = parse_timestamp(pl.col("ts"), pl.col("date_order"))
        unreadable = raw.select(parsed.is_null().sum()).collect().item()
        parse_seconds, parse_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        started, cpu = time.perf_counter(), _cpu_seconds()
        raw.select(previous_rule(pl.col("ts")).is_null().sum()).collect()
        previous_seconds, previous_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        return {
            "file": path.name,
            "megabytes": round(path.stat().st_size / 1e6),
            "rows": rows,
            "source_format": source_format,
            "date_order": date_order,
            "read_seconds": round(read_seconds, 2),
            "read_cpu_seconds": round(read_cpu, 2),
            "read_peak_gb": round(read_peak / 1024**2, 2),
            "ts_parse_seconds": round(parse_seconds, 2),
            "ts_parse_cpu_seconds": round(parse_cpu, 2),
            "ts_parse_peak_gb": round(_kib("VmHWM") / 1024**2, 2),
            "ts_unreadable": unreadable,
            "ts_previous_rule_seconds": round(previous_seconds, 2),
            "ts_previous_rule_cpu_seconds": round(previous_cpu, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", choices=list(CASES), default=list(CASES))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    for case in args.case:
        path = input_file(case)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"case": case, **result}))


if __name__ == "__main__":
    main()
