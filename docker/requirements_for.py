"""Prints the requirements of spotify-assets with the given extras, one per line, from pyproject.toml.

    python requirements_for.py docker,spark > requirements.txt

The Dockerfile installs them under requirements.lock's pins before it copies the source, so the
dependency layer is rebuilt only when pyproject.toml, the lock or the extras change.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(project: dict, extras: list[str]) -> list[str]:
    """[project.dependencies] and those of `extras`; an unknown extra raises ValueError."""
    unknown = sorted(set(extras) - set(project["optional-dependencies"]))
    if unknown:
        raise ValueError(
            f"no such extra: {', '.join(unknown)} (pyproject.toml has "
            f"{', '.join(sorted(project['optional-dependencies']))})"
        )
    return [
        *project["dependencies"],
        *(line for extra in extras for line in project["optional-dependencies"][extra]),
    ]


def main(argv: list[str]) -> int:
    extras = [extra.strip() for extra in (argv[1] if len(argv) > 1 else "").split(",") if extra.strip()]
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    try:
        print("\n".join(requirements(project, extras)))
    except ValueError as error:
        print(f"requirements_for.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
