"""Imports go down the layers: cli -> translate -> runtime/compute -> graph -> authoring/storage.

Every import statement of every flowassets module is read with ``ast`` (module level and inside
functions alike, so a lazy import cannot hide a climb) and resolved to the flowassets package it
names. A climbing import ties a lower layer to everything above it: graph.build once imported
compute.spec to check decorator values, so building a graph loaded the ECS mapping.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flowassets

PACKAGE = Path(flowassets.__file__).resolve().parent
ABOVE_GRAPH = {"compute", "runtime", "translate", "cli", "client", "runner", "cards"}

#: package -> the flowassets packages it must never import (not even lazily).
FORBIDDEN = {
    "graph": ABOVE_GRAPH,
    "authoring": ABOVE_GRAPH | {"graph"},
    "storage": ABOVE_GRAPH | {"graph"},
    "compute": {"runtime", "translate", "cli", "client", "runner"},
    "cards": {"graph", "compute", "runtime", "translate", "cli", "client", "runner"},
}


def imported_packages(source: str, module: str) -> list[tuple[int, str]]:
    """(line, top package under flowassets) for each import of ``module``'s source that names a
    flowassets module, relative or absolute, wherever in the file it stands."""
    found: list[tuple[int, str]] = []
    parts = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
                # ``from .. import compute`` names the package in the alias.
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "flowassets" and len(pieces) > 1:
                found.append((node.lineno, pieces[1]))
    return found


def module_name(path: Path) -> str:
    """Dotted name; a package's ``__init__`` keeps its last part, so ``from .x`` in it resolves
    to the package itself, as Python resolves it."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_scanner_sees_lazy_and_relative_imports():
    source = ("from ..errors import Problem\n"
              "def check():\n"
              "    from ..compute.spec import check_step_decorators\n"
              "    from .. import runtime\n"
              "    import flowassets.cli.main\n")
    assert imported_packages(source, "flowassets.graph.build") == [
        (1, "errors"), (3, "compute"), (4, "runtime"), (5, "cli")]
    package_source = "from .decorator_checks.values import number\nfrom ..compute import spec\n"
    assert imported_packages(package_source, "flowassets.graph.__init__") == [
        (1, "graph"), (2, "compute")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_climbs_out_of(package):
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, package
    climbing = []
    seen = 0
    for path in files:
        for line, target in imported_packages(path.read_text(), module_name(path)):
            seen += 1
            if target in FORBIDDEN[package]:
                climbing.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports flowassets.{target}")
    assert seen, f"no flowassets import found under {package}: the scanner is not reading it"
    assert not climbing, "\n".join(climbing)

