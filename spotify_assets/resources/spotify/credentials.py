"""Client credentials in failover order, as the auth manager spotipy asks before every request."""

from __future__ import annotations

import threading

import requests
from spotipy.oauth2 import SpotifyOauthError

from .spotipy_adapter import client_credentials

# What the token endpoint answers for a credential that will never work (revoked, mistyped).
REJECTED_CREDENTIAL_ERRORS = {"invalid_client", "unauthorized_client"}


class TokenError(Exception):
    """No token: the credential at `index` was rejected, or the token endpoint is in trouble."""

    def __init__(self, index: int, *, rejected: bool, detail: str):
        super().__init__(detail)
        self.index = index
        self.rejected = rejected


class RotatingCredentials:
    """One token request at a time; a rejected credential hands over to the next one.

    Rotation is failover only: Spotify counts quota per developer account, so a second credential of
    the same account buys no quota (see KNOWN_FACTS). Tokens are renewed by spotipy before they
    expire (its 60 s margin) and after a 401 (`invalidate`).
    """

    def __init__(
        self, pairs: list[tuple[str, str]], *, token_url: str, timeout: float, session: requests.Session
    ):
        self._managers = [
            client_credentials(
                client_id, client_secret, token_url=token_url, session=session, timeout=timeout
            )
            for client_id, client_secret in pairs
        ]
        self._index = 0
        self._failed_requests = 0
        self._lock = threading.Lock()

    @property
    def token_requests(self) -> int:
        """Token requests made: every token obtained, plus every request that got none."""
        return self._failed_requests + sum(manager.cache_handler.tokens_saved for manager in self._managers)

    def exhausted(self) -> bool:
        return self._index >= len(self._managers)

    def current(self) -> tuple[int, str]:
        """(credential index, a valid token); raises TokenError when no token can be had."""
        with self._lock:
            index = self._index
            if index >= len(self._managers):
                raise TokenError(index, rejected=True, detail="no credential left")
            try:
                return index, self._managers[index].get_access_token(as_dict=False)
            except SpotifyOauthError as error:
                self._failed_requests += 1
                rejected = error.error in REJECTED_CREDENTIAL_ERRORS
                raise TokenError(index, rejected=rejected, detail=str(error.error)) from error
            except requests.RequestException as error:
                self._failed_requests += 1
                raise TokenError(index, rejected=False, detail=type(error).__name__) from error

    def get_access_token(self, as_dict: bool = False) -> str:
        """What spotipy calls before each request (its auth-manager interface)."""
        return self.current()[1]

    def invalidate(self, index: int, token: str) -> None:
        """Forget `token` (after a 401) unless another thread already replaced it."""
        with self._lock:
            if index < len(self._managers):
                cache = self._managers[index].cache_handler
                cached = cache.get_cached_token()
                if cached and cached.get("access_token") == token:
                    cache.save_token_to_cache(None)

    def reject(self, index: int) -> bool:
        """Credential `index` was refused: move on to the next one, once whichever thread asks."""
        with self._lock:
            if self._index != index or index >= len(self._managers):
                return False
            self._index += 1
            return True
