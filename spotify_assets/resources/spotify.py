"""The Spotify Web API client: the one place that decides how hard to call Spotify.

Built on spotipy, with every wait owned here: spotipy's retries are off and it talks through a plain
`requests.Session` (with spotipy's own session, `retries=0` still turns a 429 or 503 into a
"Max Retries" 429 without its `Retry-After`). The policy:

* every request has a timeout; 5xx, timeouts and connection errors are retried with exponential
  backoff and jitter, up to `max_retries`;
* a 429 pauses every worker for its `Retry-After` when that is at most `max_retry_after_seconds`;
  past the cap, or once `daily_call_budget` is spent, the lookup stops calling, keeps what it has
  and reports the rest as pending with "quota exhausted; retry after HH:MM UTC";
* the token is refreshed before it expires (spotipy's 60 s margin) and after a 401; a credential
  the token endpoint rejects hands over to the next one in `credentials`;
* the batch endpoint (`GET /tracks?ids=`) is tried once; a 403 (Development Mode apps) switches to
  `GET /tracks/{id}` for the rest of the lookup, that batch's ids included.
"""

from __future__ import annotations

import email.utils
import fcntl
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOauthError

from ..tables import ALBUM_ART_STATUSES

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
BATCH_SIZE = 50  # the most ids GET /tracks accepts
PROGRESS_LOG_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0
REJECTED_CREDENTIAL_ERRORS = {"invalid_client", "unauthorized_client"}
NO_CREDENTIALS_WARNING = (
    "no Spotify credentials configured (SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET or "
    "SPOTIFY_CREDENTIALS): no calls made, albums left pending"
)

ENV_VARS = {
    "client_id": "SPOTIFY_CLIENT_ID",
    "client_secret": "SPOTIFY_CLIENT_SECRET",
    "credentials": "SPOTIFY_CREDENTIALS",
    "api_url": "SPOTIFY_API_URL",
    "token_url": "SPOTIFY_TOKEN_URL",
}

FOUND, NOT_FOUND, PENDING = ALBUM_ART_STATUSES

LOOKUP_SCHEMA = pl.Schema({
    "track_id": pl.String(),
    "album_id": pl.String(),
    "image_url_large": pl.String(),
    "image_url_medium": pl.String(),
    "image_url_small": pl.String(),
    "status": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
})


@dataclass
class LookupStats:
    """What a lookup cost: the numbers the asset records as metadata."""

    calls: int = 0
    token_requests: int = 0
    http_429s: int = 0
    retries: int = 0
    elapsed_seconds: float = 0.0
    endpoint: str = "none"  # batch, single or none


@dataclass
class AlbumArtLookup:
    """One row per requested track id (LOOKUP_SCHEMA), why the lookup stopped early, and its cost."""

    tracks: pl.DataFrame
    stats: LookupStats
    # Why some tracks are left pending (quota, rejected credentials, repeated errors); None if none are.
    stop_reason: str | None = None
    # False when trying again cannot help (every credential rejected, single endpoint forbidden).
    retryable: bool = True
    warnings: list[str] = field(default_factory=list)


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

    def fetch_album_art(self, *, track_ids: Sequence[str], logger: logging.Logger | Any) -> AlbumArtLookup:
        """The album id and cover URLs of each track; never raises for API trouble, reports it."""
        unique_ids = list(dict.fromkeys(track_ids))
        if not unique_ids:
            return AlbumArtLookup(tracks=pl.DataFrame(schema=LOOKUP_SCHEMA), stats=LookupStats())
        if not self.has_credentials():
            logger.warning(NO_CREDENTIALS_WARNING)
            return AlbumArtLookup(
                tracks=_rows_frame({}, unique_ids), stats=LookupStats(), warnings=[NO_CREDENTIALS_WARNING]
            )
        return _Lookup(self, logger).run(unique_ids)


def spotify_api_from_env(environ: dict[str, str] | None = None, **overrides: Any) -> SpotifyApi:
    """The resource configured from SPOTIFY_* variables; secrets stay `EnvVar`s, never plain values.

    Only variables that are set become `EnvVar`s, so a deployment without credentials still loads
    (album_art then materializes everything as pending, with a warning).
    """
    env = os.environ if environ is None else environ
    settings = {name: dg.EnvVar(variable) for name, variable in ENV_VARS.items() if env.get(variable)}
    return SpotifyApi(**{**settings, **overrides})


# -- the lookup machinery ---------------------------------------------------------------------------


class _RateLimiter:
    """Spaces requests `1 / per_second` apart across all threads; a pause holds every thread."""

    def __init__(self, per_second: float | None, stop: threading.Event):
        self._interval = 1.0 / per_second if per_second else 0.0
        self._stop = stop
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def pause_for(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(self) -> bool:
        """Block until this thread may send; False if the lookup was stopped meanwhile."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._interval
        delay = slot - now
        return not self._stop.wait(delay) if delay > 0 else not self._stop.is_set()


class _CallBudget:
    """The daily call budget; with a ledger file it spans runs (and processes) within a UTC day."""

    def __init__(self, limit: int | None, ledger_path: str | None):
        self.limit = limit
        self._ledger = Path(ledger_path) if ledger_path else None
        self._day = datetime.now(UTC).date()
        self._used_before = self._read_ledger().get(self._day.isoformat(), 0)
        self._used_now = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.limit is not None and self._used_before + self._used_now >= self.limit:
                return False
            self._used_now += 1
            return True

    def record(self) -> None:
        """Add this run's calls to the ledger (under an exclusive lock, so runs can share it)."""
        if self._ledger is None or not self._used_now:
            return
        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(self._ledger, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            ledger = json.loads(text) if text.strip() else {}
            day = self._day.isoformat()
            ledger = {day: ledger.get(day, 0) + self._used_now}  # older days are of no use
            handle.seek(0)
            handle.truncate()
            json.dump(ledger, handle)

    def _read_ledger(self) -> dict[str, int]:
        if self._ledger is None or not self._ledger.exists():
            return {}
        text = self._ledger.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else {}


class _CountedClientCredentials(SpotifyClientCredentials):
    """spotipy's client-credentials flow, counting its token requests."""

    token_requests = 0

    def _request_access_token(self):
        self.token_requests += 1
        return super()._request_access_token()


class _TokenError(Exception):
    """No token: the credential at `index` was rejected, or the token endpoint is in trouble."""

    def __init__(self, index: int, *, rejected: bool, detail: str):
        super().__init__(detail)
        self.index = index
        self.rejected = rejected


class _RotatingCredentials:
    """spotipy auth manager over several credentials: one token request at a time, failover on reject."""

    def __init__(self, pairs: list[tuple[str, str]], *, token_url: str, timeout: float,
                 session: requests.Session):
        self._managers = []
        for client_id, client_secret in pairs:
            manager = _CountedClientCredentials(
                client_id=client_id, client_secret=client_secret, requests_session=session,
                requests_timeout=timeout, cache_handler=MemoryCacheHandler(),
            )
            manager.OAUTH_TOKEN_URL = token_url
            self._managers.append(manager)
        self._index = 0
        self._lock = threading.Lock()

    @property
    def token_requests(self) -> int:
        return sum(manager.token_requests for manager in self._managers)

    def exhausted(self) -> bool:
        return self._index >= len(self._managers)

    def current(self) -> tuple[int, str]:
        """(credential index, a valid token); raises _TokenError when no token can be had."""
        with self._lock:
            index = self._index
            if index >= len(self._managers):
                raise _TokenError(index, rejected=True, detail="no credential left")
            try:
                return index, self._managers[index].get_access_token(as_dict=False)
            except SpotifyOauthError as error:
                rejected = error.error in REJECTED_CREDENTIAL_ERRORS
                raise _TokenError(index, rejected=rejected, detail=str(error.error)) from error
            except requests.RequestException as error:
                raise _TokenError(index, rejected=False, detail=type(error).__name__) from error

    def get_access_token(self, as_dict: bool = False) -> str:
        """What spotipy calls before each request."""
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


@dataclass(frozen=True)
class _Answer:
    kind: str  # ok, not_found, forbidden, gave_up
    payload: dict | None = None


_NOT_FOUND = _Answer("not_found")
_FORBIDDEN = _Answer("forbidden")
_GAVE_UP = _Answer("gave_up")


class _Lookup:
    """One `fetch_album_art` call: worker threads, shared limiter, budget, counters and stop flag."""

    def __init__(self, config: SpotifyApi, logger):
        self.config = config
        self.logger = logger
        self.stop_event = threading.Event()
        self.stop_reason: str | None = None
        self.retryable = True
        self.limiter = _RateLimiter(config.requests_per_second, self.stop_event)
        self.budget = _CallBudget(config.daily_call_budget, config.call_ledger_path)
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=max(config.workers, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.credentials = _RotatingCredentials(
            config.credential_pairs(), token_url=config.token_url,
            timeout=config.request_timeout_seconds, session=self.session,
        )
        self.client = spotipy.Spotify(
            auth_manager=self.credentials, requests_session=self.session,
            requests_timeout=config.request_timeout_seconds, retries=0, status_retries=0,
        )
        self.client.prefix = config.api_url.rstrip("/") + "/"
        self.stats = LookupStats()
        self.rows: dict[str, dict] = {}
        self.batch_refused = not config.batch_endpoint
        self._stats_lock = threading.Lock()
        self._started = 0.0
        self._total = 0

    # -- orchestration ----------------------------------------------------------------------------

    def run(self, track_ids: list[str]) -> AlbumArtLookup:
        self._started = time.monotonic()
        self._total = len(track_ids)
        mode = "single-id" if self.batch_refused else "batch (probing once)"
        self.logger.info(
            f"Spotify lookup: {self._total} tracks, {self.config.workers} workers, {mode} endpoint, "
            f"rate limit {self.config.requests_per_second or 'none'} req/s"
        )
        try:
            self._run_pool(track_ids)
        finally:
            self.budget.record()
            self.session.close()
        self.stats.token_requests = self.credentials.token_requests
        self.stats.elapsed_seconds = round(time.monotonic() - self._started, 3)
        self.stats.endpoint = "single" if self.batch_refused else "batch"
        self._log_progress(final=True)
        unanswered = self._total - len(self.rows)
        if unanswered and self.stop_reason is None:
            self.stop_reason = (f"{unanswered} tracks unanswered after {self.config.max_retries} retries "
                                "(5xx, timeouts or connection errors); they stay pending")
        return AlbumArtLookup(
            tracks=_rows_frame(self.rows, track_ids), stats=self.stats,
            stop_reason=self.stop_reason, retryable=self.retryable,
        )

    def _run_pool(self, track_ids: list[str]) -> None:
        workers = max(self.config.workers, 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spotify") as pool:
            if self.batch_refused:
                in_flight = {pool.submit(self._lookup_single, track_id) for track_id in track_ids}
                queued_batches: list[list[str]] = []
            else:
                batches = [track_ids[i:i + BATCH_SIZE] for i in range(0, len(track_ids), BATCH_SIZE)]
                in_flight = {pool.submit(self._lookup_batch, batches[0])}  # the probe: a 403 costs once
                queued_batches = batches[1:]
            last_log = time.monotonic()
            while in_flight:
                done, in_flight = wait(in_flight, timeout=PROGRESS_LOG_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    in_flight |= self._follow_up(pool, future)
                if queued_batches and done:
                    in_flight |= self._submit_batches(pool, queued_batches)
                    queued_batches = []
                if time.monotonic() - last_log >= PROGRESS_LOG_SECONDS:
                    self._log_progress()
                    last_log = time.monotonic()

    def _follow_up(self, pool: ThreadPoolExecutor, future: Future) -> set[Future]:
        """Single-id lookups for the ids of a batch the endpoint refused."""
        refused_ids = future.result()
        if not refused_ids:
            return set()
        if not self.batch_refused:
            self.batch_refused = True
            self.logger.info(
                "batch endpoint refused (403, Development Mode app): single-id calls from now on"
            )
        return {pool.submit(self._lookup_single, track_id) for track_id in refused_ids}

    def _submit_batches(self, pool: ThreadPoolExecutor, batches: list[list[str]]) -> set[Future]:
        if self.batch_refused:
            return {pool.submit(self._lookup_single, track_id) for batch in batches for track_id in batch}
        return {pool.submit(self._lookup_batch, batch) for batch in batches}

    # -- one unit of work --------------------------------------------------------------------------

    def _lookup_batch(self, track_ids: list[str]) -> list[str]:
        """Looks the batch up; returns its ids when the batch endpoint is refused, else []."""
        if self.batch_refused:
            return track_ids
        answer = self._request(lambda: self.client.tracks(track_ids))
        if answer.kind == "forbidden":
            return track_ids
        if answer.kind == "not_found":  # 400: one id spoils the batch, so ask each on its own
            for track_id in track_ids:
                self._lookup_single(track_id)
        if answer.kind == "ok" and answer.payload:
            fetched_at = datetime.now(UTC)
            for track_id, track in zip(track_ids, answer.payload.get("tracks") or [], strict=False):
                self.rows[track_id] = _track_row(track, fetched_at)
        return []

    def _lookup_single(self, track_id: str) -> list[str]:
        answer = self._request(lambda: self.client.track(track_id))
        if answer.kind == "ok" and answer.payload:  # an empty 200 body stays pending
            self.rows[track_id] = _track_row(answer.payload, datetime.now(UTC))
        elif answer.kind == "not_found":
            self.rows[track_id] = _track_row(None, datetime.now(UTC))
        elif answer.kind == "forbidden":
            self._stop("Spotify refused GET /tracks/{id} (403 Forbidden): check the app's access",
                       retryable=False)
        return []

    def _request(self, call: Callable[[], dict]) -> _Answer:
        """One API call with the whole retry policy; never raises for HTTP trouble."""
        attempt = 0
        while attempt <= self.config.max_retries and not self.stop_event.is_set():
            try:
                index, token = self.credentials.current()
            except _TokenError as error:
                if error.rejected:
                    self._fail_over(error.index)
                else:
                    attempt = self._back_off(attempt, f"token endpoint: {error}")
                continue
            if not self.limiter.wait():
                break
            if not self.budget.take():
                self._stop(f"quota exhausted; retry after 00:00 UTC (daily call budget of "
                           f"{self.budget.limit} calls spent)")
                break
            self._count("calls")
            try:
                return _Answer("ok", call())
            except spotipy.SpotifyException as error:
                status = error.http_status
                if status in (400, 404):
                    return _NOT_FOUND
                if status == 403:
                    return _FORBIDDEN
                if status == 401:
                    self.credentials.invalidate(index, token)
                    attempt = self._back_off(attempt, "401: token refreshed", delay=0.0)
                elif status == 429:
                    self._count("http_429s")
                    if not self._honour_retry_after(error.headers or {}):
                        break
                    attempt = self._back_off(attempt, "429", delay=0.0)
                elif status >= 500:
                    attempt = self._back_off(attempt, f"HTTP {status}")
                else:
                    self.logger.warning(f"Spotify answered HTTP {status}; album left pending")
                    break
            except requests.RequestException as error:
                attempt = self._back_off(attempt, type(error).__name__)
        return _GAVE_UP

    def _fail_over(self, index: int) -> None:
        """Credential `index` was rejected: use the next one, or stop when none is left."""
        if self.credentials.reject(index):
            self.logger.warning(f"Spotify credential #{index + 1} rejected by the token endpoint; "
                                "failing over to the next one")
        if self.credentials.exhausted():
            self._stop("every configured Spotify credential was rejected by the token endpoint",
                       retryable=False)

    def _honour_retry_after(self, headers) -> bool:
        """Pause every worker for Retry-After if it is within the cap; otherwise stop the lookup."""
        retry_after = _retry_after_seconds(headers)
        if retry_after is None:
            retry_after = self.config.retry_backoff_seconds
        if retry_after > self.config.max_retry_after_seconds:
            resume_at = datetime.now(UTC) + timedelta(seconds=retry_after)
            self._stop(f"quota exhausted; retry after {_utc_clock(resume_at)} (Spotify asked to wait "
                       f"{retry_after:.0f} s, more than the {self.config.max_retry_after_seconds:.0f} s cap)")
            return False
        self.limiter.pause_for(retry_after)
        return True

    def _back_off(self, attempt: int, reason: str, *, delay: float | None = None) -> int:
        """Count a retry and sleep (exponential, jittered) unless stopped; returns the next attempt."""
        self._count("retries")
        if delay is None:
            base = min(self.config.retry_backoff_seconds * 2 ** attempt, MAX_BACKOFF_SECONDS)
            delay = base * random.uniform(0.5, 1.5)
        self.logger.debug(f"Spotify retry {attempt + 1}/{self.config.max_retries} after {reason}")
        if delay:
            self.stop_event.wait(delay)
        return attempt + 1

    def _stop(self, reason: str, *, retryable: bool = True) -> None:
        with self._stats_lock:
            if self.stop_event.is_set():
                return
            self.stop_reason = reason
            self.retryable = retryable
            self.stop_event.set()
        self.logger.warning(f"Spotify lookup stopped: {reason}")

    def _count(self, counter: str) -> None:
        with self._stats_lock:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)

    def _log_progress(self, *, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        done = len(self.rows)
        rate = self.stats.calls / elapsed
        remaining = self._total - done
        eta = f"{remaining / (done / elapsed):.0f} s" if done and not final else "-"
        prefix = "Spotify lookup done" if final else "Spotify lookup"
        self.logger.info(
            f"{prefix}: {done}/{self._total} tracks answered, {self.stats.calls} calls "
            f"({rate:.1f}/s), {self.stats.http_429s} x 429, {self.stats.retries} retries, "
            f"elapsed {elapsed:.1f} s, ETA {eta}"
        )


# -- pure helpers ------------------------------------------------------------------------------------


def _track_row(track: dict | None, fetched_at: datetime) -> dict:
    """found with the album's cover URLs (largest, middle, smallest), or not_found."""
    album = (track or {}).get("album") or {}
    if not album.get("id"):
        return {"status": NOT_FOUND, "fetched_at": fetched_at}
    images = sorted(album.get("images") or [], key=lambda image: image.get("width") or 0, reverse=True)
    urls = [image.get("url") for image in images]
    return {
        "album_id": album["id"],
        "image_url_large": urls[0] if urls else None,
        "image_url_medium": urls[len(urls) // 2] if urls else None,
        "image_url_small": urls[-1] if urls else None,
        "status": FOUND,
        "fetched_at": fetched_at,
    }


def _rows_frame(rows: dict[str, dict], track_ids: list[str]) -> pl.DataFrame:
    """One row per track id; ids without an answer are pending."""
    pending = {"status": PENDING}
    return pl.DataFrame(
        [{"track_id": track_id, **rows.get(track_id, pending)} for track_id in track_ids],
        schema=LOOKUP_SCHEMA,
    )


def _retry_after_seconds(headers) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date); None when absent or unreadable."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _utc_clock(moment: datetime) -> str:
    """HH:MM UTC, with the date when it is not today."""
    today: date = datetime.now(UTC).date()
    return moment.strftime("%H:%M UTC" if moment.date() == today else "%Y-%m-%d %H:%M UTC")
