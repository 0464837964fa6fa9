"""The `spotify` resource: its settings, and the one entry point assets call."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from .lookup import LookupRun
from .results import ANSWER_SCHEMA, LookupStats, TrackLookup, answers_frame

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
NO_CREDENTIALS_WARNING = (
    "no Spotify credentials configured (SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET or "
    "SPOTIFY_CREDENTIALS): no calls made, albums and tracks left pending"
)

ENV_VARS = {
    "client_id": "SPOTIFY_CLIENT_ID",
    "client_secret": "SPOTIFY_CLIENT_SECRET",
    "credentials": "SPOTIFY_CREDENTIALS",
    "api_url": "SPOTIFY_API_URL",
    "token_url": "SPOTIFY_TOKEN_URL",
    "call_ledger_path": "SPOTIFY_CALL_LEDGER",
}
INT_ENV_VARS = {"daily_call_budget": "SPOTIFY_DAILY_CALL_BUDGET"}
DEFAULT_CALL_LEDGER = "spotify_call_ledger.json"  # under DAGSTER_HOME when SPOTIFY_CALL_LEDGER is unset


class SpotifyApi(dg.ConfigurableResource):
    """Spotify Web API (client-credentials flow), quota-aware. Resource key: `spotify`."""

    client_id: str | None = None
    client_secret: str | None = None
    credentials: str | None = None  # "id1:secret1,id2:secret2": failover when one is rejected
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    workers: int = 8
    requests_per_second: float | None = None  # None: unlimited
    request_timeout_seconds: float = 10.0
    max_retry_after_seconds: float = 60.0
    daily_call_budget: int | None = None  # None: no budget of our own
    call_ledger_path: str | None = None  # JSON file counting calls per UTC day across runs
    max_retries: int = 4
    retry_backoff_seconds: float = 1.0  # first backoff; doubles per retry, jittered
    not_found_retry_days: int = 30
    batch_endpoint: bool = True  # False skips the one probing 403 for a known Development Mode app
    # False: a quota stop fails the step without asking its RetryPolicy to wait (the CLI: an
    # in-process run would sleep through the backoff; the next `run` resumes instead)
    retry_quota_stops: bool = True

    def credential_pairs(self) -> list[tuple[str, str]]:
        """(client id, secret) pairs in failover order, duplicates removed."""
        pairs = []
        if self.client_id and self.client_secret:
            pairs.append((self.client_id.strip(), self.client_secret.strip()))
        for item in (self.credentials or "").split(","):
            client_id, _, secret = item.strip().partition(":")
            if client_id and secret:
                pairs.append((client_id.strip(), secret.strip()))
        return list(dict.fromkeys(pairs))

    def has_credentials(self) -> bool:
        return bool(self.credential_pairs())

    def fetch_tracks(self, *, track_ids: Sequence[str], logger: logging.Logger | Any) -> TrackLookup:
        """What `GET /v1/tracks/{id}` answers for each id, asked in the order given (so a quota stop
        leaves the last ones pending); never raises for API trouble, reports it."""
        unique_ids = list(dict.fromkeys(track_ids))
        if not unique_ids:
            return TrackLookup(tracks=pl.DataFrame(schema=ANSWER_SCHEMA), stats=LookupStats())
        if not self.has_credentials():
            logger.warning(NO_CREDENTIALS_WARNING)
            return TrackLookup(
                tracks=answers_frame({}, unique_ids), stats=LookupStats(), warnings=[NO_CREDENTIALS_WARNING]
            )
        return LookupRun(self, logger).run(unique_ids)


def spotify_api_from_env(environ: dict[str, str] | None = None, **overrides: Any) -> SpotifyApi:
    """The resource configured from SPOTIFY_* variables; secrets stay `EnvVar`s, never plain values.

    Only variables that are set become `EnvVar`s, so a deployment without credentials still loads
    (the Spotify lookup then materializes everything as pending, with a warning).
    """
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {
        name: dg.EnvVar(variable) for name, variable in ENV_VARS.items() if env.get(variable)
    }
    for name, variable in INT_ENV_VARS.items():
        value = env.get(variable)
        if value:
            if not value.strip().isdigit():
                raise ValueError(
                    f"{variable}={value!r}: expected a whole number of calls per UTC day, e.g. 2000"
                )
            settings[name] = dg.EnvVar.int(variable)
    if "call_ledger_path" not in settings and env.get("DAGSTER_HOME"):
        # the daily budget counts every run of this Dagster home, not each process on its own
        settings["call_ledger_path"] = str(Path(env["DAGSTER_HOME"]) / DEFAULT_CALL_LEDGER)
    return SpotifyApi(**{**settings, **overrides})
