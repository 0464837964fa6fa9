"""The Spotify client against the fake server over real HTTP: answers, retries, quota, failover, timeouts."""

import json
import logging
import re
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from spotify_assets.resources.spotify import SpotifyApi, spotify_api_from_env
from spotify_assets_tests.fake_spotify import (
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    TOKEN,
    TRACK,
    TRACKS,
    FakeSpotify,
    ScriptedResponse,
    fake_catalog,
    spotify_id,
)

LOGGER = logging.getLogger("test_spotify_client")
QUOTA_MESSAGE = re.compile(r"^quota exhausted; retry after (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC")


@pytest.fixture
def fake():
    with FakeSpotify(catalog=fake_catalog(120)) as server:
        yield server


def client_for(server: FakeSpotify, **settings) -> SpotifyApi:
    defaults = {
        "client_id": FAKE_CLIENT_ID,
        "client_secret": FAKE_CLIENT_SECRET,
        "api_url": server.api_url,
        "token_url": server.token_url,
        "retry_backoff_seconds": 0.01,
        "request_timeout_seconds": 2.0,
    }
    return SpotifyApi(**{**defaults, **settings})


def statuses(lookup) -> dict[str, int]:
    counts = lookup.tracks["status"].value_counts()
    return dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))


def test_batch_endpoint_fetches_fifty_ids_per_call(fake):
    unknown = spotify_id("not in the catalog")
    lookup = client_for(fake).fetch_tracks(track_ids=[*fake.catalog, unknown], logger=LOGGER)

    assert statuses(lookup) == {"found": 120, "not_found": 1}
    assert fake.counts == {TOKEN: 1, TRACKS: 3}
    assert lookup.stats.calls == 3 and lookup.stats.endpoint == "batch"
    found = lookup.tracks.filter(status="found")
    assert all(
        json.loads(row["raw_json"]) == fake.track(row["track_id"]) for row in found.iter_rows(named=True)
    )
    assert found["fetched_at"].null_count() == 0
    missing = lookup.tracks.filter(track_id=unknown).row(0, named=True)
    assert missing["raw_json"] is None and missing["fetched_at"] is not None


def test_single_answers_keep_the_whole_track_object(fake):
    ids = list(fake.catalog)[:3]

    lookup = client_for(fake, batch_endpoint=False).fetch_tracks(track_ids=ids, logger=LOGGER)

    assert lookup.tracks["track_id"].to_list() == ids
    for row in lookup.tracks.iter_rows(named=True):
        assert json.loads(row["raw_json"]) == fake.track(row["track_id"])


def test_400_on_a_batch_asks_its_ids_one_by_one(fake):
    fake.script(ScriptedResponse(400))

    lookup = client_for(fake).fetch_tracks(track_ids=list(fake.catalog)[:10], logger=LOGGER)

    assert statuses(lookup) == {"found": 10}
    assert fake.counts[TRACKS] == 1 and fake.counts[TRACK] == 10


def test_403_on_batch_switches_to_single_ids_without_losing_the_batch(fake):
    fake.development_mode = True

    lookup = client_for(fake).fetch_tracks(track_ids=list(fake.catalog), logger=LOGGER)

    assert statuses(lookup) == {"found": 120}
    assert fake.counts[TRACKS] == 1, "the batch endpoint is probed once"
    assert fake.counts[TRACK] == 120
    assert lookup.stats.endpoint == "single"


def test_single_endpoint_only_makes_one_call_per_id_and_caches_404_as_not_found(fake):
    ids = [*list(fake.catalog)[:5], spotify_id("gone")]

    lookup = client_for(fake, batch_endpoint=False).fetch_tracks(track_ids=ids + ids, logger=LOGGER)

    assert fake.counts == {TOKEN: 1, TRACK: 6}, "duplicates are asked once"
    assert statuses(lookup) == {"found": 5, "not_found": 1}


def test_5xx_is_retried_with_backoff(fake):
    fake.script(ScriptedResponse(503), ScriptedResponse(502))

    lookup = client_for(fake, batch_endpoint=False).fetch_tracks(
        track_ids=list(fake.catalog)[:1], logger=LOGGER
    )

    assert statuses(lookup) == {"found": 1}
    assert lookup.stats.retries == 2 and lookup.stats.calls == 3


def test_short_retry_after_is_honoured_then_the_album_is_found(fake):
    fake.script(ScriptedResponse(429, retry_after_seconds=1))
    started = time.monotonic()

    lookup = client_for(fake, batch_endpoint=False).fetch_tracks(
        track_ids=list(fake.catalog)[:3], logger=LOGGER
    )

    assert statuses(lookup) == {"found": 3}
    assert lookup.stats.http_429s == 1 and lookup.stop_reason is None
    assert time.monotonic() - started >= 1.0


@pytest.mark.timeout(60)  # a client that waited out the two-hour Retry-After would be stopped here
def test_retry_after_past_the_cap_stops_at_once_and_keeps_what_was_fetched(fake):
    fake.exhaust_quota_after(4, retry_after_seconds=7200)

    lookup = client_for(fake, batch_endpoint=False, workers=1).fetch_tracks(
        track_ids=list(fake.catalog)[:20], logger=LOGGER
    )

    assert statuses(lookup) == {"found": 4, "pending": 16}, "a 429 is never cached as not_found"
    assert QUOTA_MESSAGE.match(lookup.stop_reason), lookup.stop_reason
    assert lookup.retryable and lookup.stats.http_429s == 1 and lookup.retry_after is not None
    assert fake.api_requests() == 5


def test_daily_budget_spans_runs_through_the_ledger(fake, tmp_path):
    ledger = tmp_path / "calls.json"
    client = client_for(fake, batch_endpoint=False, daily_call_budget=6, call_ledger_path=str(ledger))
    ids = list(fake.catalog)[:10]

    first = client.fetch_tracks(track_ids=ids, logger=LOGGER)
    second = client.fetch_tracks(track_ids=ids[6:], logger=LOGGER)

    assert statuses(first) == {"found": 6, "pending": 4}
    assert first.stop_reason.startswith("quota exhausted; retry after 00:00 UTC")
    assert statuses(second) == {"pending": 4}
    assert fake.api_requests() == 6
    midnight = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert first.retry_after == midnight and second.retry_after == midnight


def test_ids_are_asked_in_the_order_given_so_a_quota_stop_keeps_the_first(fake):
    ids = list(reversed(list(fake.catalog)))[:10]
    fake.exhaust_quota_after(3, retry_after_seconds=7200)

    lookup = client_for(fake, batch_endpoint=False, workers=1).fetch_tracks(track_ids=ids, logger=LOGGER)

    assert lookup.tracks.filter(status="found")["track_id"].to_list() == ids[:3]
    expected = datetime.now(UTC) + timedelta(seconds=7200)
    assert abs((lookup.retry_after - expected).total_seconds()) < 60


def test_quota_exceeded_stops_at_once_even_with_a_short_retry_after(fake):
    fake.exhaust_quota_after(2, retry_after_seconds=1, reason="QUOTA_EXCEEDED")

    lookup = client_for(fake, batch_endpoint=False, workers=1).fetch_tracks(
        track_ids=list(fake.catalog)[:6], logger=LOGGER
    )

    assert statuses(lookup) == {"found": 2, "pending": 4}
    assert fake.api_requests() == 3, "no call after the QUOTA_EXCEEDED answer"
    assert QUOTA_MESSAGE.match(lookup.stop_reason) and "QUOTA_EXCEEDED" in lookup.stop_reason
    assert lookup.retryable and lookup.retry_after is not None


def test_quota_exceeded_without_retry_after_resumes_at_midnight_utc(fake):
    fake.exhaust_quota_after(0, retry_after_seconds=None, reason="QUOTA_EXCEEDED")

    lookup = client_for(fake, batch_endpoint=False).fetch_tracks(
        track_ids=list(fake.catalog)[:3], logger=LOGGER
    )

    assert statuses(lookup) == {"pending": 3}
    assert lookup.retry_after == datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )


def test_rejected_credential_fails_over_to_the_next(fake):
    client = client_for(
        fake,
        client_id="revoked-id",
        client_secret="revoked-secret",
        credentials=f"also-bad:nope,{FAKE_CLIENT_ID}:{FAKE_CLIENT_SECRET}",
    )

    lookup = client.fetch_tracks(track_ids=list(fake.catalog)[:60], logger=LOGGER)

    assert statuses(lookup) == {"found": 60}
    assert lookup.stats.token_requests == 3


def test_every_credential_rejected_stops_without_api_calls(fake):
    client = client_for(fake, client_secret="wrong")

    lookup = client.fetch_tracks(track_ids=list(fake.catalog), logger=LOGGER)

    assert statuses(lookup) == {"pending": 120}
    assert "rejected" in lookup.stop_reason and not lookup.retryable
    assert fake.api_requests() == 0


def test_401_refreshes_the_token(fake):
    fake.script(ScriptedResponse(401))

    lookup = client_for(fake, batch_endpoint=False, workers=1).fetch_tracks(
        track_ids=list(fake.catalog)[:2], logger=LOGGER
    )

    assert statuses(lookup) == {"found": 2}
    assert lookup.stats.token_requests == 2


def test_token_is_refreshed_before_it_expires(fake):
    fake.token_lifetime_seconds = 59  # spotipy renews a token less than 60 s from expiry

    client_for(fake, batch_endpoint=False, workers=1).fetch_tracks(
        track_ids=list(fake.catalog)[:3], logger=LOGGER
    )

    assert fake.counts[TOKEN] >= 3, "a fresh token before every call"
    assert fake.statuses[401] == 0


@pytest.mark.timeout(
    60
)  # the fake holds the hanging answer for an hour: without a request timeout, this stops
def test_hanging_response_times_out_and_stays_pending(fake):
    hanging, *others = list(fake.catalog)[:4]
    fake.hang_ids.add(hanging)

    client = client_for(fake, batch_endpoint=False, request_timeout_seconds=0.3, max_retries=1)

    lookup = client.fetch_tracks(track_ids=[hanging, *others], logger=LOGGER)

    assert lookup.tracks.filter(track_id=hanging)["status"].item() == "pending"
    assert statuses(lookup) == {"found": 3, "pending": 1}
    assert lookup.stats.retries == 2
    assert lookup.stop_reason.startswith("1 tracks unanswered after 1 retries") and lookup.retryable
    assert "(retries after: timeouts or connection errors 2)" in lookup.stop_reason


def test_giving_up_after_short_429s_names_them_as_the_cause(fake):
    track = next(iter(fake.catalog))
    fake.script(*[ScriptedResponse(429, retry_after_seconds=0)] * 3)

    lookup = client_for(fake, batch_endpoint=False, max_retries=2).fetch_tracks(
        track_ids=[track], logger=LOGGER
    )

    assert statuses(lookup) == {"pending": 1}
    assert lookup.stop_reason == (
        "1 tracks unanswered after 2 retries (retries after: 429 rate limits 3); they stay pending"
    )


def test_slow_answer_past_the_timeout_is_retried(fake):
    fake.script(ScriptedResponse(503, hang_seconds=2))
    client = client_for(fake, batch_endpoint=False, request_timeout_seconds=0.3)

    lookup = client.fetch_tracks(track_ids=list(fake.catalog)[:1], logger=LOGGER)

    assert statuses(lookup) == {"found": 1}
    assert lookup.stats.retries == 1 and lookup.stats.calls == 2


def test_unreachable_server_leaves_everything_pending():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = SpotifyApi(
        client_id=FAKE_CLIENT_ID,
        client_secret=FAKE_CLIENT_SECRET,
        api_url=f"http://127.0.0.1:{port}/v1",
        token_url=f"http://127.0.0.1:{port}/api/token",
        retry_backoff_seconds=0.01,
        max_retries=2,
    )

    lookup = client.fetch_tracks(track_ids=list(fake_catalog(3)), logger=LOGGER)

    assert statuses(lookup) == {"pending": 3}
    assert lookup.stats.calls == 0 and lookup.stats.retries > 0


def test_rate_limit_spaces_requests_across_workers(fake):
    started = time.monotonic()

    client_for(fake, batch_endpoint=False, requests_per_second=20, workers=4).fetch_tracks(
        track_ids=list(fake.catalog)[:11], logger=LOGGER
    )

    assert time.monotonic() - started >= 0.5


def test_no_credentials_means_no_calls(fake):
    client = SpotifyApi(api_url=fake.api_url, token_url=fake.token_url)

    lookup = client.fetch_tracks(track_ids=list(fake.catalog)[:5], logger=LOGGER)

    assert statuses(lookup) == {"pending": 5}
    assert lookup.warnings and lookup.stop_reason is None
    assert sum(fake.counts.values()) == 0


def test_progress_is_logged_with_rate(fake, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        client_for(fake).fetch_tracks(track_ids=list(fake.catalog)[:10], logger=LOGGER)

    assert any("10/10 tracks answered" in message and "/s)" in message for message in caplog.messages)


def test_settings_come_from_environment_variables_and_secrets_stay_env_vars(monkeypatch):
    environ = {
        "SPOTIFY_CREDENTIALS": "a:secret-a,b:secret-b",
        "SPOTIFY_API_URL": "http://127.0.0.1:1/v1",
        "SPOTIFY_DAILY_CALL_BUDGET": "2000",
        "SPOTIFY_CALL_LEDGER": "/var/lib/spotify-assets/calls.json",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIFY_CLIENT_SECRET", raising=False)

    resource = spotify_api_from_env(environ)

    assert "secret-a" not in repr(resource)
    resolved = resource.process_config_and_initialize()
    assert resolved.credential_pairs() == [("a", "secret-a"), ("b", "secret-b")]
    assert resolved.api_url == "http://127.0.0.1:1/v1"
    assert resolved.daily_call_budget == 2000
    assert resolved.call_ledger_path == "/var/lib/spotify-assets/calls.json"
    assert not spotify_api_from_env({}).has_credentials()
    # without a ledger of its own the budget is counted in the Dagster home, across runs
    assert spotify_api_from_env({"DAGSTER_HOME": "/srv/home"}).call_ledger_path == (
        "/srv/home/spotify_call_ledger.json"
    )
    assert spotify_api_from_env({}).call_ledger_path is None
    with pytest.raises(ValueError, match=r"^SPOTIFY_DAILY_CALL_BUDGET='2k': expected a whole number"):
        spotify_api_from_env({"SPOTIFY_DAILY_CALL_BUDGET": "2k"})
