"""The `SPOTIFY_*` settings, read once from the environment.

Every outside tool (the CLI, the UI, docker, CI) drives the platform through these names;
`definitions.py` turns them into resources, so no asset ever reads the environment itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .transforms.listens import DEFAULT_LISTEN_RULE, parse_listen_rule

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_LAKE_URI = "data/lake"
DEFAULT_WAREHOUSE_URL = "sqlite:///data/warehouse.sqlite"
DEFAULT_REPORT_DIR = "data/reports"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_ENGINE = "polars"
DEFAULT_TRACK_OVERRIDES = "data/track_overrides.csv"
ENGINES = ("polars", "spark", "databricks")
CSV_DATE_ORDERS = ("dmy", "mdy")  # tables.DATE_ORDERS (not imported: settings stay free of Dagster)


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
    # How to read year-last CSV dates (7/8/2013) when a file's own values cannot tell: dmy or mdy.
    csv_date_order: str | None = None
    listen_rule: str = DEFAULT_LISTEN_RULE

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
            csv_date_order=(env.get("SPOTIFY_CSV_DATE_ORDER") or "").strip().lower() or None,
            listen_rule=(env.get("SPOTIFY_LISTEN_RULE") or DEFAULT_LISTEN_RULE).strip().lower(),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.engine not in ENGINES:
            raise ValueError(f"SPOTIFY_ENGINE={self.engine!r}: expected one of {', '.join(ENGINES)}")
        if self.csv_date_order not in (None, *CSV_DATE_ORDERS):
            raise ValueError(
                f"SPOTIFY_CSV_DATE_ORDER={self.csv_date_order!r}: expected dmy (day first: 8/7/2013 is "
                "8 July) or mdy (month first: 7/8/2013 is 8 July)"
            )
        parse_listen_rule(self.listen_rule)
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
