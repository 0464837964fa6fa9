"""The MySQL/MariaDB connection of the warehouse (pymysql), with messages that say what to do.

TLS: `?ssl_ca=/path/ca.pem` encrypts; `&ssl_verify=true` also checks the server certificate
against that CA and its host name (what AWS RDS with `require_secure_transport` needs). Without
`ssl_ca`, pymysql (>= 1.1) negotiates TLS when the server offers it but verifies nothing, so a
man in the middle goes unnoticed; `?ssl_disabled=true` forces a plain connection. Every failure
names the masked URL (`mysql://user:***@host:port/db`), never the password.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql

from .base import ConnectOptions, WarehouseError, quote

ACCESS_DENIED = {1044, 1045, 1698}
UNKNOWN_DATABASE = 1049
TRUE_WORDS = ("1", "true", "yes")
SESSION_SETUP = "SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone='+00:00'"


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def tls_options(url: str) -> dict[str, Any]:
    query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
    if query.get("ssl_disabled", "false").lower() in TRUE_WORDS:
        return {"ssl_disabled": True}
    if "ssl_ca" not in query:
        return {}  # pymysql >= 1.1 then tries TLS without verifying it, and falls back to plain
    verify = query.get("ssl_verify", "false").lower() in TRUE_WORDS
    return {"ssl_ca": query["ssl_ca"], "ssl_verify_cert": verify, "ssl_verify_identity": verify}


def _reason(error: pymysql.err.OperationalError, tls: dict[str, Any]) -> str:
    code, message = error.args[0], str(error.args[1]) if len(error.args) > 1 else ""
    if code in ACCESS_DENIED:
        hint = "" if "ssl_ca" in tls else ", or a user that requires TLS: add ?ssl_ca=CA.pem&ssl_verify=true"
        return f"access denied (wrong user or password{hint})"
    if "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify failed" in message:
        found = re.search(r"certificate verify failed: (.+?)\s*\(_ssl", message)
        return (
            f"the server's TLS certificate was refused ({found.group(1) if found else 'verify failed'}): "
            f"is ssl_ca {tls.get('ssl_ca')} the CA that signed it, and the host name the one in it?"
        )
    if "SSL" in message or "TLS" in message:
        return f"TLS handshake failed ({message.split('(', 1)[-1].rstrip(')')})"
    return "unreachable"


def connect(options: ConnectOptions) -> pymysql.Connection:
    """A connection to the URL's database (created when missing), autocommit, UTC, strict."""
    parts = urlsplit(options.url)
    database = database_name(options.url)
    if not database:
        raise WarehouseError(f"{options.masked_url}: the URL names no database (mysql://.../DB)")
    tls = tls_options(options.url)
    try:
        connection = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            charset="utf8mb4",
            autocommit=True,
            local_infile=options.local_infile,
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            write_timeout=options.read_timeout,
            init_command=SESSION_SETUP,
            **tls,
        )
    except pymysql.err.OperationalError as error:
        raise WarehouseError(
            f"cannot connect to the warehouse {options.masked_url}: {_reason(error, tls)} "
            f"[MySQL error {error.args[0]}]"
        ) from None
    try:
        connection.select_db(database)
    except pymysql.err.OperationalError as error:
        if error.args[0] != UNKNOWN_DATABASE:
            raise
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quote(database)} CHARACTER SET utf8mb4")
        connection.select_db(database)
    return connection
