"""The docker deployment is consistent: compose services, volumes, build context, env vars,
the PostgreSQL instance config and the gRPC workspace (Docker itself cannot run here)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from .requirements import need

yaml = need("yaml", "PyYAML, from the dev extra")

DOCKER = Path(__file__).resolve().parent.parent / "docker"
SERVICES = {"webserver", "daemon", "code-location", "postgres", "mysql"}
DAGSTER_SERVICES = ("webserver", "daemon", "code-location")
REFERENCE = re.compile(r"\$\{(\w+)(?::?-[^}]*)?\}")


def load(name: str) -> dict:
    return yaml.safe_load((DOCKER / name).read_text())


def env_example() -> dict[str, str]:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return dict(pairs)


def env_references(node) -> set[str]:
    """Every `{env: NAME}` in a Dagster YAML tree."""
    if isinstance(node, dict):
        own = {node["env"]} if set(node) == {"env"} else set()
        return own.union(*(env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(value) for value in node))
    return set()


def test_compose_has_every_service():
    assert set(load("docker-compose.yml")["services"]) == SERVICES


def test_every_variable_the_compose_file_uses_is_in_env_example():
    used = set(REFERENCE.findall((DOCKER / "docker-compose.yml").read_text()))
    assert used, "the compose file takes its secrets from .env"
    assert used <= set(env_example())


def test_dagster_services_build_the_package_and_read_env():
    services = load("docker-compose.yml")["services"]
    for name in DAGSTER_SERVICES:
        build = services[name]["build"]
        context = (DOCKER / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file()
        assert (context / "pyproject.toml").is_file() and (context / "spotify_assets").is_dir()
        assert services[name]["env_file"] == ".env"


def dockerfile_steps() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_dockerfile_installs_locked_dependencies_before_it_copies_the_source():
    steps = dockerfile_steps()
    assert steps[0] == "FROM python:3.11-slim"
    [dependencies] = [
        index for index, step in enumerate(steps) if "requirements_for.py" in step and "RUN" in step
    ]
    assert 'python requirements_for.py "${EXTRAS}" > requirements.txt' in steps[dependencies]
    assert (
        "pip install --no-cache-dir --constraint requirements.lock --requirement requirements.txt"
        in (steps[dependencies])
    )
    source = steps.index("COPY spotify_assets ./spotify_assets")
    assert dependencies < source, "the dependency layer must not depend on the source"
    assert steps[source + 1] == "RUN pip install --no-cache-dir --no-deps ."
    copied = [part for step in steps if step.startswith("COPY") for part in step.split()[1:-1]]
    assert {"pyproject.toml", "requirements.lock", "docker/requirements_for.py"} <= set(copied)
    for path in copied:
        assert (DOCKER.parent / path).exists(), path


def requirements_for(extras: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DOCKER / "requirements_for.py"), extras],
        cwd=DOCKER.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_image_installs_the_dependencies_of_its_extras():
    project = tomllib.loads((DOCKER.parent / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    listed = requirements_for("docker, spark")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [*project["dependencies"], *extras["docker"], *extras["spark"]]
    unknown = requirements_for("docker,sprak")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("requirements_for.py: no such extra: sprak (pyproject.toml has bench,")


def test_named_volumes_are_declared_and_landing_and_lake_are_mounted():
    compose = load("docker-compose.yml")
    declared = set(compose["volumes"])
    mounts = {
        name: [volume.split(":") for volume in service.get("volumes", [])]
        for name, service in compose["services"].items()
    }
    named = {
        source
        for volumes in mounts.values()
        for source, *_ in volumes
        if not source.startswith(("$", ".", "/"))
    }
    assert named == declared
    targets = {target for _, target in mounts["code-location"]}
    dockerfile = (DOCKER / "Dockerfile").read_text()
    for setting in ("SPOTIFY_LANDING_DIR", "SPOTIFY_LAKE_URI"):
        assert re.search(rf"{setting}=(\S+)", dockerfile).group(1) in targets


def test_dagster_instance_stores_everything_in_postgres_from_env():
    instance = load("dagster.yaml")
    database = instance["storage"]["postgres"]["postgres_db"]
    assert env_references(instance) <= set(env_example())
    for field in ("username", "password", "hostname", "db_name"):
        assert set(database[field]) == {"env"}
    assert env_example()[database["hostname"]["env"]] == "postgres"
    services = load("docker-compose.yml")["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == f"${{{database['password']['env']}}}"


def test_workspace_points_at_the_code_location_grpc_server():
    [location] = load("workspace.yaml")["load_from"]
    server = location["grpc_server"]
    code_location = load("docker-compose.yml")["services"][server["host"]]
    command = code_location["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-p") + 1] == str(server["port"])
    for name in ("webserver", "daemon"):
        command = load("docker-compose.yml")["services"][name]["command"]
        assert command[command.index("-w") + 1] == "/opt/dagster/dagster_home/workspace.yaml"


def test_the_warehouse_url_points_at_the_mysql_service():
    env = env_example()
    assert env["SPOTIFY_WAREHOUSE_URL"] == (
        f"mysql://{env['MYSQL_USER']}:{env['MYSQL_PASSWORD']}@mysql:3306/{env['MYSQL_DATABASE']}"
    )
