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
DEFAULT_LAKE_RETENTION_HOURS = 168
# the object-store lake's credentials: read by name (as Dagster EnvVars), never stored in settings
ACCESS_KEY_VAR = "SPOTIFY_LAKE_ACCESS_KEY_ID"
SECRET_KEY_VAR = "SPOTIFY_LAKE_SECRET_ACCESS_KEY"
SESSION_TOKEN_VAR = "SPOTIFY_LAKE_SESSION_TOKEN"
LAKE_CREDENTIAL_VARS = (ACCESS_KEY_VAR, SECRET_KEY_VAR, SESSION_TOKEN_VAR)
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


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
    lake_endpoint: str | None = None  # an S3-compatible server's URL (unset: AWS S3)
    lake_region: str | None = None
    lake_allow_http: bool = False  # plain-HTTP endpoints: tests and a server on loopback only
    lake_credential_vars: tuple[str, ...] = ()  # which of LAKE_CREDENTIAL_VARS are set (names only)
    lake_retention_hours: int = DEFAULT_LAKE_RETENTION_HOURS  # maintain_lake vacuums files older than this

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
            lake_endpoint=env.get("SPOTIFY_LAKE_ENDPOINT") or None,
            lake_region=env.get("SPOTIFY_LAKE_REGION") or None,
            lake_allow_http=_flag(env, "SPOTIFY_LAKE_ALLOW_HTTP"),
            lake_credential_vars=tuple(name for name in LAKE_CREDENTIAL_VARS if env.get(name)),
            lake_retention_hours=lake_retention_hours(env),
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
        if warehouse_scheme(self.warehouse_url) not in WAREHOUSE_SCHEMES:
            raise ValueError(
                f"SPOTIFY_WAREHOUSE_URL={mask_url(self.warehouse_url)!r}: expected sqlite:///PATH (a file) "
                "or mysql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"SPOTIFY_TIMEZONE={self.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from error
        if self.lake_endpoint and "://" not in self.lake_uri:
            raise ValueError(
                f"SPOTIFY_LAKE_ENDPOINT is set but SPOTIFY_LAKE_URI={self.lake_uri!r} is a local folder: "
                "use an s3://BUCKET/PREFIX lake or unset the endpoint"
            )
        if (self.lake_endpoint or "").lower().startswith("http://") and not self.lake_allow_http:
            raise ValueError(
                f"SPOTIFY_LAKE_ENDPOINT={self.lake_endpoint!r} is plain HTTP: use https://, or set "
                "SPOTIFY_LAKE_ALLOW_HTTP=true for a test server on loopback"
            )
        if self.lake_retention_hours < 0:
            raise ValueError(f"SPOTIFY_LAKE_RETENTION_HOURS={self.lake_retention_hours}: expected hours >= 0")


WAREHOUSE_SCHEMES = ("sqlite", "mysql", "mariadb")  # resources/warehouse/core.DIALECTS' keys


def warehouse_scheme(url: str) -> str:
    """The dialect a warehouse URL names: its scheme without a driver (`mysql+pymysql` -> `mysql`)."""
    return urlsplit(url).scheme.split("+")[0]


def _flag(env, name: str) -> bool:
    value = (env.get(name) or "").strip().lower()
    if value not in TRUE_WORDS + FALSE_WORDS:
        raise ValueError(f"{name}={env.get(name)!r}: expected true or false")
    return value in TRUE_WORDS


def lake_retention_hours(environ=None) -> int:
    """SPOTIFY_LAKE_RETENTION_HOURS (168 when unset)."""
    env = os.environ if environ is None else environ
    return _hours(env, "SPOTIFY_LAKE_RETENTION_HOURS", DEFAULT_LAKE_RETENTION_HOURS)


def _hours(env, name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a whole number of hours, e.g. {default}") from None


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
