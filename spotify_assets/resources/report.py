"""Where the listening report is written, and how it counts: the folder, the time zone, the listen rule.

The settings come from SPOTIFY_REPORT_DIR, SPOTIFY_TIMEZONE and SPOTIFY_LISTEN_RULE (settings.py);
definitions.py builds the resource, so the report asset reads no environment and takes no engine.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ..atomic_write import write_atomically
from ..transforms.listens import DEFAULT_LISTEN_RULE, ListenRule, parse_listen_rule


class ReportFolder(dg.ConfigurableResource):
    """The folder reports are written to (SPOTIFY_REPORT_DIR), and how they count time and listens."""

    path: str
    timezone: str = "UTC"  # SPOTIFY_TIMEZONE: the fact's local days and hours are in it
    listen_rule: str = DEFAULT_LISTEN_RULE  # SPOTIFY_LISTEN_RULE

    def rule(self) -> ListenRule:
        """What counts as a listen (transforms/listens.py); ValueError names the accepted values."""
        return parse_listen_rule(self.listen_rule)

    def write(self, name: str, content: str) -> Path:
        """Writes `name` whole or not at all (a temporary file renamed over it); returns its path."""
        return write_atomically(Path(self.path) / name, content.encode("utf-8")).resolve()
