"""Reading Spotify's `Retry-After`, and the one wording of a quota stop."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, date, datetime

# Spotify's 429 body since July 2026: `{"error": {"status": 429, "reason": "QUOTA_EXCEEDED"}}` means
# the account's quota is spent (waiting seconds will not help), any other 429 is the rolling rate limit.
QUOTA_EXCEEDED_REASON = "QUOTA_EXCEEDED"


def quota_stop_reason(clock: str, detail: str) -> str:
    """ "quota exhausted; retry after HH:MM UTC (detail)": the text the CLI and the UI show."""
    return f"quota exhausted; retry after {clock} ({detail})"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date); None when absent or unreadable."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def utc_clock(moment: datetime) -> str:
    """HH:MM UTC, with the date when it is not today."""
    today: date = datetime.now(UTC).date()
    return moment.strftime("%H:%M UTC" if moment.date() == today else "%Y-%m-%d %H:%M UTC")
