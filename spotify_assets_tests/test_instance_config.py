"""`$DAGSTER_HOME/dagster.yaml`: written when missing, upgraded over an earlier shipped copy, kept
when edited by hand (spotify_assets/instance_config.py), by the CLI's code and by `make`'s command."""

import os
import subprocess
import sys

import pytest

from spotify_assets.instance_config import CURRENT, EARLIER_SHIPPED, KEPT, SHIPPED, UPGRADED, WRITTEN, ensure

EARLIER = sorted(EARLIER_SHIPPED.glob("*.yaml"))


def test_the_earlier_versions_are_kept_and_differ_from_the_shipped_one():
    assert len(EARLIER) >= 2
    assert all(earlier.read_bytes() != SHIPPED.read_bytes() for earlier in EARLIER)


@pytest.mark.parametrize("earlier", EARLIER, ids=lambda path: path.stem)
def test_an_earlier_shipped_copy_is_upgraded_and_a_hand_edited_one_kept(tmp_path, earlier):
    home = tmp_path / "dagster_home"
    assert ensure(home) == WRITTEN
    config = home / "dagster.yaml"
    assert config.read_bytes() == SHIPPED.read_bytes()

    config.write_bytes(earlier.read_bytes())
    assert ensure(home) == UPGRADED
    assert config.read_bytes() == SHIPPED.read_bytes()
    assert ensure(home) == CURRENT

    edited = earlier.read_bytes() + b"\n# my own setting\n"
    config.write_bytes(edited)
    assert ensure(home) == KEPT
    assert config.read_bytes() == edited
    assert [path.name for path in home.iterdir()] == ["dagster.yaml"]  # no temporary file left


def test_the_command_make_runs_upgrades_an_earlier_copy(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes(EARLIER[0].read_bytes())
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPOTIFY_")}
    result = subprocess.run(
        [sys.executable, "-m", "spotify_assets.instance_config"],
        env=env | {"DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"{home / 'dagster.yaml'}: {UPGRADED}"
    assert (home / "dagster.yaml").read_bytes() == SHIPPED.read_bytes()
