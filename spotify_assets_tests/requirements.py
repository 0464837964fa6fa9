"""What a test needs from its machine: an installed extra, a command, a service.

Locally a missing one skips the test (or the whole module) with the reason; under CI=true it fails,
since CI installs every extra and service the suite needs (`.ci/run`, `make test`), and a suite that
skipped its Spark or Databricks tests must not pass. `conftest.py` turns any other skip into a
failure under CI=true too.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(what: str) -> NoReturn:
    """Skips the caller locally; fails it under CI=true. Works at module level too."""
    if in_ci():
        pytest.fail(
            f"{what} (CI=true: nothing may be missing; .ci/run and `make test` install it)", pytrace=False
        )
    pytest.skip(what, allow_module_level=True)


def need(module: str, why: str) -> ModuleType:
    """`module` imported, e.g. `need("pyspark", "the spark extra")`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing(f"{module} is not installed ({why}): {error}")


def need_command(command: str, why: str) -> str:
    """The path of `command` on PATH, e.g. `need_command("java", "Spark runs on Java 17")`."""
    path = shutil.which(command)
    if path is None:
        missing(f"{command} is not on PATH ({why})")
    return path
