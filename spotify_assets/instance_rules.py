"""The Dagster instance rules every deployment enforces, stated once.

- Runs tagged `spotify/ingest` (every ingest the landing sensor or the `ingest_file` job starts) run one
  at a time: ingests are file-local and safe side by side, but one large file at a time keeps memory
  bounded.
- Each pool in `POOLS` lets one step at a time in: `spotify_api` keeps two `album_art` partitions from
  doubling the call rate on one Spotify quota; `spotify_model` keeps model updates one at a time.

Dagster reads these limits from the instance's `dagster.yaml`, so each shipped instance config
carries `concurrency_section()`: `spotify_assets/dagster.yaml` (local profile, copied into
DAGSTER_HOME by `make dev` and `spotify-assets run`) and `docker/dagster.yaml` (docker deployment).
A pool limit cannot be written per pool in `dagster.yaml`, only as `pools: default_limit`, so every
pool here has the same limit. `spotify_assets_tests/test_instance_rules.py` loads each shipped
config with Dagster and checks `violations()` finds nothing; `python -m spotify_assets.instance_rules`
checks the instance in DAGSTER_HOME (a pool limit set by hand with `dagster instance concurrency set`
overrides the default, and is checked too).
"""

from __future__ import annotations

import sys

import dagster as dg

INGEST_CONCURRENCY_TAG = "spotify/ingest"
INGEST_RUN_LIMIT = 1
POOL_LIMIT = 1
POOLS = ("spotify_api", "spotify_model")


def concurrency_section() -> dict:
    """The `concurrency:` part of an instance config that enforces the rules (other keys may join it)."""
    return {
        "runs": {"tag_concurrency_limits": [{"key": INGEST_CONCURRENCY_TAG, "limit": INGEST_RUN_LIMIT}]},
        "pools": {"default_limit": POOL_LIMIT},
    }


def violations(instance: dg.DagsterInstance) -> list[str]:
    """What `instance` does not enforce of the rules, one sentence each; empty when it enforces all."""
    problems = []
    run_queue = instance.get_concurrency_config().run_queue_config
    if run_queue is None:
        problems.append(
            f"the run coordinator is {type(instance.run_coordinator).__name__}: run limits need the "
            "QueuedRunCoordinator (the default when dagster.yaml names none)"
        )
    else:
        limits = [
            limit for limit in run_queue.tag_concurrency_limits if limit["key"] == INGEST_CONCURRENCY_TAG
        ]
        if not any(limit["limit"] == INGEST_RUN_LIMIT and "value" not in limit for limit in limits):
            problems.append(
                f"runs tagged {INGEST_CONCURRENCY_TAG} are not limited to {INGEST_RUN_LIMIT} at a time "
                f"(concurrency: runs: tag_concurrency_limits has {limits or 'no limit for it'})"
            )
    storage = instance.event_log_storage
    configured = storage.get_concurrency_keys()
    default = instance.get_concurrency_config().pool_config.default_pool_limit
    for pool in POOLS:
        limit = storage.get_concurrency_info(pool).slot_count if pool in configured else default
        if limit != POOL_LIMIT:
            where = "set on the instance" if pool in configured else "concurrency: pools: default_limit"
            allowed = "any number of" if limit is None else limit
            problems.append(f"pool {pool} allows {allowed} steps at a time ({where}), not {POOL_LIMIT}")
    return problems


def main() -> int:
    """Checks the instance in DAGSTER_HOME; prints what it does not enforce and exits 1 if anything."""
    with dg.DagsterInstance.get() as instance:
        problems = violations(instance)
    for problem in problems:
        print(f"$DAGSTER_HOME/dagster.yaml: {problem}", file=sys.stderr)
    if not problems:
        print("the instance enforces every rule of spotify_assets/instance_rules.py")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
