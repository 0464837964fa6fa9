"""A fake Spotify Web API on loopback, speaking real HTTP, for tests and benchmarks.

It implements what the Spotify lookup uses: the client-credentials token endpoint,
`GET /v1/tracks/{id}` and `GET /v1/tracks?ids=` (403 when playing a Development Mode app), with 404
for unknown ids, 401 for unknown or expired tokens, and scriptable trouble: 429 with `Retry-After`
(and the `QUOTA_EXCEEDED` reason Spotify's body carries since July 2026), 503, hanging responses, a
per-request latency and an exhausted quota. Track objects have the real shape (`track_json`):
`external_ids.isrc` (missing on some tracks), `duration_ms`, `explicit`, `artists[].id`, and the
album's `album_type`, `release_date` at year, month or day precision and `images`;
`fake_recordings` releases one recording (one ISRC) under several track ids. `GET /_fake/stats`
returns the request counts, so a fake running in another process can be audited too.

In a test:

    with FakeSpotify(catalog=fake_catalog(10)) as server:
        SpotifyApi(client_id="fake-id", client_secret="fake-secret",
                   api_url=server.api_url, token_url=server.token_url)

From a shell (e.g. for a benchmark):

    python -m spotify_assets_tests.fake_spotify --port 8765 --albums 2000 --tracks-per-album 4 \
        --latency 0.05 --development-mode
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

FAKE_CLIENT_ID = "fake-client-id"
FAKE_CLIENT_SECRET = "fake-client-secret"
BATCH_LIMIT = 50
IMAGE_SIZES = (640, 300, 64)
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Endpoint names used in `counts`.
TOKEN = "token"
TRACK = "track"
TRACKS = "tracks"


def spotify_id(seed: str) -> str:
    """A deterministic 22-character base62 id derived from `seed`."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:17], "big")
    characters = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        characters.append(BASE62[digit])
    return "".join(characters)


def fake_catalog(album_count: int, *, tracks_per_album: int = 1, prefix: str = "album") -> dict[str, str]:
    """`album_count` albums of `tracks_per_album` tracks each: track id -> album id."""
    return {
        spotify_id(f"{prefix}-{n}-track" + (f"-{k}" if k else "")): spotify_id(f"{prefix}-{n}")
        for n in range(album_count)
        for k in range(tracks_per_album)
    }


def fake_recordings(
    recordings: int, *, releases: int = 3, prefix: str = "recording"
) -> tuple[dict[str, str], dict[str, str | None]]:
    """`recordings` recordings, each released as `releases` track ids on different albums (album,
    single, compilation) sharing one ISRC: (track id -> album id, track id -> ISRC)."""
    catalog, isrcs = {}, {}
    for n in range(recordings):
        isrc = f"QZREC{n % 100:02d}{n % 100_000:05d}"
        for release in range(releases):
            track_id = spotify_id(f"{prefix}-{n}-release-{release}")
            catalog[track_id] = spotify_id(f"{prefix}-{n}-album-{release}")
            isrcs[track_id] = isrc
    return catalog, isrcs


def _number(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


def fake_isrc(track_id: str) -> str | None:
    """The track's own ISRC (12 characters), or None for about one track in eight, as real catalogs have."""
    number = _number(track_id + "isrc")
    if number % 8 == 0:
        return None
    return f"QZ{BASE62[number % 26 + 10]}{number % 100:02d}{number // 100 % 100:02d}{number % 99_991:05d}"


def release_of(album_id: str) -> dict:
    """The album's type and release date, at year, month or day precision (all three occur)."""
    number = _number(album_id + "release")
    year = 1960 + number % 66
    precision = ("day", "month", "year")[number % 3]
    date = {
        "year": f"{year}",
        "month": f"{year}-{number % 12 + 1:02d}",
        "day": f"{year}-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
    }[precision]
    return {
        "album_type": ("album", "single", "compilation")[number // 3 % 3],
        "release_date": date,
        "release_date_precision": precision,
    }


def track_json(track_id: str, album_id: str, *, isrc: str | None = None) -> dict:
    """A track object shaped like Spotify's GET /v1/tracks/{id} answer (Development Mode, 2026):
    external_ids.isrc (absent when `isrc` is None), duration, explicit, several artists on some
    tracks, and the album with its type, release date and precision, and covers."""
    number = _number(track_id)
    images = [
        {"url": f"https://i.scdn.co/image/{album_id}-{size}", "height": size, "width": size}
        for size in IMAGE_SIZES
    ]
    album_artist = {"id": spotify_id(album_id + "artist"), "name": "Fake Artist", "type": "artist"}
    featured = (
        [{"id": spotify_id(track_id + "feat"), "name": "Guest", "type": "artist"}] if number % 4 == 0 else []
    )
    return {
        "id": track_id,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
        "name": f"Track {track_id[:6]}",
        "duration_ms": 90_000 + number % 300_000,
        "explicit": number % 5 == 0,
        "track_number": number % 12 + 1,
        "disc_number": 1,
        "is_local": False,
        "external_ids": {"isrc": isrc} if isrc else {},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "artists": [album_artist, *featured],
        "album": {
            "id": album_id,
            "type": "album",
            "name": f"Album {album_id[:6]}",
            "uri": f"spotify:album:{album_id}",
            **release_of(album_id),
            "total_tracks": 12,
            "images": images,
            "artists": [album_artist],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
        },
    }


@dataclass(frozen=True)
class ScriptedResponse:
    """An answer served instead of the real one to the next API request."""

    status: int
    retry_after_seconds: int | None = None
    hang_seconds: float = 0.0
    reason: str | None = None  # the error body's `reason`, e.g. QUOTA_EXCEEDED on a 429


class FakeSpotify:
    """The fake server; start/stop it, or use it as a context manager. Thread-safe counters."""

    def __init__(
        self,
        *,
        catalog: dict[str, str] | None = None,
        isrcs: dict[str, str | None] | None = None,
        credentials: dict[str, str] | None = None,
        development_mode: bool = False,
        latency_seconds: float = 0.0,
        token_lifetime_seconds: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.catalog = dict(catalog or {})
        self.isrcs = dict(isrcs or {})  # overrides fake_isrc(track_id), e.g. from fake_recordings
        self.credentials = dict(credentials or {FAKE_CLIENT_ID: FAKE_CLIENT_SECRET})
        self.development_mode = development_mode
        self.latency_seconds = latency_seconds
        self.token_lifetime_seconds = token_lifetime_seconds
        self.hang_ids: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._script: deque[ScriptedResponse] = deque()
        self._tokens: dict[str, float] = {}
        self._quota_left: int | None = None
        self._quota_retry_after: int | None = 0
        self._quota_reason: str | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/token"

    def start(self) -> FakeSpotify:
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-spotify",
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------

    def script(self, *responses: ScriptedResponse) -> None:
        """Serve `responses`, in order, to the next API requests (tokens are not affected)."""
        with self._lock:
            self._script.extend(responses)

    def exhaust_quota_after(
        self, calls: int, *, retry_after_seconds: int | None, reason: str | None = None
    ) -> None:
        """Answer 429 (with `Retry-After` and the body's `reason` when given) to every API request
        after the next `calls` ones."""
        with self._lock:
            self._quota_left = calls
            self._quota_retry_after = retry_after_seconds
            self._quota_reason = reason

    def restore_quota(self) -> None:
        with self._lock:
            self._quota_left = None

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as if they had all expired."""
        with self._lock:
            self._tokens.clear()

    def api_requests(self) -> int:
        return self.counts[TRACK] + self.counts[TRACKS]

    def stats(self) -> dict:
        with self._lock:
            return {"counts": dict(self.counts), "statuses": {str(k): v for k, v in self.statuses.items()}}

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.statuses.clear()

    # -- behaviour, called from the handler threads ----------------------------------------------

    def _count(self, endpoint: str) -> None:
        with self._lock:
            self.counts[endpoint] += 1

    def _record_status(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def _issue_token(self, authorization: str | None) -> tuple[int, dict, dict]:
        client_id, client_secret = _basic_credentials(authorization)
        if client_id is None or self.credentials.get(client_id) != client_secret:
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}, {}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime_seconds
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_seconds}
        return 200, body, {}

    def _token_is_valid(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            expires = self._tokens.get(authorization.removeprefix("Bearer "))
        return expires is not None and expires > time.monotonic()

    def _trouble(self) -> ScriptedResponse | None:
        """The scripted or quota answer owed to this API request, if any."""
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self._quota_left is not None:
                if self._quota_left <= 0:
                    return ScriptedResponse(
                        429, retry_after_seconds=self._quota_retry_after, reason=self._quota_reason
                    )
                self._quota_left -= 1
        return None

    def _hang(self, seconds: float) -> None:
        self._released.wait(seconds)

    def answer_api(self, path: str, query: dict[str, list[str]], authorization: str | None):
        """(status, body, headers) for an API request."""
        if not self._token_is_valid(authorization):
            return 401, _error(401, "Invalid access token"), {}
        trouble = self._trouble()
        if trouble is not None:
            if trouble.hang_seconds:
                self._hang(trouble.hang_seconds)
            headers = {}
            if trouble.retry_after_seconds is not None:
                headers["Retry-After"] = str(trouble.retry_after_seconds)
            return trouble.status, _error(trouble.status, "Scripted failure", trouble.reason), headers
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        if path.rstrip("/") == "/v1/tracks":
            return self._answer_batch(query)
        track_id = path.removeprefix("/v1/tracks/")
        if track_id in self.hang_ids:
            self._hang(3600)
        album_id = self.catalog.get(track_id)
        if album_id is None:
            return 404, _error(404, "Resource not found"), {}
        return 200, self.track(track_id), {}

    def track(self, track_id: str) -> dict:
        """The track object this server answers for a catalog id."""
        isrc = self.isrcs[track_id] if track_id in self.isrcs else fake_isrc(track_id)
        return track_json(track_id, self.catalog[track_id], isrc=isrc)

    def _answer_batch(self, query: dict[str, list[str]]):
        if self.development_mode:
            return 403, _error(403, "Forbidden"), {}
        ids = [track_id for value in query.get("ids", []) for track_id in value.split(",") if track_id]
        if not ids or len(ids) > BATCH_LIMIT:
            return 400, _error(400, "Invalid ids"), {}
        tracks = [self.track(track_id) if track_id in self.catalog else None for track_id in ids]
        return 200, {"tracks": tracks}, {}


def _error(status: int, message: str, reason: str | None = None) -> dict:
    error = {"status": status, "message": message}
    if reason:
        error["reason"] = reason
    return {"error": error}


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization or not authorization.startswith("Basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
    except ValueError:
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _handler_for(fake: FakeSpotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real API
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if urlsplit(self.path).path != "/api/token":
                self._send(404, _error(404, "Not found"))
                return
            fake._count(TOKEN)
            if form.get("grant_type") != ["client_credentials"]:
                self._send(400, {"error": "unsupported_grant_type"})
                return
            self._send(*fake._issue_token(self.headers.get("Authorization")))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/_fake/stats":
                self._send(200, fake.stats())
                return
            if not url.path.startswith("/v1/tracks"):
                self._send(404, _error(404, "Not found"))
                return
            query = parse_qs(url.query)
            fake._count(TRACKS if url.path.rstrip("/") == "/v1/tracks" else TRACK)
            self._send(*fake.answer_api(url.path, query, self.headers.get("Authorization")))

        def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
            payload = json.dumps(body).encode()
            fake._record_status(status)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing left to answer

        def log_message(self, format: str, *args) -> None:
            """Silent: tests and benchmarks read `counts`, not an access log."""

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Spotify Web API until interrupted.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--albums", type=int, default=0, help="catalog size in albums (fake_catalog)")
    parser.add_argument("--tracks-per-album", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--development-mode", action="store_true", help="403 on the batch endpoint")
    options = parser.parse_args()
    server = FakeSpotify(
        catalog=fake_catalog(options.albums, tracks_per_album=options.tracks_per_album),
        development_mode=options.development_mode,
        latency_seconds=options.latency,
        host=options.host,
        port=options.port,
    )
    # The one line a parent process reads to learn the address.
    print(json.dumps({"api_url": server.api_url, "token_url": server.token_url}), flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        server._server.server_close()


if __name__ == "__main__":
    main()
