"""Benchmark: the Spotify lookup (album_art + track_metadata) through single-id calls (issues 5, 14).

The fake Spotify runs in its own process (as the real API would: its work does not compete with
the client for the GIL) in Development Mode with 50 ms latency per request. A history of
`--albums` x `--tracks-per-album` distinct tracks (play counts falling with rank, so "most-played
first" means something) sits in one landing-file partition of a temp lake; `spotify_lookup` is
materialized with Dagster, 8 workers, no rate limit, then again (it must make no call).

With `--budget B` a second, fresh lake is looked up under a call budget of B per run, run after
run, as a Development Mode app would be day after day: each run stops with "quota exhausted", the
next resumes; printed per run: calls, what is still pending, whether every album has its cover.

    PYTHONPATH=. .venv/bin/python bench/bench_album_art.py [--albums 2000] [--tracks-per-album 4]
        [--latency 0.05] [--workers 8] [--budget 3000]
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

from spotify_assets.assets.enrich import pending_lookups, spotify_lookup
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.spotify import SpotifyApi
from spotify_assets.tables import ALBUM_ART, DIM_ALBUM, DIM_TRACK, FACT_STREAMS, TRACK_METADATA
from spotify_assets_tests.fake_spotify import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, fake_catalog
from spotify_assets_tests.listening import model_tables

LANDING_FILE = "Streaming_History_Audio_bench-0000"
MODEL = (DIM_ALBUM, DIM_TRACK, FACT_STREAMS)


def start_fake(albums: int, tracks_per_album: int, latency: float) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spotify_assets_tests.fake_spotify",
            "--albums",
            str(albums),
            "--tracks-per-album",
            str(tracks_per_album),
            "--latency",
            str(latency),
            "--development-mode",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, json.loads(process.stdout.readline())


def request_counts(api_url: str) -> dict[str, int]:
    return requests.get(api_url.removesuffix("/v1") + "/_fake/stats", timeout=5).json()["counts"]


def history(albums: int, tracks_per_album: int) -> pl.DataFrame:
    """One row per track: album n's tracks, played 1 + (tracks - rank) // 100 times."""
    track_ids = list(fake_catalog(albums, tracks_per_album=tracks_per_album))
    count = len(track_ids)
    return pl.DataFrame(
        {
            "track_id": track_ids,
            "album_key": [n // tracks_per_album for n in range(count)],
            "landing_file": [LANDING_FILE] * count,
            "plays": [1 + (count - rank) // 100 for rank in range(count)],
            "first_minute": [n * 10 for n in range(count)],
        }
    )


def new_lake(frame: pl.DataFrame) -> tuple[str, dg.DagsterInstance]:
    lake = str(Path(tempfile.mkdtemp(prefix="bench_spotify_lookup_")) / "lake")
    for spec, table in zip(MODEL, model_tables(frame).values(), strict=True):
        write_table(lake, spec, table)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("landing_files", [LANDING_FILE])
    return lake, instance


def materialize(instance: dg.DagsterInstance, lake: str, spotify: SpotifyApi) -> tuple[float, bool]:
    started = time.perf_counter()
    result = dg.materialize(
        [spotify_lookup, *(dg.AssetSpec(spec.name).with_io_manager_key("lake_io_manager") for spec in MODEL)],
        selection=[ALBUM_ART.name, TRACK_METADATA.name],
        partition_key=LANDING_FILE,
        instance=instance,
        resources={
            "lake_io_manager": DeltaLakeIOManager(lake_uri=lake),
            "lake": LakeResource(lake_uri=lake),
            "spotify": spotify,
        },
        raise_on_error=False,
    )
    return time.perf_counter() - started, result.success


def statuses(lake: str) -> dict:
    def count(spec) -> dict:
        return dict(scan_table(lake, spec).group_by("status").len().sort("status").collect().iter_rows())

    return {"albums": count(ALBUM_ART), "tracks": count(TRACK_METADATA)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=2000)
    parser.add_argument("--tracks-per-album", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--budget", type=int, default=None, help="calls per run, as a daily quota")
    options = parser.parse_args()

    frame = history(options.albums, options.tracks_per_album)
    fake, urls = start_fake(options.albums, options.tracks_per_album, options.latency)
    settings = {
        "client_id": FAKE_CLIENT_ID,
        "client_secret": FAKE_CLIENT_SECRET,
        "api_url": urls["api_url"],
        "token_url": urls["token_url"],
        "workers": options.workers,
        "requests_per_second": None,
        "batch_endpoint": False,  # a known Development Mode app: no probing 403
        "retry_quota_stops": False,
    }
    spotify = SpotifyApi(**settings)
    tracks = frame.height
    print(
        f"{tracks} distinct tracks on {options.albums} albums, latency {options.latency * 1000:.0f} ms, "
        f"{options.workers} workers"
    )
    try:
        lake, instance = new_lake(frame)
        first_seconds, ok = materialize(instance, lake, spotify)
        after_first = request_counts(urls["api_url"])
        rerun_seconds, _ = materialize(instance, lake, spotify)
        after_rerun = request_counts(urls["api_url"])
        rerun = {key: after_rerun.get(key, 0) - after_first.get(key, 0) for key in after_rerun}
        calls = after_first.get("track", 0)
        print(
            f"first run: {first_seconds:.1f} s wall, success {ok}, requests {after_first}, "
            f"{calls / first_seconds:.0f} calls/s, {1000 * first_seconds / max(calls, 1):.1f} ms per track"
        )
        print(f"re-run:    {rerun_seconds:.1f} s wall, requests {rerun}")
        print(f"statuses: {statuses(lake)}")

        if options.budget:
            budgeted = SpotifyApi(**settings, daily_call_budget=options.budget)
            lake, instance = new_lake(frame)
            for day in range(1, tracks // options.budget + 3):
                before = request_counts(urls["api_url"]).get("track", 0)
                seconds, ok = materialize(instance, lake, budgeted)
                made = request_counts(urls["api_url"]).get("track", 0) - before
                state = statuses(lake)
                print(
                    f"budget {options.budget}, run {day}: {made} calls, {seconds:.1f} s, success {ok}, "
                    f"{state}, pending {pending_lookups(lake)}"
                )
                if ok:
                    break
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
