"""Layering rules that keep the end-to-end tests meaningful."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_cancel"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_production_code_never_imports_the_sandbox():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imported_modules(path) if "sandbox" in m)
        for path in PACKAGE.rglob("*.py")
        if "sandbox" not in path.relative_to(PACKAGE).parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_base_hook_speaks_http():
    # One choke point: vendor modules, operators, sensors and triggers go through hooks/base.py.
    speakers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "sandbox" not in path.relative_to(PACKAGE).parts
        and imported_modules(path) & {"requests", "aiohttp", "httpx", "urllib.request", "http.client"}
    }
    assert speakers == {"hooks/base.py"}
