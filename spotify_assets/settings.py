"""The `SPOTIFY_*` settings, read once from the environment.

Every outside tool (the CLI, the UI, docker, CI) drives the platform through these names;
`definitions.py` turns them into resources, so no asset ever reads the environment itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_LAKE_URI = "data/lake"
DEFAULT_WAREHOUSE_URL = "sqlite:///data/warehouse.sqlite"
DEFAULT_REPORT_DIR = "data/reports"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_ENGINE = "polars"
DEFAULT_TRACK_OVERRIDES = "data/track_overrides.csv"
ENGINES = ("polars", "spark", "databricks")


@dataclass(frozen=True)
class Settings:
    """One deployment profile: where files land, where tables live, which engine runs the model."""

    landing_dir: str = DEFAULT_LANDING_DIR
    lake_uri: str = DEFAULT_LAKE_URI
    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    report_dir: str = DEFAULT_REPORT_DIR
    timezone: str = DEFAULT_TIMEZONE
    engine: str = DEFAULT_ENGINE
    track_overrides: str = DEFAULT_TRACK_OVERRIDES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            landing_dir=env.get("SPOTIFY_LANDING_DIR") or DEFAULT_LANDING_DIR,
            lake_uri=env.get("SPOTIFY_LAKE_URI") or DEFAULT_LAKE_URI,
            warehouse_url=env.get("SPOTIFY_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL,
            report_dir=env.get("SPOTIFY_REPORT_DIR") or DEFAULT_REPORT_DIR,
            timezone=env.get("SPOTIFY_TIMEZONE") or DEFAULT_TIMEZONE,
            engine=(env.get("SPOTIFY_ENGINE") or DEFAULT_ENGINE).lower(),
            track_overrides=env.get("SPOTIFY_TRACK_OVERRIDES") or DEFAULT_TRACK_OVERRIDES,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.engine not in ENGINES:
            raise ValueError(f"SPOTIFY_ENGINE={self.engine!r}: expected one of {', '.join(ENGINES)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"SPOTIFY_TIMEZONE={self.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from error


def spotify_credentials_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether Spotify Web API credentials are set (SPOTIFY_CLIENT_ID and _SECRET, or SPOTIFY_CREDENTIALS)."""
    env = os.environ if environ is None else environ
    return bool(env.get("SPOTIFY_CLIENT_ID") and env.get("SPOTIFY_CLIENT_SECRET")) or bool(
        env.get("SPOTIFY_CREDENTIALS")
    )


def mask_url(url: str) -> str:
    """The URL with its password replaced by `***`, safe to print or record."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
