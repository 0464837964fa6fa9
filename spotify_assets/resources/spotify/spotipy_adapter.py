"""spotipy behind one door: the only module that touches what spotipy does not document.

spotipy (2.26) has no constructor argument for the token endpoint or the API base URL, and both are
needed to point the client at another server (the fake in the tests, a proxy in production). Both
are plain attributes spotipy reads on every call, so this module sets them, and nothing else in the
package does:

- `SpotifyClientCredentials.OAUTH_TOKEN_URL`: a class attribute; set here on each instance;
- `Spotify.prefix`: an instance attribute set in `Spotify.__init__`, prepended to every path.

`spotify_assets_tests/test_spotipy_adapter.py` names each symbol in `UNDOCUMENTED_SYMBOLS` and
fails, naming it, if an upgrade removes it or stops using it; pyproject pins the tested range.

Everything else used is public: the client's `track`/`tracks`, `SpotifyClientCredentials` with a
`requests_session`, `requests_timeout` and a `CacheHandler`, `SpotifyException.http_status`/
`headers`/`reason` and `SpotifyOauthError.error`. Token requests are counted through the public
`CacheHandler` interface (every token obtained is saved to the cache) instead of overriding spotipy's
private `_request_access_token`.
"""

from __future__ import annotations

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

UNDOCUMENTED_SYMBOLS = ("spotipy.oauth2.SpotifyClientCredentials.OAUTH_TOKEN_URL", "spotipy.Spotify.prefix")


class CountingCacheHandler(MemoryCacheHandler):
    """An in-memory token cache (never the `.cache` file spotipy defaults to) counting new tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens_saved = 0

    def save_token_to_cache(self, token_info) -> None:
        if token_info is not None:
            self.tokens_saved += 1
        super().save_token_to_cache(token_info)


def client_credentials(
    client_id: str, client_secret: str, *, token_url: str, session: requests.Session, timeout: float
) -> SpotifyClientCredentials:
    """spotipy's client-credentials flow against `token_url`, caching its token in memory only."""
    manager = SpotifyClientCredentials(
        client_id=client_id,
        client_secret=client_secret,
        requests_session=session,
        requests_timeout=timeout,
        cache_handler=CountingCacheHandler(),
    )
    manager.OAUTH_TOKEN_URL = token_url
    return manager


def api_client(auth_manager, *, api_url: str, session: requests.Session, timeout: float) -> spotipy.Spotify:
    """A spotipy client for `api_url` with every retry of its own off (the caller owns the policy)."""
    client = spotipy.Spotify(
        auth_manager=auth_manager,
        requests_session=session,
        requests_timeout=timeout,
        retries=0,
        status_retries=0,
    )
    client.prefix = api_url.rstrip("/") + "/"
    return client
