"""spotipy's undocumented attributes, and the behaviour the client relies on, named one by one.

If an upgrade of spotipy breaks one of these, the failure names the symbol and the module to fix
(`spotify_assets/resources/spotify/spotipy_adapter.py`); pyproject pins the range tested here.
"""

import pytest
import requests
import spotipy
from spotipy.oauth2 import SpotifyClientCredentials

from spotify_assets.resources.spotify.spotipy_adapter import (
    UNDOCUMENTED_SYMBOLS,
    api_client,
    client_credentials,
)
from spotify_assets_tests.fake_spotify import (
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    TOKEN,
    TRACK,
    FakeSpotify,
    ScriptedResponse,
    fake_catalog,
)

FIX = "update spotify_assets/resources/spotify/spotipy_adapter.py for this spotipy version"


@pytest.fixture
def fake():
    with FakeSpotify(catalog=fake_catalog(3)) as server:
        yield server


@pytest.fixture
def session():
    with requests.Session() as plain:
        yield plain


def test_every_undocumented_symbol_is_named_here():
    assert UNDOCUMENTED_SYMBOLS == (
        "spotipy.oauth2.SpotifyClientCredentials.OAUTH_TOKEN_URL",
        "spotipy.Spotify.prefix",
    )


def test_oauth_token_url_still_decides_where_tokens_come_from(fake, session):
    symbol = "spotipy.oauth2.SpotifyClientCredentials.OAUTH_TOKEN_URL"
    assert isinstance(getattr(SpotifyClientCredentials, "OAUTH_TOKEN_URL", None), str), (
        f"{symbol} is gone: {FIX}"
    )

    manager = client_credentials(
        FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, token_url=fake.token_url, session=session, timeout=2.0
    )
    try:
        token = manager.get_access_token(as_dict=False)
    except Exception as error:  # any failure here means the symbol stopped working
        pytest.fail(f"{symbol} no longer redirects the token request ({error!r}): {FIX}")

    assert token and fake.counts[TOKEN] == 1, f"{symbol} no longer redirects the token request: {FIX}"


def test_prefix_still_decides_where_api_calls_go(fake, session):
    symbol = "spotipy.Spotify.prefix"
    default = spotipy.Spotify(requests_session=session).__dict__.get("prefix")
    assert isinstance(default, str) and default.endswith("/v1/"), f"{symbol} is gone or changed: {FIX}"

    manager = client_credentials(
        FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, token_url=fake.token_url, session=session, timeout=2.0
    )
    client = api_client(manager, api_url=fake.api_url, session=session, timeout=2.0)
    track_id = next(iter(fake.catalog))

    try:
        answer = client.track(track_id)
    except Exception as error:  # any failure here means the symbol stopped working
        pytest.fail(f"{symbol} no longer redirects API calls ({error!r}): {FIX}")

    assert answer["id"] == track_id and fake.counts[TRACK] == 1, (
        f"{symbol} no longer redirects API calls: {FIX}"
    )


def test_every_new_token_passes_through_the_cache_handler(fake, session):
    """Token requests are counted by the cache handler: spotipy must save each token it fetches."""
    manager = client_credentials(
        FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, token_url=fake.token_url, session=session, timeout=2.0
    )

    manager.get_access_token(as_dict=False)
    manager.get_access_token(as_dict=False)  # cached
    manager.cache_handler.save_token_to_cache(None)  # as after a 401
    manager.get_access_token(as_dict=False)

    assert fake.counts[TOKEN] == 2
    assert manager.cache_handler.tokens_saved == 2, "spotipy stopped saving new tokens to its cache handler"


def test_no_retry_of_its_own_and_the_429_keeps_its_headers_and_reason(fake, session):
    """spotipy, given our session and retries=0, raises at once with the status, headers and reason."""
    fake.script(
        ScriptedResponse(503), ScriptedResponse(429, retry_after_seconds=7200, reason="QUOTA_EXCEEDED")
    )
    manager = client_credentials(
        FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, token_url=fake.token_url, session=session, timeout=2.0
    )
    client = api_client(manager, api_url=fake.api_url, session=session, timeout=2.0)
    track_id = next(iter(fake.catalog))

    with pytest.raises(spotipy.SpotifyException) as unavailable:
        client.track(track_id)
    with pytest.raises(spotipy.SpotifyException) as limited:
        client.track(track_id)

    assert unavailable.value.http_status == 503 and fake.counts[TRACK] == 2, "spotipy retried on its own"
    assert limited.value.http_status == 429
    assert limited.value.headers["Retry-After"] == "7200"
    assert limited.value.reason == "QUOTA_EXCEEDED"
