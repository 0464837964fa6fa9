"""Reading `ts` text as a UTC timestamp (Polars); the parse room replaces this with every form."""

from __future__ import annotations

import polars as pl

WITH_SECONDS = "%Y-%m-%d %H:%M:%S%.f"
WITHOUT_SECONDS = "%Y-%m-%d %H:%M"


def parse_timestamp(text: pl.Expr, date_order: pl.Expr) -> pl.Expr:
    """`text` as Datetime("us", "UTC"), null when unreadable (`date_order`: dmy, mdy or null)."""
    iso = text.str.replace("T", " ", literal=True).str.strip_suffix("Z")
    return pl.coalesce(
        iso.str.to_datetime(WITH_SECONDS, strict=False, time_unit="us"),
        iso.str.to_datetime(WITHOUT_SECONDS, strict=False, time_unit="us"),
    ).dt.replace_time_zone("UTC")
