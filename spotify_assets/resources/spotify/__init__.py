"""The Spotify Web API client: the one place that decides how hard to call Spotify.

- `resource.py`: the `spotify` resource (settings, the entry point assets call);
- `lookup.py`: one lookup: the worker pool and the retry/quota policy of each request;
- `rate_limiter.py`, `budget.py`, `credentials.py`: request spacing, the daily call budget and its
  ledger file, credential failover;
- `quota.py`: reading `Retry-After` and the wording of a quota stop;
- `results.py`: what a lookup hands back;
- `spotipy_adapter.py`: the only module touching spotipy's undocumented attributes.
"""

from .resource import SpotifyApi, spotify_api_from_env
from .results import FOUND, NOT_FOUND, PENDING, LookupStats, TrackLookup

__all__ = [
    "FOUND",
    "NOT_FOUND",
    "PENDING",
    "LookupStats",
    "SpotifyApi",
    "TrackLookup",
    "spotify_api_from_env",
]
