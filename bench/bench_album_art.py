"""Benchmark: album_art for 8,000 albums through single-id calls (issue 5).

The fake Spotify runs in its own process (as the real API would: its work does not compete with
the client for the GIL) in Development Mode with 50 ms latency per request. album_art is
materialized with Dagster against a temp lake, 8 workers, no rate limit; then materialized again.
Targets: first run <= 60 s wall with exactly 8,000 track requests (plus tokens); re-run 0 requests.

    .venv/bin/python bench/bench_album_art.py [--albums 8000] [--latency 0.05] [--workers 8]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl
import requests

from spotify_assets.assets.enrich import album_art
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.spotify import SpotifyApi
from spotify_assets.tables import ALBUM_ART, DIM_ALBUM
from spotify_assets_tests.fake_spotify import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, fake_catalog

LANDING_FILE = "Streaming_History_Audio_bench-0000"


def start_fake(albums: int, latency: float) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", "spotify_assets_tests.fake_spotify", "--tracks", str(albums),
         "--latency", str(latency), "--development-mode"],
        stdout=subprocess.PIPE, text=True,
    )
    return process, json.loads(process.stdout.readline())


def request_counts(api_url: str) -> dict[str, int]:
    return requests.get(api_url.removesuffix("/v1") + "/_fake/stats", timeout=5).json()["counts"]


def dim_album(albums: int) -> pl.DataFrame:
    track_ids = list(fake_catalog(albums))
    return pl.DataFrame({
        "album_key": range(albums),
        "album_name": [f"Album {n}" for n in range(albums)],
        "artist_key": [1] * albums,
        "content_type": ["track"] * albums,
        "sample_track_id": track_ids,
        "first_landing_file": [LANDING_FILE] * albums,
    }, schema=DIM_ALBUM.polars_schema())


def materialize(instance: dg.DagsterInstance, lake: str, spotify: SpotifyApi) -> float:
    started = time.perf_counter()
    result = dg.materialize(
        [album_art, dg.AssetSpec(DIM_ALBUM.name).with_io_manager_key("lake_io_manager")],
        selection=[ALBUM_ART.name], partition_key=LANDING_FILE, instance=instance,
        resources={"lake_io_manager": DeltaLakeIOManager(lake_uri=lake), "lake": LakeResource(lake_uri=lake),
                   "spotify": spotify},
    )
    assert result.success
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=8)
    options = parser.parse_args()

    lake = str(Path(tempfile.mkdtemp(prefix="bench_album_art_")) / "lake")
    write_table(lake, DIM_ALBUM, dim_album(options.albums))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("landing_files", [LANDING_FILE])
    fake, urls = start_fake(options.albums, options.latency)
    try:
        spotify = SpotifyApi(
            client_id=FAKE_CLIENT_ID, client_secret=FAKE_CLIENT_SECRET, api_url=urls["api_url"],
            token_url=urls["token_url"], workers=options.workers, requests_per_second=None,
            batch_endpoint=False,  # a known Development Mode app: no probing 403
        )
        first_seconds = materialize(instance, lake, spotify)
        after_first = request_counts(urls["api_url"])
        rerun_seconds = materialize(instance, lake, spotify)
        after_rerun = request_counts(urls["api_url"])
    finally:
        fake.terminate()
        fake.wait()

    statuses = scan_table(lake, ALBUM_ART).group_by("status").len().collect()
    rerun_requests = {key: after_rerun.get(key, 0) - after_first.get(key, 0) for key in after_rerun}
    floor = options.albums * options.latency / options.workers
    print(f"albums: {options.albums}, latency {options.latency * 1000:.0f} ms, {options.workers} workers")
    print(f"first run: {first_seconds:.1f} s wall (latency floor {floor:.1f} s), requests {after_first}")
    print(f"re-run:    {rerun_seconds:.1f} s wall, requests {rerun_requests}")
    print(f"album_art statuses: {dict(statuses.iter_rows())}")


if __name__ == "__main__":
    main()
