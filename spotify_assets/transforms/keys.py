"""Stable surrogate keys.

A key is a deterministic function of the normalized natural key, the same whatever the file order,
the run or the engine:

    key = signed big-endian int64 of the first 8 bytes of SHA-256(UTF-8(parts joined by U+001F))

Each text part is normalized (`normalize_name`) before joining: Unicode NFC, surrounding white space
trimmed, lower case; a null part counts as the empty string. Spotify ids are case-sensitive and are
used as they are. In Spark the same key is

    conv(substring(sha2(concat_ws('\\u001f', parts...), 256), 1, 16), 16, -10).cast('long')
"""

from __future__ import annotations

import hashlib

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace)

KEY_SEPARATOR = "\x1f"


def normalize_name(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFC").str.strip_chars().str.to_lowercase()


def stable_key(*parts: pl.Expr) -> pl.Expr:
    """The documented stable int64 key of `parts` (already normalized)."""
    joined = pl.concat_str([part.fill_null("") for part in parts], separator=KEY_SEPARATOR)
    digest = joined.chash.sha2_256()
    return digest.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64).reinterpret(signed=True)


def stable_key_of(*parts: str | None) -> int:
    """The same key computed in plain Python, for documentation and tests."""
    joined = KEY_SEPARATOR.join("" if part is None else part for part in parts)
    return int.from_bytes(hashlib.sha256(joined.encode()).digest()[:8], "big", signed=True)
