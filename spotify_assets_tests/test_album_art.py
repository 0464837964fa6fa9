"""album_art materialized with Dagster against a temp lake and the fake Spotify over real HTTP."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from spotify_assets.assets.enrich import album_art_checks, build_album_art
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.spotify import SpotifyApi
from spotify_assets.tables import ALBUM_ART, DIM_ALBUM
from spotify_assets_tests.fake_spotify import (
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    TRACK,
    FakeSpotify,
    ScriptedResponse,
    fake_catalog,
    spotify_id,
)

FIRST_FILE = "Streaming_History_Audio_2023-aaaa1111"
SECOND_FILE = "Streaming_History_Audio_2024-bbbb2222"
NO_RETRIES = dg.RetryPolicy(max_retries=0)
DIM_ALBUM_ASSET = dg.AssetSpec(DIM_ALBUM.name).with_io_manager_key("lake_io_manager")


def dim_album(catalog: dict[str, str], landing_file: str, *, first_key: int = 0,
              unknown_tracks: int = 0) -> pl.DataFrame:
    """Music albums for `catalog`'s tracks (+ unknown ones), and a podcast show that has no cover."""
    track_ids = [*catalog, *(spotify_id(f"unknown-{first_key}-{n}") for n in range(unknown_tracks))]
    count = len(track_ids)
    music = pl.DataFrame({
        "album_key": range(first_key, first_key + count),
        "album_name": [f"Album {n}" for n in range(count)],
        "artist_key": [7] * count,
        "content_type": ["track"] * count,
        "sample_track_id": track_ids,
        "first_landing_file": [landing_file] * count,
    }, schema=DIM_ALBUM.polars_schema())
    show = music.head(1).with_columns(
        album_key=pl.lit(first_key + 10_000, pl.Int64), content_type=pl.lit("episode"),
        sample_track_id=pl.lit(spotify_id(f"episode-{first_key}")),
    )
    return pl.concat([music, show])


class Platform:
    """A temp lake, a Dagster instance knowing the landing files, and the fake Spotify."""

    def __init__(self, lake: Path, fake: FakeSpotify):
        self.lake = str(lake)
        self.fake = fake
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions("landing_files", [FIRST_FILE, SECOND_FILE])

    def write_dim_album(self, *frames: pl.DataFrame) -> None:
        write_table(self.lake, DIM_ALBUM, pl.concat(frames))

    def spotify(self, **settings) -> SpotifyApi:
        defaults = dict(
            client_id=FAKE_CLIENT_ID, client_secret=FAKE_CLIENT_SECRET, api_url=self.fake.api_url,
            token_url=self.fake.token_url, retry_backoff_seconds=0.01, request_timeout_seconds=2.0,
            batch_endpoint=False,
        )
        return SpotifyApi(**{**defaults, **settings})

    def materialize(self, partition: str = FIRST_FILE, *, spotify: SpotifyApi | None = None,
                    retry_policy: dg.RetryPolicy = NO_RETRIES, checks: bool = False):
        assets = [build_album_art(retry_policy=retry_policy), DIM_ALBUM_ASSET]
        return dg.materialize(
            [*assets, *(album_art_checks() if checks else [])],
            selection=[ALBUM_ART.name],
            partition_key=partition,
            instance=self.instance,
            resources={
                "lake_io_manager": DeltaLakeIOManager(lake_uri=self.lake),
                "lake": LakeResource(lake_uri=self.lake),
                "spotify": spotify or self.spotify(),
            },
            raise_on_error=False,
        )

    def album_art(self) -> pl.DataFrame:
        return scan_table(self.lake, ALBUM_ART).collect().sort("album_key")


@pytest.fixture
def fake():
    with FakeSpotify(catalog=fake_catalog(12), development_mode=True) as server:
        yield server


@pytest.fixture
def platform(tmp_path, fake):
    return Platform(tmp_path / "lake", fake)


def metadata_of(result) -> dict:
    materialization = result.asset_materializations_for_node(ALBUM_ART.name)[-1]
    return {key: value.value for key, value in materialization.metadata.items()}


def status_counts(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame["status"].value_counts()
    return dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))


def test_calls_equal_albums_missing_art_and_a_rerun_makes_none(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE, unknown_tracks=2))

    first = platform.materialize(checks=True)

    assert first.success
    assert fake.counts[TRACK] == 14, "one call per music album, none for the podcast show"
    art = platform.album_art()
    assert status_counts(art) == {"found": 12, "not_found": 2}
    assert art["landing_file"].unique().to_list() == [FIRST_FILE]
    found = art.filter(status="found").row(0, named=True)
    assert found["album_id"] and found["image_url_large"] and found["image_url_small"] and found["fetched_at"]
    metadata = metadata_of(first)
    assert metadata["api_calls"] == 14 and metadata["found"] == 12 and metadata["dagster/row_count"] == 14
    [check] = first.get_asset_check_evaluations()
    assert check.passed and check.metadata["coverage"].value == pytest.approx(12 / 14, abs=1e-4)

    fake.reset_counts()
    second = platform.materialize()

    assert second.success
    assert fake.api_requests() == 0, "found and fresh not_found albums are never asked again"
    assert metadata_of(second)["cache_hits"] == 14
    assert platform.album_art().equals(art)


def test_not_found_is_asked_again_after_the_configured_days(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE, unknown_tracks=2))
    platform.materialize()
    fake.reset_counts()

    result = platform.materialize(spotify=platform.spotify(not_found_retry_days=0))

    assert result.success
    assert fake.counts[TRACK] == 2


def test_long_retry_after_ends_the_run_quickly_nothing_lost_and_the_next_run_completes(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE))
    fake.exhaust_quota_after(5, retry_after_seconds=3 * 3600)

    failed = platform.materialize(spotify=platform.spotify(workers=1))

    assert not failed.success
    [failure] = [event for event in failed.all_events if event.is_step_failure]
    assert "quota exhausted; retry after" in failure.step_failure_data.user_failure_data.description
    assert status_counts(platform.album_art()) == {"found": 5, "pending": 7}, "429s are not cached as missing"
    assert metadata_of(failed)["http_429s"] == 1

    fake.restore_quota()
    fake.reset_counts()
    resumed = platform.materialize()

    assert resumed.success
    assert fake.counts[TRACK] == 7, "only the pending albums are asked"
    assert status_counts(platform.album_art()) == {"found": 12}


def test_retry_policy_resumes_after_a_quota_stop(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE))
    fake.script(ScriptedResponse(429, retry_after_seconds=7200))

    result = platform.materialize(
        spotify=platform.spotify(workers=1), retry_policy=dg.RetryPolicy(max_retries=1, delay=0.1)
    )

    assert result.success
    assert len(result.asset_materializations_for_node(ALBUM_ART.name)) == 2
    assert status_counts(platform.album_art()) == {"found": 12}
    assert fake.counts[TRACK] == 13


def test_no_credentials_skips_cleanly(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE))

    result = platform.materialize(spotify=SpotifyApi(api_url=fake.api_url, token_url=fake.token_url))

    assert result.success
    assert sum(fake.counts.values()) == 0
    assert status_counts(platform.album_art()) == {"pending": 12}
    assert "no Spotify credentials" in metadata_of(result)["warning"]


def test_album_key_stays_unique_when_another_file_later_claims_an_album(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE))
    platform.materialize(FIRST_FILE)
    second_catalog = fake_catalog(3, prefix="second")
    fake.catalog.update(second_catalog)
    moved = dim_album(fake.catalog, FIRST_FILE).with_columns(  # an earlier play now sits in SECOND_FILE
        first_landing_file=pl.when(pl.col("album_key") < 4)
        .then(pl.lit(SECOND_FILE))
        .otherwise(pl.lit(FIRST_FILE))
    )
    platform.write_dim_album(moved.filter(pl.col("album_key") < 12),
                             dim_album(second_catalog, SECOND_FILE, first_key=100).head(3))
    fake.reset_counts()

    result = platform.materialize(SECOND_FILE)

    assert result.success
    assert fake.counts[TRACK] == 3, "albums held by FIRST_FILE are not asked again"
    art = platform.album_art()
    assert art["album_key"].is_unique().all()
    assert art.height == 15
    assert art.filter(album_key=0)["landing_file"].item() == FIRST_FILE


def test_without_retrying_quota_stops_the_step_fails_at_once_and_keeps_what_it_fetched(platform, fake):
    platform.write_dim_album(dim_album(fake.catalog, FIRST_FILE))
    fake.script(ScriptedResponse(429, retry_after_seconds=7200))
    spotify = platform.spotify(workers=1, retry_quota_stops=False)

    result = platform.materialize(spotify=spotify, retry_policy=dg.RetryPolicy(max_retries=1, delay=0.1))

    assert not result.success
    assert len(result.asset_materializations_for_node(ALBUM_ART.name)) == 1  # no retry
    assert fake.counts[TRACK] == 1
    assert status_counts(platform.album_art()) == {"pending": 12}
