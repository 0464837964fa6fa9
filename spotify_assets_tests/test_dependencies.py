"""pyproject.toml declares exactly what the code imports, and requirements.lock pins all of it.

Imports are read with `ast` and mapped to distributions with `importlib.metadata.packages_distributions()`.
A module that needs an extra says so in EXTRA_MODULES; imports inside functions may use any runtime
extra (they run only in that profile, e.g. `build_engine`). What is declared but never imported is
listed in NOT_IMPORTED with its reason, and that list may not go stale.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "spotify_assets"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {"spotify_assets", "spotify_assets_tests"}
RUNTIME_EXTRAS = ("spark", "databricks", "docker")
# package modules (relative to spotify_assets/) whose module-level imports need an extra
EXTRA_MODULES = {
    "transforms/spark_*.py": {"spark"},
    "resources/spark_engine.py": {"spark"},
    "resources/databricks_engine.py": {"databricks"},
    "adapters/databricks.py": {"databricks"},
    "databricks_job.py": {"spark"},
}
# modules that a runtime elsewhere provides: databricks_job.py runs on a Databricks cluster
PROVIDED_ELSEWHERE = {"databricks_job.py": {"delta", "pyspark"}}
NOT_IMPORTED = {
    "dagster-webserver": "serves the UI of `make dev` (dagster dev)",
    "dagster-postgres": "docker/dagster.yaml names its storage classes",
    "psycopg": "SQLAlchemy 2.1's driver for dagster-postgres",
    "pytest-timeout": "a pytest plugin (--timeout in pytest's options)",
    "ruff": "the lint and format gate (make lint)",
    "mypy": "the type gate (make lint)",
    "types-pymysql": "type stubs for mypy",
    "pip-tools": "pip-compile writes requirements.lock (make lock)",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*groups: str) -> set[str]:
    """Distributions of [project.dependencies] ("base") and of the named extras."""
    requirements = [
        requirement
        for group in groups
        for requirement in (
            PROJECT["dependencies"] if group == "base" else PROJECT["optional-dependencies"][group]
        )
    ]
    return {canonical(Requirement(requirement).name) for requirement in requirements}


def imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, top-level module, at module level?) of each absolute import in `path`, and of each
    `need("module", ...)` (requirements.py) of a test."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top_level = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:  # module body, into if/try/with blocks, not into functions or classes
        node = pending.pop()
        top_level.add(id(node))
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            pending += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif is_need(node):
            names = [node.value.args[0].value]  # type: ignore[attr-defined]
        else:
            continue
        for name in names:
            module = name.split(".")[0]
            sibling = (path.parent / f"{module}.py").exists()  # a script importing its neighbour (bench/)
            if module not in sys.stdlib_module_names and module not in FIRST_PARTY and not sibling:
                yield node.lineno, module, id(node) in top_level


def is_need(node: ast.AST) -> bool:
    """A statement `need("module", ...)`."""
    return (
        isinstance(node, ast.Expr | ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "need"
        and bool(node.value.args)
        and isinstance(node.value.args[0], ast.Constant)
    )


@cache
def installed_distributions() -> dict[str, list[str]]:
    return dict(packages_distributions())


def distributions_of(module: str) -> set[str]:
    return {canonical(name) for name in installed_distributions().get(module, [])}


def undeclared(
    paths: list[Path], allowed_for: dict[Path, set[str]], provided: dict[Path, set[str]]
) -> list[str]:
    problems = []
    for path in paths:
        for line, module, _ in imports(path):
            if module in provided.get(path, set()):
                continue
            found = distributions_of(module)
            if not found & allowed_for[path]:
                what = f"distribution {', '.join(sorted(found))}" if found else "no installed distribution"
                problems.append(
                    f"{path.relative_to(REPO)}:{line} imports {module} ({what}), not declared for it"
                )
    return problems


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def extras_of(path: Path) -> set[str]:
    relative = path.relative_to(PACKAGE).as_posix()
    return set().union(*(extras for pattern, extras in EXTRA_MODULES.items() if fnmatch(relative, pattern)))


def imported_by_package(extra: str | None = None) -> set[str]:
    """Distributions the package imports (those of modules needing `extra`, or of all modules)."""
    paths = [path for path in package_modules() if extra is None or extra in extras_of(path)]
    return {dist for path in paths for _, module, _ in imports(path) for dist in distributions_of(module)}


def imported_by(folder: Path) -> set[str]:
    return {
        dist
        for path in folder.rglob("*.py")
        for _, module, _ in imports(path)
        for dist in distributions_of(module)
    }


def test_module_level_imports_of_the_package_are_declared_for_their_module():
    problems = []
    for path in package_modules():
        allowed = declared("base", *extras_of(path))
        for line, module, at_module_level in imports(path):
            if not at_module_level or module in PROVIDED_ELSEWHERE.get(
                path.relative_to(PACKAGE).as_posix(), ()
            ):
                continue
            if not distributions_of(module) & allowed:
                problems.append(
                    f"{path.relative_to(REPO)}:{line} imports {module} at module level, which "
                    f"needs {sorted(distributions_of(module)) or 'an undeclared package'}: declare it "
                    "or list the module in EXTRA_MODULES with its extra"
                )
    assert problems == []


def test_every_import_of_the_package_tests_and_bench_is_declared():
    provided = {PACKAGE / name: modules for name, modules in PROVIDED_ELSEWHERE.items()}
    runtime = declared("base", *RUNTIME_EXTRAS)
    allowed = dict.fromkeys(package_modules(), runtime)
    allowed |= {
        path: declared("base", *PROJECT["optional-dependencies"])
        for path in (REPO / "spotify_assets_tests").rglob("*.py")
    }
    allowed |= {path: declared("base", "bench", "spark") for path in (REPO / "bench").rglob("*.py")}
    assert undeclared(sorted(allowed), allowed, provided) == []


def test_every_declared_dependency_is_imported_or_has_a_reason():
    imported = {
        "base": imported_by_package(),
        "spark": imported_by_package("spark"),
        "databricks": imported_by_package("databricks"),
        "docker": set(),
        "dev": imported_by(REPO / "spotify_assets_tests"),
        "bench": imported_by(REPO / "bench"),
    }
    assert set(imported) == {"base", *PROJECT["optional-dependencies"]}
    unused = {group: sorted(declared(group) - used - set(NOT_IMPORTED)) for group, used in imported.items()}
    assert {group: names for group, names in unused.items() if names} == {}
    stale = {name for name in NOT_IMPORTED if any(name in used for used in imported.values())}
    assert stale == set(), "imported after all: remove from NOT_IMPORTED"
    assert set(NOT_IMPORTED) <= declared("base", *PROJECT["optional-dependencies"])


def test_the_lock_pins_every_declared_dependency_within_its_range():
    lock = (REPO / "requirements.lock").read_text()
    pins = {
        canonical(name): version for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock, re.M)
    }
    extras = PROJECT["optional-dependencies"].values()
    requirements = [*PROJECT["dependencies"], *(requirement for extra in extras for requirement in extra)]
    outside = [
        f"{requirement}: {pins.get(canonical(Requirement(requirement).name), 'not in the lock')}"
        for requirement in requirements
        if pins.get(canonical(Requirement(requirement).name)) not in Requirement(requirement).specifier
    ]
    assert outside == [], "run `make lock`"
