"""What counts as a listen: every play is kept; a listen is a play long enough to count.

`SPOTIFY_LISTEN_RULE` picks the rule, one of:

- `30s` (default): Spotify's own rule for counting a stream: at least 30 seconds played.
- `<N>s`, e.g. `45s`: at least N seconds played.
- `half_or_4min`: the rule scrobbling services use: a track longer than 30 seconds counts when at
  least half of it, or 4 minutes, was played. It needs the track's length (`dim_track.duration_ms`,
  from the Web API): a play of a track whose length is not known yet falls back to 30 seconds.

The rule lives in the warehouse views (`v_streams.is_listen`, the `listens` columns) and the
listening report, never in the fact: a length that arrives later changes what counts without
rewriting a play.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

DEFAULT_LISTEN_RULE = "30s"
HALF_OR_4MIN = "half_or_4min"
SPOTIFY_STREAM_MS = 30_000
FOUR_MINUTES_MS = 240_000
_SECONDS = re.compile(r"^(\d{1,5})s$")


@dataclass(frozen=True)
class ListenRule:
    name: str
    min_ms: int  # the fixed threshold; for half_or_4min, the one used while the length is unknown
    by_length: bool = False

    def polars(self, ms_played: pl.Expr, duration_ms: pl.Expr) -> pl.Expr:
        """True for a play that counts as a listen."""
        fixed = ms_played >= self.min_ms
        if not self.by_length:
            return fixed
        by_length = (duration_ms > SPOTIFY_STREAM_MS) & (
            ms_played >= pl.min_horizontal(duration_ms // 2, pl.lit(FOUR_MINUTES_MS))
        )
        return pl.when(duration_ms.is_null()).then(fixed).otherwise(by_length)

    def sql(self, ms_played: str, duration_ms: str) -> str:
        """The same as a dialect-neutral SQL boolean expression (SQLite and MySQL)."""
        fixed = f"({ms_played} >= {self.min_ms})"
        if not self.by_length:
            return fixed
        half = f"(({duration_ms} - {duration_ms} % 2) / 2)"  # an integer in SQLite and MySQL alike
        shorter = f"CASE WHEN {half} < {FOUR_MINUTES_MS} THEN {half} ELSE {FOUR_MINUTES_MS} END"
        return (
            f"(CASE WHEN {duration_ms} IS NULL THEN {fixed} "
            f"ELSE ({duration_ms} > {SPOTIFY_STREAM_MS} AND {ms_played} >= {shorter}) END)"
        )


def parse_listen_rule(text: str | None) -> ListenRule:
    """The rule a SPOTIFY_LISTEN_RULE value names; ValueError says what is accepted."""
    value = (text or DEFAULT_LISTEN_RULE).strip().lower()
    if value == HALF_OR_4MIN:
        return ListenRule(HALF_OR_4MIN, SPOTIFY_STREAM_MS, by_length=True)
    match = _SECONDS.match(value)
    if match:
        return ListenRule(value, int(match.group(1)) * 1000)
    raise ValueError(
        f"SPOTIFY_LISTEN_RULE={text!r}: expected a number of seconds such as 30s (Spotify's stream rule, "
        f"the default) or {HALF_OR_4MIN} (half the track or 4 minutes)"
    )
