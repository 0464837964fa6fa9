"""Every shipped Dagster instance config enforces the rules of `spotify_assets/instance_rules.py`,
as Dagster itself loads it: the local profile's on SQLite, the docker deployment's on the PostgreSQL
at 127.0.0.1:5432 (in a database made for the test)."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

import spotify_assets
from spotify_assets import instance_rules, sensors
from spotify_assets.definitions import defs

from .requirements import need_command

SHIPPED = {
    "local": Path(spotify_assets.__file__).parent / "dagster.yaml",
    "docker": Path(__file__).resolve().parents[1] / "docker" / "dagster.yaml",
}
POSTGRES_HOST = os.environ.get("SPOTIFY_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_USER = os.environ.get("SPOTIFY_TEST_POSTGRES_USER", "postgres")
# what docker/dagster.yaml had before the rules lived in one place: two runs at once, no run or pool limits
UNRULY = """
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
telemetry:
  enabled: false
"""


def psql(database: str, statement: str) -> None:
    client = need_command("psql", "the docker instance is loaded on PostgreSQL (Debian's postgresql-client)")
    server = ["-h", POSTGRES_HOST, "-U", POSTGRES_USER, "-d", database]
    subprocess.run([client, *server, "-v", "ON_ERROR_STOP=1", "-qc", statement], check=True, timeout=60)


@pytest.fixture
def postgres(monkeypatch):
    """A fresh PostgreSQL database, named to docker/dagster.yaml through its environment variables."""
    database = f"spotify_assets_test_{uuid.uuid4().hex[:12]}"
    psql("postgres", f"CREATE DATABASE {database}")
    for name, value in {
        "DAGSTER_POSTGRES_USER": POSTGRES_USER,
        "DAGSTER_POSTGRES_PASSWORD": "unused-trust-auth",
        "DAGSTER_POSTGRES_HOST": POSTGRES_HOST,
        "DAGSTER_POSTGRES_DB": database,
    }.items():
        monkeypatch.setenv(name, value)
    yield database
    psql("postgres", f"DROP DATABASE {database} WITH (FORCE)")


def instance_from(config: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    """The instance Dagster builds from `config` as its DAGSTER_HOME/dagster.yaml (validated by Dagster;
    the local one names `{env: DAGSTER_HOME}`)."""
    home.mkdir()
    (home / "dagster.yaml").write_text(config)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.from_config(str(home))


@pytest.fixture(params=sorted(SHIPPED))
def shipped(request, tmp_path, monkeypatch) -> dg.DagsterInstance:
    if request.param == "docker":
        request.getfixturevalue("postgres")
    with instance_from(SHIPPED[request.param].read_text(), tmp_path / "home", monkeypatch) as instance:
        yield instance


def test_every_shipped_instance_config_enforces_the_rules(shipped):
    assert instance_rules.violations(shipped) == []
    for pool in instance_rules.POOLS:  # what Dagster does when a step first claims the pool
        shipped.event_log_storage.initialize_concurrency_limit_to_default(pool)
        assert shipped.event_log_storage.get_concurrency_info(pool).slot_count == instance_rules.POOL_LIMIT


def test_the_docker_instance_keeps_its_storage_in_postgres(tmp_path, postgres, monkeypatch):
    with instance_from(SHIPPED["docker"].read_text(), tmp_path / "home", monkeypatch) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2


def test_a_config_without_the_rules_is_named_for_each_rule(tmp_path, monkeypatch):
    with instance_from(UNRULY, tmp_path / "home", monkeypatch) as instance:
        problems = instance_rules.violations(instance)
    assert len(problems) == 1 + len(instance_rules.POOLS), problems
    assert (
        f"runs tagged {instance_rules.INGEST_CONCURRENCY_TAG} are not limited to 1 at a time" in problems[0]
    )
    for pool, problem in zip(instance_rules.POOLS, problems[1:], strict=True):
        assert problem.startswith(f"pool {pool} allows any number of steps at a time"), problem


def test_a_pool_limit_set_by_hand_overrides_the_config_and_is_named(tmp_path, monkeypatch):
    with instance_from(SHIPPED["local"].read_text(), tmp_path / "home", monkeypatch) as instance:
        instance.event_log_storage.set_concurrency_slots("spotify_api", 3)
        assert instance_rules.violations(instance) == [
            "pool spotify_api allows 3 steps at a time (set on the instance), not 1"
        ]


def test_the_command_checks_the_instance_in_dagster_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(UNRULY)
    command = [sys.executable, "-m", "spotify_assets.instance_rules"]
    env = os.environ | {"DAGSTER_HOME": str(home)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "dagster.yaml: pool spotify_model allows any number of steps at a time" in result.stderr
    shutil.copy(SHIPPED["local"], home / "dagster.yaml")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_pool_an_asset_uses_has_a_rule():
    used = {pool for node in defs.resolve_asset_graph().asset_nodes for pool in node.pools or ()}
    assert used, "album_art talks to the Spotify API through a pool"
    assert used <= set(instance_rules.POOLS)


def test_the_landing_sensor_tags_ingests_with_the_limited_tag():
    assert sensors.INGEST_CONCURRENCY_TAG == instance_rules.INGEST_CONCURRENCY_TAG
