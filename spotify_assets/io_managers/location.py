"""Where the lake lives: its URI and the object-store options delta-rs and Polars need to reach it.

A local lake is a folder and needs no options. An object-store lake (`s3://bucket/prefix`) is
described by `dagster-deltalake`'s storage configs (`S3Config`, `GcsConfig`, `AzureConfig`,
`LocalConfig`) and its `ClientConfig`; `definitions.py` builds them once from the settings and hands
the same ones to the lake IO manager and the lake resource. Credentials are `dg.EnvVar`s there: the
UI and run config show the variable's name, never its value. When no credential variable is set, the
object store's own chain applies (the standard `AWS_*` variables, a profile, an instance or pod role).

`LakeLocation` is what the read and write functions take: the URI plus plain string options, with
any `EnvVar` resolved at the last moment. Its repr leaves the options out, so a secret never reaches
a log line or an error message through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
from dagster_deltalake.config import AzureConfig, ClientConfig, GcsConfig, LocalConfig, S3Config

from ..settings import ACCESS_KEY_VAR, SECRET_KEY_VAR, SESSION_TOKEN_VAR, Settings

StorageConfig = LocalConfig | S3Config | GcsConfig | AzureConfig

S3_SCHEMES = ("s3", "s3a")
GCS_SCHEMES = ("gs", "gcs")
AZURE_SCHEMES = ("az", "abfs", "abfss", "adl", "azure")


def is_remote(uri: str) -> bool:
    return "://" in uri


@dataclass(frozen=True)
class LakeLocation:
    """The lake's root URI and the storage options every reader and writer of it passes on."""

    uri: str
    storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, lake: Lake) -> LakeLocation:
        return lake if isinstance(lake, LakeLocation) else cls(lake)

    @property
    def remote(self) -> bool:
        return is_remote(self.uri)

    def table_uri(self, table: str) -> str:
        return f"{self.uri.rstrip('/')}/{table}" if self.remote else str(Path(self.uri) / table)

    def options(self) -> dict[str, str] | None:
        """The options as delta-rs and Polars take them (None for a local lake)."""
        return dict(self.storage_options) if self.storage_options else None


Lake = LakeLocation | str  # a plain string is a lake that needs no options (a folder, or env-configured)


def _resolved(value: object) -> str:
    if isinstance(value, dg.EnvVar):
        value = value.get_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def storage_options(storage: StorageConfig | None, client: ClientConfig | None = None) -> dict[str, str]:
    """Options for delta-rs and Polars from the storage configs (`EnvVar`s resolved, unset ones left out)."""
    options: dict[str, str] = {}
    for config in (storage, client):
        if config is None:
            continue
        for key, value in config.model_dump().items():
            if key != "provider" and value is not None:
                options[key] = _resolved(value)
    return options


def _credential(name: str, settings: Settings) -> dg.EnvVar | None:
    return dg.EnvVar(name) if name in settings.lake_credential_vars else None


def storage_config(settings: Settings) -> StorageConfig:
    """The storage config of the settings' lake; credentials by variable name, when that variable is set."""
    scheme = urlsplit(settings.lake_uri).scheme.lower() if is_remote(settings.lake_uri) else ""
    if scheme in S3_SCHEMES:
        return S3Config(
            endpoint=settings.lake_endpoint,
            region=settings.lake_region,
            access_key_id=_credential(ACCESS_KEY_VAR, settings),
            secret_access_key=_credential(SECRET_KEY_VAR, settings),
            token=_credential(SESSION_TOKEN_VAR, settings),
        )
    if scheme in GCS_SCHEMES:
        return GcsConfig()
    if scheme in AZURE_SCHEMES:
        # abfss://container@ACCOUNT.dfs.core.windows.net/...; other forms name it in the environment
        host = urlsplit(settings.lake_uri).hostname or ""
        account = host.split(".")[0] if "@" in settings.lake_uri else None
        return AzureConfig(account_name=account or dg.EnvVar("AZURE_STORAGE_ACCOUNT_NAME"))
    return LocalConfig()


def client_config(settings: Settings) -> ClientConfig | None:
    return ClientConfig(allow_http=True) if settings.lake_allow_http else None


def lake_location(settings: Settings) -> LakeLocation:
    """The lake of `settings` outside a Dagster run (the CLI's summaries, tests, benchmarks)."""
    options = storage_options(storage_config(settings), client_config(settings))
    return LakeLocation(settings.lake_uri, options if is_remote(settings.lake_uri) else {})
