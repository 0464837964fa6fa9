"""The local profile's instance config, `$DAGSTER_HOME/dagster.yaml`: written from the shipped
`spotify_assets/dagster.yaml` when there is none, and brought up to date when it is a copy of an
earlier shipped version (byte for byte, `instance_configs/`), so an existing DAGSTER_HOME gets what
later versions ship (the pooled event log, say). A config edited by hand is kept as it is.

`spotify-assets run` calls `ensure`; `make dev` and `make demo` run
`python -m spotify_assets.instance_config`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .atomic_write import write_atomically

SHIPPED = Path(__file__).parent / "dagster.yaml"
# Every earlier shipped dagster.yaml, named by the commit that shipped it: when the shipped file
# changes, its last version goes here, so copies of it are upgraded.
EARLIER_SHIPPED = Path(__file__).parent / "instance_configs"
WRITTEN, UPGRADED, CURRENT, KEPT = "written", "upgraded", "current", "kept"


def ensure(home: Path) -> str:
    """Writes or upgrades `home/dagster.yaml` (see the module docstring); says which it did:
    written, upgraded, current (already the shipped one) or kept (edited by hand)."""
    config = home / "dagster.yaml"
    existed = config.exists()
    if existed:
        current = config.read_bytes()
        if current == SHIPPED.read_bytes():
            return CURRENT
        if not any(current == earlier.read_bytes() for earlier in EARLIER_SHIPPED.glob("*.yaml")):
            return KEPT
    write_atomically(config, SHIPPED.read_bytes())  # whole or not at all: Dagster may read it meanwhile
    return UPGRADED if existed else WRITTEN


def main() -> int:
    home = Path(os.environ["DAGSTER_HOME"])
    print(f"{home / 'dagster.yaml'}: {ensure(home)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
