"""The cleaning and identity rules both engines implement: constants, reject texts, tie-breaks.

`clean.py` (Polars) and `spark_clean.py` (Spark) read every rule from here, so the twins cannot
drift apart on a threshold, a reason code, a detail text or the order in which copies win.

Reject details are templates: `{field}` is the trimmed raw value, `{field!q}` the same in single
quotes (or `(missing)`); each engine renders them with `template_parts`.
"""

from __future__ import annotations

import re

from ..tables import REJECT_REASONS, SOURCE_FORMATS

RULES_VERSION = "4"  # bump when a cleaning rule changes: every file's ingest fingerprint changes with it
MIN_MS_PLAYED = 500
BOOLEAN_FIELDS = ("shuffle", "skipped", "offline", "incognito_mode")
SPOTIFY_URI = r"^(?:spotify:([a-z]+):)?([0-9A-Za-z]{22})$"
# a play of the listener's own file (`spotify:local:Artist:Album:Title:Seconds`): a track without a
# Spotify id, known by its names like a basic play
LOCAL_FILE_URI = "spotify:local:"
UNKNOWN = {"track": "(unknown title)", "artist": "(unknown artist)", "album": "(unknown album)"}
UNKNOWN_PLATFORM = "unknown"
UNKNOWN_REASON = "unknown"
MISSING = "(missing)"

# Basic account data has no ids: a play is matched to an extended/Maven copy within this window.
OVERLAP_SECONDS = 60
# The order in which copies of one play win: the richest export first, then by place.
FORMAT_RANK = {name: rank for rank, name in enumerate(SOURCE_FORMATS)}
BASIC_JSON = "basic_json"
WINNER_ORDER = ("format_rank", "landing_file", "source_file", "source_line")

REJECT_DETAILS = {
    "wrong_column_count": "{parse_error}",
    "bad_timestamp": "ts {ts!q} is not a timestamp",
    "ms_played_not_integer": "ms_played {ms_played!q} is not a whole number",
    "ms_played_negative": "ms_played {ms_played} is negative",
    "missing_content_id": "no spotify_track_uri, spotify_episode_uri or audiobook URI",
    "missing_title": "no trackName, episodeName or chapterName",
    "malformed_content_id": "{content_uri!q} is not a 22-character Spotify id or URI",
    "bad_boolean": "{boolean_field} {boolean_value!q} is not true or false",
}
assert tuple(REJECT_DETAILS) == tuple(REJECT_REASONS), "one detail per reason, in verdict order"

_PLACEHOLDER = re.compile(r"\{(\w+)(!q)?\}")


def template_parts(template: str) -> list[tuple[str, str | None, bool]]:
    """A template as (literal text, field or None, quoted) pieces, in order."""
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append((template[position : match.start()], match.group(1), match.group(2) is not None))
        position = match.end()
    parts.append((template[position:], None, False))
    return parts
