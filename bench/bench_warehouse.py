"""Warehouse publish benchmark: from scratch, a new landing file, and nothing new (issue 12).

    PYTHONPATH=. .venv/bin/python bench/bench_warehouse.py [--rows 10000000] [--files 50] [--new-rows 10000]
        [--dialects sqlite mysql] [--url mysql://root@127.0.0.1:3306 | --start-mariadb 2G]
        [--load-connections 1]

A lake is written once (untimed) with the project's Delta writer: six dimensions (2,000 artists,
5,000 albums, 20,000 tracks, 14 years of dates) and a fact_streams-shaped table of `--rows` plays
with random 64-bit keys, Delta-partitioned by landing_file into `--files` files, as the model will
write it. Then, per dialect, into an empty warehouse (a new SQLite file; a new MySQL database):
1. publish from scratch: every table created and bulk-loaded (`Warehouse.publish`, the code the
   warehouse IO manager runs);
2. a new landing file of `--new-rows` plays, with 10 new tracks (dim_track rewritten whole, as the
   model does): publish again, which loads that partition and upserts the new track rows;
3. publish again with nothing new.
Prints wall seconds, this process's CPU seconds (all of SQLite's work), the MySQL server's CPU
seconds when it runs on this machine (read from /proc by the pid file it reports), the load
average, rows written and the phases of each publish. `--start-mariadb SIZE` runs MySQL against a
throw-away MariaDB started for the run with that InnoDB buffer pool (as AWS RDS sizes it from the
instance's memory) instead of the server at `--url`. `--load-connections N`: the Warehouse's
`load_connections` (MySQL connections loading a whole table's chunks at once).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pymysql

from spotify_assets.io_managers.delta import write_table
from spotify_assets.resources.warehouse import BI_VIEWS, PublishRequest, Warehouse, read_lake_table
from spotify_assets.tables import (
    DIM_ALBUM,
    DIM_ARTIST,
    DIM_DATE,
    DIM_PLATFORM,
    DIM_REASON,
    DIM_RECORDING,
    DIM_TRACK,
    FACT_STREAMS,
    WAREHOUSE_TABLES,
)
from spotify_assets_tests.mariadb_server import mariadb_server
from spotify_assets_tests.warehouse_data import date_rows

DIMENSION_SIZES = {"artist": 2_000, "album": 5_000, "track": 20_000, "platform": 12, "reason": 30}
FACT = replace(FACT_STREAMS, partitioned=True)  # as the model will write it
TABLES = tuple(FACT if spec.name == FACT.name else spec for spec in WAREHOUSE_TABLES)


def dimensions(extra_tracks: int = 0) -> dict[str, pl.DataFrame]:
    def keys(count: int, seed: int) -> pl.Series:
        return pl.int_range(count, eager=True).hash(seed).reinterpret(signed=True)

    artists = pl.DataFrame({"artist_key": keys(DIMENSION_SIZES["artist"], 1)}).with_columns(
        artist_name=pl.format("Artist {} 😀", pl.int_range(pl.len()))
    )
    albums = pl.DataFrame({"album_key": keys(DIMENSION_SIZES["album"], 2)}).with_columns(
        album_name=pl.format("Album {}", pl.int_range(pl.len())),
        artist_key=artists["artist_key"].gather(
            pl.int_range(DIMENSION_SIZES["album"], eager=True) % DIMENSION_SIZES["artist"]
        ),
        content_type=pl.lit("track"),
        sample_track_id=pl.lit("0" * 22),
        first_landing_file=pl.lit("f"),
    )
    track_count = DIMENSION_SIZES["track"] + extra_tracks
    track_index = pl.int_range(track_count, eager=True)
    tracks = (
        pl.DataFrame({"track_key": keys(track_count, 3)})
        .with_columns(
            track_id=pl.format("T{}", pl.int_range(pl.len())),
            track_uri=pl.lit("spotify:track:x"),
            track_name=pl.format("Track {} — 中文", pl.int_range(pl.len())),
            content_type=pl.lit("track"),
            artist_key=artists["artist_key"].gather(track_index % DIMENSION_SIZES["artist"]),
            album_key=albums["album_key"].gather(track_index % DIMENSION_SIZES["album"]),
        )
        # no ISRC known: each track is its own recording
        .with_columns(recording_key=pl.col("track_key"))
    )
    # not looked up yet: the Web API's columns are null
    tracks = tracks.with_columns(
        pl.lit(None, dtype).alias(name)
        for name, dtype in DIM_TRACK.polars_schema().items()
        if name not in tracks.columns
    )
    recordings = tracks.select(
        "recording_key",
        pl.lit(None, pl.String).alias("isrc"),
        pl.col("track_name").alias("recording_name"),
        "artist_key",
        pl.col("track_key").alias("sample_track_key"),
        pl.lit(1, pl.Int64).alias("track_ids"),
        "content_type",
    )
    dates = date_rows(date(2012, 1, 1), date(2025, 12, 31))
    platforms = pl.DataFrame({"platform_key": keys(DIMENSION_SIZES["platform"], 4)}).with_columns(
        platform=pl.format("platform {}", pl.int_range(pl.len())), platform_family=pl.lit("android")
    )
    reasons = pl.DataFrame({"reason_key": keys(DIMENSION_SIZES["reason"], 5)}).with_columns(
        reason_start=pl.lit("trackdone"), reason_end=pl.format("end {}", pl.int_range(pl.len()))
    )
    return {
        "dim_artist": artists,
        "dim_album": albums,
        "dim_recording": recordings,
        "dim_track": tracks,
        "dim_date": dates,
        "dim_platform": platforms,
        "dim_reason": reasons,
    }


def fact_frame(
    rows: int, dims: dict[str, pl.DataFrame], *, first: int = 0, tracks_from: int = 0
) -> pl.LazyFrame:
    """fact_streams-shaped rows (numbers first .. first + rows) in lake order, every key resolving."""
    tracks = dims["dim_track"]
    track_count = tracks.height - tracks_from
    start = int(datetime(2012, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    span = int(13.9 * 365 * 86400 * 1e6)
    index = pl.int_range(first, first + rows, eager=True)
    track = (index.hash(11) % track_count + tracks_from).cast(pl.Int64)
    return (
        pl.LazyFrame({"index": index, "track": track})
        .with_columns(
            play_key=pl.col("index").hash(7).reinterpret(signed=True),
            ts_utc=pl.from_epoch(pl.col("index").hash(8) % span + start, time_unit="us").dt.replace_time_zone(
                "UTC"
            ),
            track_key=tracks["track_key"].gather(track),
            artist_key=tracks["artist_key"].gather(track),
            album_key=tracks["album_key"].gather(track),
            platform_key=dims["dim_platform"]["platform_key"].gather(index % DIMENSION_SIZES["platform"]),
            reason_key=dims["dim_reason"]["reason_key"].gather(index % DIMENSION_SIZES["reason"]),
            ms_played=(pl.col("index").hash(9) % 300_000).cast(pl.Int64),
            shuffle=pl.col("index") % 2 == 0,
            skipped=pl.col("index") % 5 == 0,
            offline=pl.col("index") % 7 == 0,
            incognito_mode=pl.col("index") % 11 == 0,
            content_type=pl.lit("track"),
            source_file=pl.lit("Spotify Extended Streaming History/Streaming_History_Audio_2019-2021_3.json"),
            source_format=pl.lit("extended_json"),
        )
        .with_columns(
            date_key=pl.col("ts_utc").dt.strftime("%Y%m%d").cast(pl.Int32),
            hour=pl.col("ts_utc").dt.hour(),
            landing_file=pl.lit(""),
        )
        .select(FACT.column_names)
    )


def write_lake(lake_uri: str, rows: int, files: int) -> dict[str, pl.DataFrame]:
    dims = dimensions()
    for spec in (DIM_ARTIST, DIM_ALBUM, DIM_RECORDING, DIM_TRACK, DIM_DATE, DIM_PLATFORM, DIM_REASON):
        write_table(lake_uri, spec, dims[spec.name])
    per_file = -(-rows // files)
    for number in range(files):
        first = number * per_file
        count = min(per_file, rows - first)
        write_table(
            lake_uri,
            FACT,
            fact_frame(count, dims, first=first),
            f"Streaming_History_Audio_{number:04d}-1a2b3c4d",
        )
    return dims


def add_new_file(lake_uri: str, rows: int, new_rows: int) -> None:
    """A new landing file whose plays include 10 tracks never heard before."""
    dims = dimensions(extra_tracks=10)
    write_table(lake_uri, DIM_RECORDING, dims["dim_recording"])
    write_table(lake_uri, DIM_TRACK, dims["dim_track"])
    write_table(
        lake_uri,
        FACT,
        fact_frame(new_rows, dims, first=rows, tracks_from=DIMENSION_SIZES["track"] - 100),
        "Streaming_History_Audio_new-9f8e7d6c",
    )


def server_cpu_seconds(warehouse: Warehouse) -> float | None:
    """User + system CPU seconds of a MySQL server on this machine; None for SQLite or elsewhere."""
    if warehouse.dialect != "mysql":
        return None
    try:
        pid = Path(warehouse.query("SELECT @@pid_file")[0][0]).read_text().split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publish(warehouse: Warehouse, lake_uri: str, label: str) -> dict:
    server_before = server_cpu_seconds(warehouse)
    started, cpu = time.perf_counter(), time.process_time()
    request = PublishRequest(tables=tuple(read_lake_table(lake_uri, spec) for spec in TABLES), views=BI_VIEWS)
    report = warehouse.publish(request, log=logging.getLogger("bench"))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = server_cpu_seconds(warehouse)
    server = (
        f", server CPU {server_after - server_before:.2f} s"
        if server_before is not None and server_after is not None
        else ""
    )
    written = {
        name: (outcome.action, outcome.rows_written, outcome.rows_deleted)
        for name, outcome in report.tables.items()
        if outcome.action != "unchanged"
    }
    print(
        f"  {label:<16} {seconds:8.2f} s (this process's CPU {cpu:.2f} s{server}, "
        f"load {os.getloadavg()[0]:.1f})   "
        f"wrote: {written or 'nothing'}",
        flush=True,
    )
    print(f"  {'':<16} phases: {report.phase_seconds}", flush=True)
    return {"seconds": seconds, "report": report}


def run_dialect(url: str, lake_uri: str, rows: int, new_rows: int, load_connections: int = 1) -> None:
    warehouse = Warehouse(url=url, read_timeout=3600, load_connections=load_connections)
    print(f"{warehouse.dialect}: {warehouse.masked_url}", flush=True)
    try:
        publish(warehouse, lake_uri, "from scratch")
        add_new_file(lake_uri, rows, new_rows)
        publish(warehouse, lake_uri, f"new file {new_rows:,}")
        publish(warehouse, lake_uri, "nothing new")
    finally:
        warehouse.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--new-rows", type=int, default=10_000)
    parser.add_argument("--dialects", nargs="+", default=["sqlite", "mysql"], choices=["sqlite", "mysql"])
    parser.add_argument(
        "--url", default=os.environ.get("SPOTIFY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
    )
    parser.add_argument(
        "--load-connections", type=int, default=1, help="MySQL: connections loading a table's chunks"
    )
    parser.add_argument(
        "--start-mariadb", metavar="BUFFER_POOL", help="e.g. 2G: a throw-away server for the run"
    )
    arguments = parser.parse_args()
    print(
        f"{sys.version.split()[0]}, polars {pl.__version__}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="bench_warehouse_") as folder:
        for dialect in arguments.dialects:
            lake_uri = str(Path(folder) / f"lake_{dialect}")
            started = time.perf_counter()
            write_lake(lake_uri, arguments.rows, arguments.files)
            print(
                f"lake: {arguments.rows:,} plays in {arguments.files} files written in "
                f"{time.perf_counter() - started:.1f} s (untimed)",
                flush=True,
            )
            if dialect == "sqlite":
                run_dialect(
                    f"sqlite:///{folder}/warehouse.sqlite", lake_uri, arguments.rows, arguments.new_rows
                )
                continue
            with contextlib.ExitStack() as stack:
                server_url = arguments.url
                if arguments.start_mariadb:
                    server_folder = Path(folder) / "mariadb"
                    server_folder.mkdir()
                    port, _ = stack.enter_context(
                        mariadb_server(
                            server_folder,
                            f"--innodb-buffer-pool-size={arguments.start_mariadb}",
                            "--innodb-log-file-size=512M",
                        )
                    )
                    server_url = f"mysql://root@127.0.0.1:{port}"
                    print(f"MariaDB started for the run, innodb_buffer_pool_size={arguments.start_mariadb}")
                run_mysql(
                    server_url, lake_uri, arguments.rows, arguments.new_rows, arguments.load_connections
                )


def run_mysql(server_url: str, lake_uri: str, rows: int, new_rows: int, load_connections: int) -> None:
    database = f"bench_warehouse_{uuid.uuid4().hex[:8]}"
    server = urlsplit(server_url)
    admin = pymysql.connect(
        host=server.hostname,
        port=server.port or 3306,
        user=server.username or "root",
        password=server.password or "",
        autocommit=True,
    )
    try:
        run_dialect(f"{server_url.rstrip('/')}/{database}", lake_uri, rows, new_rows, load_connections)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()


if __name__ == "__main__":
    main()
