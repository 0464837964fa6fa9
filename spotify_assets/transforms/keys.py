"""Stable surrogate keys.

A key is a deterministic function of the normalized natural key, the same whatever the file order,
the run or the engine:

    key = XXH64(UTF-8(parts joined by U+001F), seed=42), read as a signed int64

Each text part is normalized (`normalize_name`) before joining where the table says so: Unicode
NFC, surrounding white space trimmed, lower case; a null part counts as the empty string. Spotify
ids are case-sensitive and used as they are. This is exactly Spark's built-in `xxhash64` (seed 42)
of one string column, so the Spark engine computes the same key as

    xxhash64(concat_ws('\\u001f', coalesce(part1, ''), coalesce(part2, ''), ...))

(`coalesce` matters: Spark's concat_ws skips nulls instead of joining an empty string).
XXH64 is about ten times cheaper than SHA-256 here, which counts for a per-play key.
"""

from __future__ import annotations

import polars as pl
import polars_hash as plh  # registers the `nchash` namespace; `plh.concat_str` is typed with it
import xxhash

KEY_SEPARATOR = "\x1f"
KEY_SEED = 42  # Spark's xxhash64 seed


def normalize_name(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFC").str.strip_chars().str.to_lowercase()


def stable_key(*parts: pl.Expr) -> pl.Expr:
    """The documented stable int64 key of `parts` (already normalized)."""
    joined = plh.concat_str([part.fill_null("") for part in parts], separator=KEY_SEPARATOR)
    return joined.nchash.xxhash64(seed=KEY_SEED).reinterpret(signed=True)


def stable_key_of(*parts: str | None) -> int:
    """The same key computed in plain Python, for documentation and tests."""
    joined = KEY_SEPARATOR.join("" if part is None else part for part in parts)
    return int.from_bytes(xxhash.xxh64_digest(joined.encode(), seed=KEY_SEED), "big", signed=True)
