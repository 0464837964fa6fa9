"""Warehouse load benchmark: raw LOAD DATA LOCAL INFILE versus the warehouse IO manager, same run.

    .venv/bin/python bench/bench_warehouse.py [--rows 150000 10000000] [--url mysql://root@127.0.0.1:3306]

For each size: a fact_streams-shaped frame (random keys resolving to real dimension rows) is
(1) written to a TSV by Polars, untimed, in lake order, then loaded with one raw `LOAD DATA LOCAL
INFILE` into an empty table with the primary key and the 3 BI indexes (date, track, artist) and no
foreign keys: the issue's reference setup, and
(2) published by `WarehouseIOManager.handle_output` end to end (collect, sort, file, load, row
count and warnings check, atomic swap), first into an empty warehouse, then over the previous
version. Prints rows/s and the IO manager / raw ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import dagster as dg
import polars as pl
import pymysql

from spotify_assets.io_managers.warehouse import WarehouseIOManager
from spotify_assets.resources.warehouse import Warehouse, _load_frame
from spotify_assets.tables import (
    DIM_ALBUM, DIM_ARTIST, DIM_DATE, DIM_PLATFORM, DIM_REASON, DIM_TRACK, FACT_STREAMS,
)

DIMENSION_SIZES = {"artist": 2_000, "album": 5_000, "track": 20_000, "platform": 12, "reason": 30}


def dimensions() -> dict[str, pl.DataFrame]:
    def keys(count: int, seed: int) -> pl.Series:
        return pl.int_range(count, eager=True).hash(seed).reinterpret(signed=True)

    artists = pl.DataFrame({"artist_key": keys(DIMENSION_SIZES["artist"], 1)}).with_columns(
        artist_name=pl.format("Artist {} 😀", pl.int_range(pl.len())))
    albums = pl.DataFrame({"album_key": keys(DIMENSION_SIZES["album"], 2)}).with_columns(
        album_name=pl.format("Album {}", pl.int_range(pl.len())),
        artist_key=artists["artist_key"].gather(pl.int_range(DIMENSION_SIZES["album"], eager=True)
                                                % DIMENSION_SIZES["artist"]),
        content_type=pl.lit("track"), sample_track_id=pl.lit("0" * 22), first_landing_file=pl.lit("f"))
    track_index = pl.int_range(DIMENSION_SIZES["track"], eager=True)
    tracks = pl.DataFrame({"track_key": keys(DIMENSION_SIZES["track"], 3)}).with_columns(
        track_id=pl.format("T{}", pl.int_range(pl.len())), track_uri=pl.lit("spotify:track:x"),
        track_name=pl.format("Track {} — 中文", pl.int_range(pl.len())), content_type=pl.lit("track"),
        artist_key=artists["artist_key"].gather(track_index % DIMENSION_SIZES["artist"]),
        album_key=albums["album_key"].gather(track_index % DIMENSION_SIZES["album"]))
    days = pl.date_range(datetime(2012, 1, 1), datetime(2025, 12, 31), eager=True)
    dates = pl.DataFrame({"date": days}).with_columns(
        date_key=pl.col("date").dt.strftime("%Y%m%d").cast(pl.Int32), year=pl.col("date").dt.year(),
        quarter=pl.col("date").dt.quarter(), month=pl.col("date").dt.month(),
        month_name=pl.col("date").dt.strftime("%B"), day=pl.col("date").dt.day(),
        weekday=pl.col("date").dt.weekday(), weekday_name=pl.col("date").dt.strftime("%A"),
        iso_week=pl.col("date").dt.week(), is_weekend=pl.col("date").dt.weekday() >= 6)
    platforms = pl.DataFrame({"platform_key": keys(DIMENSION_SIZES["platform"], 4)}).with_columns(
        platform=pl.format("platform {}", pl.int_range(pl.len())), platform_family=pl.lit("android"))
    reasons = pl.DataFrame({"reason_key": keys(DIMENSION_SIZES["reason"], 5)}).with_columns(
        reason_start=pl.lit("trackdone"), reason_end=pl.format("end {}", pl.int_range(pl.len())))
    return {"dim_artist": artists, "dim_album": albums, "dim_track": tracks, "dim_date": dates,
            "dim_platform": platforms, "dim_reason": reasons}


def fact_frame(rows: int, dims: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """fact_streams-shaped rows in lake order (not sorted by key), every foreign key resolving."""
    index = pl.int_range(rows, eager=True)
    track = index.hash(11) % DIMENSION_SIZES["track"]
    tracks = dims["dim_track"]
    start = int(datetime(2012, 1, 1, tzinfo=timezone.utc).timestamp() * 1e6)
    span = int(13.9 * 365 * 86400 * 1e6)
    return pl.DataFrame({"index": index}).with_columns(
        play_key=pl.col("index").hash(7).reinterpret(signed=True),
        ts_utc=pl.from_epoch(pl.col("index").hash(8) % span + start, time_unit="us").dt.replace_time_zone("UTC"),
        track_key=tracks["track_key"].gather(track), artist_key=tracks["artist_key"].gather(track),
        album_key=tracks["album_key"].gather(track),
        platform_key=dims["dim_platform"]["platform_key"].gather(index % DIMENSION_SIZES["platform"]),
        reason_key=dims["dim_reason"]["reason_key"].gather(index % DIMENSION_SIZES["reason"]),
        ms_played=(pl.col("index").hash(9) % 300_000).cast(pl.Int64),
        shuffle=pl.col("index") % 2 == 0, skipped=pl.col("index") % 5 == 0,
        offline=pl.col("index") % 7 == 0, incognito_mode=pl.col("index") % 11 == 0,
        content_type=pl.lit("track"),
        source_file=pl.lit("Spotify Extended Streaming History/Streaming_History_Audio_2019-2021_3.json"),
        landing_file=pl.format("Streaming_History_Audio_{}-1a2b3c4d", pl.col("index") // 20_000),
    ).with_columns(
        date_key=pl.col("ts_utc").dt.strftime("%Y%m%d").cast(pl.Int32), hour=pl.col("ts_utc").dt.hour(),
    ).select(FACT_STREAMS.column_names)


def raw_load(warehouse: Warehouse, frame: pl.DataFrame) -> float:
    """Seconds of one LOAD DATA LOCAL INFILE into an empty table with a primary key and 3 indexes."""
    connection = warehouse.connection()
    with connection.cursor() as cursor, tempfile.TemporaryDirectory() as directory:
        cursor.execute("DROP TABLE IF EXISTS fact_streams_raw")
        cursor.execute(warehouse.create_table_sql(FACT_STREAMS, "fact_streams_raw", keys_only=True))
        cursor.execute("ALTER TABLE fact_streams_raw "
                       + ", ".join(f"ADD KEY ix_{column} ({column})" for (column,) in FACT_STREAMS.indexes))
        path = os.path.join(directory, "fact.tsv")
        # The IO manager's text forms (datetime text, 0/1 booleans), shuffled back to lake order:
        # play_key is a hash, so lake order is random with respect to the primary key.
        file_frame = _load_frame(FACT_STREAMS, frame).sample(fraction=1.0, shuffle=True, seed=1)
        file_frame.write_csv(path, separator="\t", quote_style="non_numeric", null_value="NULL",
                             include_header=False)
        started = time.perf_counter()
        loaded = cursor.execute(
            "LOAD DATA LOCAL INFILE %s INTO TABLE fact_streams_raw CHARACTER SET utf8mb4 FIELDS "
            "TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'",
            (path,))
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE fact_streams_raw")
    assert loaded == frame.height, (loaded, frame.height)
    return seconds


def io_manager_publish(io_manager: WarehouseIOManager, frame: pl.DataFrame) -> float:
    context = dg.build_output_context(asset_key=dg.AssetKey(["warehouse", "fact_streams"]))
    started = time.perf_counter()
    io_manager.handle_output(context, frame.lazy())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[150_000])
    parser.add_argument("--url", default=os.environ.get("SPOTIFY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"))
    arguments = parser.parse_args()

    database = f"bench_warehouse_{uuid.uuid4().hex[:8]}"
    server = urlsplit(arguments.url)
    admin = pymysql.connect(host=server.hostname, port=server.port or 3306, user=server.username or "root",
                            password=server.password or "", autocommit=True)
    warehouse = Warehouse(url=f"{arguments.url.rstrip('/')}/{database}", read_timeout=3600)
    io_manager = WarehouseIOManager(warehouse=warehouse)
    try:
        dims = dimensions()
        for spec in (DIM_ARTIST, DIM_ALBUM, DIM_TRACK, DIM_DATE, DIM_PLATFORM, DIM_REASON):
            warehouse.publish(spec, dims[spec.name])
        print(f"{'rows':>11} {'raw LOAD s':>11} {'raw rows/s':>11} {'IO mgr s (new)':>15} "
              f"{'IO mgr s (swap)':>16} {'IO mgr rows/s':>14} {'ratio':>6}")
        for rows in arguments.rows:
            frame = fact_frame(rows, dims)
            first_seconds = io_manager_publish(io_manager, frame)
            swap_seconds = io_manager_publish(io_manager, frame)
            with warehouse.connection().cursor() as cursor:
                cursor.execute("DROP TABLE fact_streams")
            raw_seconds = raw_load(warehouse, frame)
            raw_rate, io_rate = rows / raw_seconds, rows / swap_seconds
            print(f"{rows:>11,} {raw_seconds:>11.2f} {raw_rate:>11,.0f} {first_seconds:>15.2f} "
                  f"{swap_seconds:>16.2f} {io_rate:>14,.0f} {io_rate / raw_rate:>6.0%}", flush=True)
    finally:
        warehouse.close()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()


if __name__ == "__main__":
    main()
