"""One lookup: worker threads sharing a rate limiter, a call budget, credentials and a stop flag.

Every wait is owned here: spotipy's retries are off and it talks through a plain `requests.Session`
(with spotipy's own session, `retries=0` still turns a 429 or 503 into a "Max Retries" 429 without
its `Retry-After`). The policy:

* every request has a timeout; 5xx, timeouts and connection errors are retried with exponential
  backoff and jitter, up to `max_retries`;
* a 429 pauses every worker for its `Retry-After` when that is at most `max_retry_after_seconds`;
  past the cap, on a 429 whose body says `QUOTA_EXCEEDED`, or once `daily_call_budget` is spent,
  the lookup stops calling, keeps what it has and reports the rest as pending with "quota
  exhausted; retry after HH:MM UTC" (and the time itself, `retry_after`);
* the token is refreshed before it expires (spotipy's 60 s margin) and after a 401; a credential
  the token endpoint rejects hands over to the next one in `credentials`;
* the batch endpoint (`GET /tracks?ids=`) is tried once; a 403 (Development Mode apps) switches to
  `GET /tracks/{id}` for the rest of the lookup, that batch's ids included.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
import spotipy

from .budget import CallBudget
from .credentials import RotatingCredentials, TokenError
from .quota import QUOTA_EXCEEDED_REASON, quota_stop_reason, retry_after_seconds, utc_clock
from .rate_limiter import RateLimiter
from .results import LookupStats, TrackLookup, answer_row, answers_frame
from .spotipy_adapter import api_client

if TYPE_CHECKING:
    from .resource import SpotifyApi

BATCH_SIZE = 50  # the most ids GET /tracks accepts
PROGRESS_LOG_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class _Answer:
    kind: str  # ok, not_found, forbidden, gave_up
    payload: dict | None = None


_NOT_FOUND = _Answer("not_found")
_FORBIDDEN = _Answer("forbidden")
_GAVE_UP = _Answer("gave_up")


def retry_cause(reason: str) -> str:
    """The kind of trouble behind a retry, as the give-up message counts it."""
    if reason.startswith("429"):
        return "429 rate limits"
    if reason.startswith("HTTP 5"):
        return "5xx answers"
    if reason.startswith("401"):
        return "expired tokens"
    if reason.startswith("token endpoint"):
        return "token endpoint errors"
    return "timeouts or connection errors"


class LookupRun:
    """One lookup: worker threads, shared limiter, budget, counters and stop flag."""

    def __init__(self, config: SpotifyApi, logger: Any):
        self.config = config
        self.logger = logger
        self.stop_event = threading.Event()
        self.stop_reason: str | None = None
        self.retryable = True
        self.retry_after: datetime | None = None
        self.limiter = RateLimiter(config.requests_per_second, self.stop_event)
        self.budget = CallBudget(config.daily_call_budget, config.call_ledger_path)
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=max(config.workers, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.credentials = RotatingCredentials(
            config.credential_pairs(),
            token_url=config.token_url,
            timeout=config.request_timeout_seconds,
            session=self.session,
        )
        self.client = api_client(
            self.credentials,
            api_url=config.api_url,
            session=self.session,
            timeout=config.request_timeout_seconds,
        )
        self.stats = LookupStats()
        self.rows: dict[str, dict] = {}
        self.batch_refused = not config.batch_endpoint
        self._stats_lock = threading.Lock()
        self._retry_causes: Counter[str] = Counter()  # why calls were retried, for the give-up message
        self._started = 0.0
        self._total = 0

    # -- orchestration ----------------------------------------------------------------------------

    def run(self, track_ids: list[str]) -> TrackLookup:
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
            causes = ", ".join(f"{cause} {count:,}" for cause, count in self._retry_causes.most_common())
            self.stop_reason = (
                f"{unanswered} tracks unanswered after {self.config.max_retries} retries "
                f"(retries after: {causes or 'none'}); they stay pending"
            )
        return TrackLookup(
            tracks=answers_frame(self.rows, track_ids),
            stats=self.stats,
            stop_reason=self.stop_reason,
            retryable=self.retryable,
            retry_after=self.retry_after,
        )

    def _run_pool(self, track_ids: list[str]) -> None:
        workers = max(self.config.workers, 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spotify") as pool:
            if self.batch_refused:
                in_flight = {pool.submit(self._lookup_single, track_id) for track_id in track_ids}
                queued_batches: list[list[str]] = []
            else:
                batches = [track_ids[i : i + BATCH_SIZE] for i in range(0, len(track_ids), BATCH_SIZE)]
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
                self.rows[track_id] = answer_row(track, fetched_at)
        return []

    def _lookup_single(self, track_id: str) -> list[str]:
        answer = self._request(lambda: self.client.track(track_id))
        if answer.kind == "ok" and answer.payload:  # an empty 200 body stays pending
            self.rows[track_id] = answer_row(answer.payload, datetime.now(UTC))
        elif answer.kind == "not_found":
            self.rows[track_id] = answer_row(None, datetime.now(UTC))
        elif answer.kind == "forbidden":
            self._stop(
                "Spotify refused GET /tracks/{id} (403 Forbidden): check the app's access", retryable=False
            )
        return []

    def _request(self, call: Callable[[], dict]) -> _Answer:
        """One API call with the whole retry policy; never raises for HTTP trouble."""
        attempt = 0
        while attempt <= self.config.max_retries and not self.stop_event.is_set():
            try:
                index, token = self.credentials.current()
            except TokenError as error:
                if error.rejected:
                    self._fail_over(error.index)
                else:
                    attempt = self._back_off(attempt, f"token endpoint: {error}")
                continue
            if not self.limiter.wait():
                break
            if not self.budget.take():
                self._stop(
                    quota_stop_reason("00:00 UTC", f"daily call budget of {self.budget.limit} calls spent"),
                    retry_after=self.budget.resets_at(),
                )
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
                    if not self._honour_retry_after(error.headers or {}, reason=error.reason):
                        break
                    attempt = self._back_off(attempt, "429", delay=0.0)
                elif status >= 500:
                    attempt = self._back_off(attempt, f"HTTP {status}")
                else:
                    self.logger.warning(f"Spotify answered HTTP {status}; track left pending")
                    break
            except requests.RequestException as error:
                attempt = self._back_off(attempt, type(error).__name__)
        return _GAVE_UP

    def _fail_over(self, index: int) -> None:
        """Credential `index` was rejected: use the next one, or stop when none is left."""
        if self.credentials.reject(index):
            self.logger.warning(
                f"Spotify credential #{index + 1} rejected by the token endpoint; "
                "failing over to the next one"
            )
        if self.credentials.exhausted():
            self._stop(
                "every configured Spotify credential was rejected by the token endpoint", retryable=False
            )

    def _honour_retry_after(self, headers, *, reason: str | None) -> bool:
        """Pause every worker for Retry-After if it is within the cap; otherwise stop the lookup.

        A 429 whose body says QUOTA_EXCEEDED stops at once whatever Retry-After says: the account's
        quota is spent, and every further call would only be refused (without a Retry-After the
        next try is at 00:00 UTC, as for our own daily budget).
        """
        retry_after = retry_after_seconds(headers)
        cap = self.config.max_retry_after_seconds
        if reason == QUOTA_EXCEEDED_REASON:
            resume_at = (
                datetime.now(UTC) + timedelta(seconds=retry_after)
                if retry_after is not None
                else self.budget.resets_at()
            )
            self._stop(
                quota_stop_reason(utc_clock(resume_at), "Spotify answered 429 QUOTA_EXCEEDED"),
                retry_after=resume_at,
            )
            return False
        if retry_after is None:
            retry_after = self.config.retry_backoff_seconds
        if retry_after > cap:
            resume_at = datetime.now(UTC) + timedelta(seconds=retry_after)
            detail = f"Spotify asked to wait {retry_after:.0f} s, more than the {cap:.0f} s cap"
            self._stop(quota_stop_reason(utc_clock(resume_at), detail), retry_after=resume_at)
            return False
        self.limiter.pause_for(retry_after)
        return True

    def _back_off(self, attempt: int, reason: str, *, delay: float | None = None) -> int:
        """Count a retry and sleep (exponential, jittered) unless stopped; returns the next attempt."""
        self._count("retries")
        with self._stats_lock:
            self._retry_causes[retry_cause(reason)] += 1
        if delay is None:
            base = min(self.config.retry_backoff_seconds * 2**attempt, MAX_BACKOFF_SECONDS)
            delay = base * random.uniform(0.5, 1.5)
        self.logger.debug(f"Spotify retry {attempt + 1}/{self.config.max_retries} after {reason}")
        if delay:
            self.stop_event.wait(delay)
        return attempt + 1

    def _stop(self, reason: str, *, retryable: bool = True, retry_after: datetime | None = None) -> None:
        with self._stats_lock:
            if self.stop_event.is_set():
                return
            self.stop_reason = reason
            self.retryable = retryable
            self.retry_after = retry_after
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
