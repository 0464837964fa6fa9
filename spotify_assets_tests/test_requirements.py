"""A missing extra skips locally and fails under CI=true, and so does any other skip."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = textwrap.dedent("""
    import pytest

    from spotify_assets_tests.requirements import need

    def test_needs_a_missing_extra():
        need("spotify_assets_no_such_module", "an extra nobody installs")

    @pytest.mark.skip(reason="a plain skip marker")
    def test_skipped_by_a_marker():
        pass

    @pytest.mark.xfail(reason="an expected failure stays one", strict=True)
    def test_expected_to_fail():
        assert False

    def test_passes():
        pass
""")
REPO = Path(__file__).resolve().parents[1]
MODULE_PROBE = textwrap.dedent("""
    from spotify_assets_tests.requirements import need

    need("spotify_assets_no_such_module", "an extra nobody installs")

    def test_never_collected():
        pass
""")


def run_pytest(tmp_path, source: str, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_probe.py").write_text(source)
    env = {name: value for name, value in os.environ.items() if name != "CI"} | {"PYTHONPATH": str(REPO)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "spotify_assets_tests.conftest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-rA",
            str(tmp_path / "test_probe.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_locally_a_missing_extra_or_a_skip_marker_skips(tmp_path):
    result = run_pytest(tmp_path, PROBE, ci=None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout
    assert "spotify_assets_no_such_module is not installed (an extra nobody installs)" in result.stdout


def test_under_ci_every_skip_fails_and_says_why(tmp_path):
    result = run_pytest(tmp_path, PROBE, ci="true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in result.stdout  # a skip marker fails in setup
    assert "spotify_assets_no_such_module is not installed (an extra nobody installs)" in result.stdout
    assert "skipped under CI=true, which counts as a failure: Skipped: a plain skip marker" in result.stdout


def test_under_ci_a_module_that_needs_a_missing_extra_fails_collection(tmp_path):
    local = run_pytest(tmp_path, MODULE_PROBE, ci=None)
    assert local.returncode == 5 and "1 skipped" in local.stdout, local.stdout  # 5: nothing ran
    ci = run_pytest(tmp_path, MODULE_PROBE, ci="true")
    assert ci.returncode == 2 and "1 error" in ci.stdout, ci.stdout  # 2: collection failed
    assert "spotify_assets_no_such_module is not installed" in ci.stdout
