"""spotify_lookup (album_art + track_metadata) materialized with Dagster against a temp lake and the
fake Spotify over real HTTP."""

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from spotify_assets.assets.enrich import build_spotify_lookup, enrich_checks, pending_lookups
from spotify_assets.automation import refresh_album_art_schedule
from spotify_assets.io_managers.delta import DeltaLakeIOManager, scan_table, write_table
from spotify_assets.resources.lake import LakeResource
from spotify_assets.resources.spotify import SpotifyApi
from spotify_assets.tables import ALBUM_ART, DIM_ALBUM, DIM_TRACK, FACT_STREAMS, TRACK_METADATA
from spotify_assets_tests.fake_spotify import (
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    TRACK,
    FakeSpotify,
    ScriptedResponse,
    fake_catalog,
    fake_recordings,
    spotify_id,
)
from spotify_assets_tests.listening import model_tables, one_album_per_track

FIRST_FILE = "Streaming_History_Audio_2023-aaaa1111"
SECOND_FILE = "Streaming_History_Audio_2024-bbbb2222"
NO_RETRIES = dg.RetryPolicy(max_retries=0)
MODEL_ASSETS = [
    dg.AssetSpec(spec.name).with_io_manager_key("lake_io_manager")
    for spec in (DIM_ALBUM, DIM_TRACK, FACT_STREAMS)
]
LISTENING_SCHEMA = {
    "track_id": pl.String,
    "album_key": pl.Int64,
    "landing_file": pl.String,
    "plays": pl.Int64,
    "first_minute": pl.Int64,
    "content_type": pl.String,
}


def listening(*rows: tuple) -> pl.DataFrame:
    """(track_id, album_key, landing_file, plays, first_minute[, content_type]) rows."""
    return pl.DataFrame(
        [(*row, "track") if len(row) == 5 else row for row in rows], schema=LISTENING_SCHEMA, orient="row"
    )


class Platform:
    """A temp lake, a Dagster instance knowing the landing files, and the fake Spotify."""

    def __init__(self, lake: Path, fake: FakeSpotify):
        self.lake = str(lake)
        self.fake = fake
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions("landing_files", [FIRST_FILE, SECOND_FILE])

    def write_model(self, *frames: pl.DataFrame) -> None:
        for name, frame in model_tables(pl.concat(frames, how="diagonal_relaxed")).items():
            spec = {DIM_ALBUM.name: DIM_ALBUM, DIM_TRACK.name: DIM_TRACK, FACT_STREAMS.name: FACT_STREAMS}[
                name
            ]
            write_table(self.lake, spec, frame)

    def spotify(self, **settings) -> SpotifyApi:
        defaults = {
            "client_id": FAKE_CLIENT_ID,
            "client_secret": FAKE_CLIENT_SECRET,
            "api_url": self.fake.api_url,
            "token_url": self.fake.token_url,
            "retry_backoff_seconds": 0.01,
            "request_timeout_seconds": 2.0,
            "batch_endpoint": False,
        }
        return SpotifyApi(**{**defaults, **settings})

    def materialize(
        self,
        partition: str = FIRST_FILE,
        *,
        spotify: SpotifyApi | None = None,
        retry_policy: dg.RetryPolicy = NO_RETRIES,
        checks: bool = False,
    ):
        assets = [build_spotify_lookup(retry_policy=retry_policy), *MODEL_ASSETS]
        return dg.materialize(
            [*assets, *(enrich_checks() if checks else [])],
            selection=[ALBUM_ART.name, TRACK_METADATA.name],
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

    def tracks(self) -> pl.DataFrame:
        return scan_table(self.lake, TRACK_METADATA).collect().sort("track_id")


@pytest.fixture
def fake():
    with FakeSpotify(catalog=fake_catalog(12), development_mode=True) as server:
        yield server


@pytest.fixture
def platform(tmp_path, fake):
    return Platform(tmp_path / "lake", fake)


def metadata_of(result, asset: str = ALBUM_ART.name) -> dict:
    materialization = [
        m
        for m in result.asset_materializations_for_node("spotify_lookup")
        if m.asset_key.to_user_string() == asset
    ][-1]
    return {key: value.value for key, value in materialization.metadata.items()}


def failure_of(result):
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.user_failure_data


def status_counts(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame["status"].value_counts()
    return dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))


def albums_of_three(fake: FakeSpotify, albums: int = 3) -> pl.DataFrame:
    """`albums` albums of three tracks each, all in FIRST_FILE; track n of album a is played a*3+n+1 times."""
    rows = []
    for album in range(albums):
        for n in range(3):
            track_id = spotify_id(f"album{album}-track{n}")
            fake.catalog[track_id] = spotify_id(f"album{album}")
            rows.append((track_id, album, FIRST_FILE, album * 3 + n + 1, album * 10 + n))
    return listening(*rows)


def test_one_call_per_track_every_answer_kept_and_a_rerun_makes_none(platform, fake):
    unknown = [spotify_id(f"unknown-{n}") for n in range(2)]
    platform.write_model(
        one_album_per_track(fake.catalog, FIRST_FILE),
        listening(*((track_id, 100 + n, FIRST_FILE, 1, 50 + n) for n, track_id in enumerate(unknown))),
        listening((spotify_id("episode"), 500, FIRST_FILE, 4, 60, "episode")),  # a podcast: never asked
        listening((None, 600, FIRST_FILE, 3, 70)),  # a basic play without an id: skipped
    )

    first = platform.materialize(checks=True)

    assert first.success
    assert fake.counts[TRACK] == 14, "one call per music track with an id"
    tracks = platform.tracks()
    assert status_counts(tracks) == {"found": 12, "not_found": 2}
    assert tracks["landing_file"].unique().to_list() == [FIRST_FILE]
    for row in tracks.filter(status="found").iter_rows(named=True):
        answer = fake.track(row["track_id"])
        assert json.loads(row["raw_json"]) == answer
        assert row["isrc"] == answer["external_ids"].get("isrc")
        assert (row["duration_ms"], row["explicit"]) == (answer["duration_ms"], answer["explicit"])
        assert row["release_date_precision"] == answer["album"]["release_date_precision"]
        assert row["release_date"].isoformat().startswith(answer["album"]["release_date"])
        assert row["album_type"] == answer["album"]["album_type"]
        assert row["artist_ids"] == ",".join(artist["id"] for artist in answer["artists"])
        assert row["image_url_small"].endswith("-64") and row["image_url_large"].endswith("-640")
    assert tracks.filter(status="not_found")["raw_json"].null_count() == 2
    art = platform.album_art()
    assert status_counts(art) == {"found": 12, "not_found": 2}, "2 unknown tracks' albums"
    known_by_name = (
        scan_table(platform.lake, DIM_ALBUM)
        .collect()
        .filter(pl.col("sample_track_id").is_null())["album_key"]
    )
    assert known_by_name.len() == 1 and known_by_name[0] not in art["album_key"], "no id: no album_art row"
    assert 500 not in art["album_key"], "a podcast show has no album_art row"
    metadata = metadata_of(first)
    assert metadata["api_calls"] == 14 and metadata["found"] == 12 and metadata["tracks_found"] == 12
    assert metadata_of(first, TRACK_METADATA.name)["dagster/row_count"] == 14
    checks = {check.check_name: check for check in first.get_asset_check_evaluations()}
    assert checks["album_art_coverage"].metadata["coverage"].value == pytest.approx(12 / 14, abs=1e-4)
    assert checks["track_metadata_coverage"].metadata["coverage"].value == pytest.approx(12 / 14, abs=1e-4)

    fake.reset_counts()
    second = platform.materialize()

    assert second.success
    assert fake.api_requests() == 0, "found and fresh not_found tracks are never asked again"
    assert platform.tracks().equals(tracks) and platform.album_art().equals(art)


def test_releases_of_one_recording_share_its_isrc(platform, fake):
    catalog, isrcs = fake_recordings(2, releases=3)
    fake.catalog.update(catalog)
    fake.isrcs.update(isrcs)
    without = next(track_id for track_id in fake.catalog if fake.track(track_id)["external_ids"] == {})
    platform.write_model(one_album_per_track({**catalog, without: fake.catalog[without]}, FIRST_FILE))

    assert platform.materialize().success

    tracks = platform.tracks()
    by_isrc = tracks.filter(pl.col("isrc").is_not_null()).group_by("isrc").agg(pl.col("track_id"))
    assert sorted(len(ids) for ids in by_isrc["track_id"]) == [3, 3]
    assert tracks.filter(track_id=without)["isrc"].item() is None


def test_albums_first_then_tracks_most_played_first_and_a_budget_stop_resumes(platform, fake):
    platform.write_model(albums_of_three(fake))  # album a's tracks are played 3a+1, 3a+2, 3a+3 times

    stopped = platform.materialize(spotify=platform.spotify(workers=1, daily_call_budget=5))

    assert not stopped.success
    failure = failure_of(stopped)
    assert "quota exhausted; retry after 00:00 UTC" in failure.description
    retry_after = failure.metadata["retry_after_utc"].value
    assert datetime.fromisoformat(retry_after) == datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), time(), tzinfo=UTC
    )
    assert metadata_of(stopped)["retry_after_utc"] == retry_after
    tracks = platform.tracks()
    plays = {spotify_id(f"album{a}-track{n}"): a * 3 + n + 1 for a in range(3) for n in range(3)}
    found = set(tracks.filter(status="found")["track_id"])
    album_firsts = {spotify_id(f"album{a}-track2") for a in range(3)}  # each album's most-played
    next_two = {spotify_id("album2-track1"), spotify_id("album2-track0")}  # 8 and 7 plays
    assert found == album_firsts | next_two, {plays[t] for t in found}
    assert status_counts(tracks) == {"found": 5, "pending": 4}
    assert status_counts(platform.album_art()) == {"found": 3}, "every album got its cover first"

    fake.reset_counts()
    resumed = platform.materialize()

    assert resumed.success
    assert fake.counts[TRACK] == 4, "only the pending tracks are asked"
    assert status_counts(platform.tracks()) == {"found": 9}


def test_long_retry_after_ends_the_run_quickly_nothing_lost_and_the_next_run_completes(platform, fake):
    platform.write_model(one_album_per_track(fake.catalog, FIRST_FILE))
    fake.exhaust_quota_after(5, retry_after_seconds=3 * 3600)

    failed = platform.materialize(spotify=platform.spotify(workers=1))

    assert not failed.success
    failure = failure_of(failed)
    assert "quota exhausted; retry after" in failure.description
    expected = datetime.now(UTC).timestamp() + 3 * 3600
    assert abs(datetime.fromisoformat(failure.metadata["retry_after_utc"].value).timestamp() - expected) < 120
    assert status_counts(platform.album_art()) == {"found": 5, "pending": 7}, "429s are not cached as missing"
    assert status_counts(platform.tracks()) == {"found": 5, "pending": 7}
    assert metadata_of(failed)["http_429s"] == 1
    summary = pending_lookups(platform.lake)
    assert summary == {"albums_pending": 7, "tracks_pending": 7, "partitions": [FIRST_FILE]}

    fake.restore_quota()
    fake.reset_counts()
    resumed = platform.materialize()

    assert resumed.success
    assert fake.counts[TRACK] == 7, "only the pending ones are asked"
    assert status_counts(platform.album_art()) == {"found": 12}
    assert pending_lookups(platform.lake) == {"albums_pending": 0, "tracks_pending": 0, "partitions": []}


def test_not_found_is_asked_again_after_the_configured_days(platform, fake):
    unknown = {spotify_id(f"gone-{n}"): "" for n in range(2)}
    platform.write_model(one_album_per_track({**fake.catalog, **unknown}, FIRST_FILE))
    platform.materialize()
    fake.reset_counts()

    result = platform.materialize(spotify=platform.spotify(not_found_retry_days=0))

    assert result.success
    assert fake.counts[TRACK] == 2


def test_tracks_belong_to_the_file_of_their_earliest_play_and_stay_where_first_stored(platform, fake):
    early, late, shared = list(fake.catalog)[:3]
    platform.write_model(
        listening(
            (early, 0, FIRST_FILE, 2, 0),
            (shared, 0, FIRST_FILE, 1, 5),  # album 0 starts in the first file
            (late, 1, SECOND_FILE, 3, 100),
            (shared, 0, SECOND_FILE, 4, 200),
        )
    )

    first = platform.materialize(FIRST_FILE)

    assert first.success
    assert set(platform.tracks()["track_id"]) == {early, shared}
    assert fake.counts[TRACK] == 2

    # a later file brings an earlier play of `shared`: it stays in the partition that stored it
    platform.write_model(
        listening(
            (early, 0, FIRST_FILE, 2, 0),
            (shared, 0, FIRST_FILE, 1, 5),
            (late, 1, SECOND_FILE, 3, 100),
            (shared, 0, SECOND_FILE, 4, -50),
        )
    )
    fake.reset_counts()
    second = platform.materialize(SECOND_FILE)

    assert second.success
    assert fake.counts[TRACK] == 1, "only `late` is the second file's"
    tracks = platform.tracks()
    assert tracks["track_id"].is_unique().all()
    assert dict(zip(tracks["track_id"], tracks["landing_file"], strict=True)) == {
        early: FIRST_FILE,
        shared: FIRST_FILE,
        late: SECOND_FILE,
    }
    art = platform.album_art()
    assert dict(zip(art["album_key"], art["landing_file"], strict=True)) == {0: FIRST_FILE, 1: SECOND_FILE}


def test_an_album_covered_by_a_track_found_elsewhere_costs_no_call(platform, fake):
    first_track, second_track = list(fake.catalog)[:2]
    fake.catalog[second_track] = fake.catalog[first_track]  # both on one release
    platform.write_model(
        listening(
            (first_track, 0, FIRST_FILE, 1, 0),  # album 0 ...
            (second_track, 1, SECOND_FILE, 1, 100),  # ... and album 1 (another name), same cover
        )
    )
    platform.materialize(SECOND_FILE)
    fake.reset_counts()
    platform.write_model(
        listening(  # the second track is now known as album 0's
            (first_track, 0, FIRST_FILE, 1, 0),
            (second_track, 0, SECOND_FILE, 1, 100),
        )
    )

    result = platform.materialize(FIRST_FILE, spotify=platform.spotify(workers=1, daily_call_budget=0))

    assert not result.success, "the first file's own track is still due, and the budget is spent"
    art = platform.album_art().filter(album_key=0).row(0, named=True)
    assert art["status"] == "found" and art["album_id"] == fake.catalog[first_track]
    assert fake.api_requests() == 0


def test_retry_policy_resumes_after_a_quota_stop(platform, fake):
    platform.write_model(one_album_per_track(fake.catalog, FIRST_FILE))
    fake.script(ScriptedResponse(429, retry_after_seconds=7200))

    result = platform.materialize(
        spotify=platform.spotify(workers=1), retry_policy=dg.RetryPolicy(max_retries=1, delay=0.1)
    )

    assert result.success
    assert len(result.asset_materializations_for_node("spotify_lookup")) == 4  # two tables, twice
    assert status_counts(platform.album_art()) == {"found": 12}
    assert fake.counts[TRACK] == 13


def test_without_retrying_quota_stops_the_step_fails_at_once_and_keeps_what_it_fetched(platform, fake):
    platform.write_model(one_album_per_track(fake.catalog, FIRST_FILE))
    fake.script(ScriptedResponse(429, retry_after_seconds=7200))
    spotify = platform.spotify(workers=1, retry_quota_stops=False)

    result = platform.materialize(spotify=spotify, retry_policy=dg.RetryPolicy(max_retries=1, delay=0.1))

    assert not result.success
    assert len(result.asset_materializations_for_node("spotify_lookup")) == 2  # no retry
    assert fake.counts[TRACK] == 1
    assert status_counts(platform.album_art()) == {"pending": 12}
    assert status_counts(platform.tracks()) == {"pending": 12}


def test_no_credentials_skips_cleanly(platform, fake):
    platform.write_model(one_album_per_track(fake.catalog, FIRST_FILE))

    result = platform.materialize(spotify=SpotifyApi(api_url=fake.api_url, token_url=fake.token_url))

    assert result.success
    assert sum(fake.counts.values()) == 0
    assert status_counts(platform.album_art()) == {"pending": 12}
    assert status_counts(platform.tracks()) == {"pending": 12}
    assert "no Spotify credentials" in metadata_of(result)["warning"]


def test_empty_model_writes_empty_partitions_and_calls_nothing(platform, fake):
    result = platform.materialize()

    assert result.success
    assert platform.album_art().height == 0 and platform.tracks().height == 0
    assert sum(fake.counts.values()) == 0
    assert pending_lookups(platform.lake) == {"albums_pending": 0, "tracks_pending": 0, "partitions": []}


def test_the_schedule_asks_for_every_partition_with_lookups_due(platform, fake):
    platform.write_model(
        one_album_per_track(dict(list(fake.catalog.items())[:6]), FIRST_FILE),
        one_album_per_track(dict(list(fake.catalog.items())[6:]), SECOND_FILE, first_album_key=6),
    )
    platform.materialize(FIRST_FILE)
    resources = {"lake": LakeResource(lake_uri=platform.lake), "spotify": platform.spotify()}
    when = datetime(2026, 11, 30, 4, tzinfo=UTC)

    with dg.build_schedule_context(resources=resources, scheduled_execution_time=when) as context:
        requests = refresh_album_art_schedule(context)

    assert [(r.partition_key, r.run_key) for r in requests] == [(SECOND_FILE, f"{SECOND_FILE}@2026-11-30")]
    assert pending_lookups(platform.lake) == {
        "albums_pending": 6,
        "tracks_pending": 6,
        "partitions": [SECOND_FILE],
    }
