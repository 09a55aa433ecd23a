"""The direction of imports inside reports/: build -> rendering -> figures | data -> contracts.

Read from the source (no import runs), so a module that breaks the direction
fails here by name, with the import that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[1] / "reports"

# package of reports -> the packages of ours it must not import
FORBIDDEN = {
    "reports.data": ("reports.figures", "reports.rendering", "reports.build"),
    "reports.figures": ("reports.data", "reports.rendering", "reports.build", "reports.contracts"),
    "reports.rendering": ("reports.build",),
    "reports.config": ("reports.data", "reports.figures", "reports.rendering", "reports.build"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPORTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module *path* imports by absolute name (reports uses no relative imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {_module_name(p): p for p in sorted(REPORTS.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_layer_imports_only_what_lies_below_it(module):
    rules = [bad for package, bad in FORBIDDEN.items() if _within(module, package)]
    wrong = sorted(
        name
        for name in _imports(MODULES[module])
        for forbidden in rules
        for package in forbidden
        if _within(name, package)
    )
    assert wrong == [], f"{module} imports {wrong}"


@pytest.mark.parametrize("module", sorted(set(MODULES) - {"reports.contracts"}))
def test_only_reports_contracts_imports_the_ml_package(module):
    assert not [n for n in _imports(MODULES[module]) if _within(n, "ml")]


def test_figures_never_read_the_warehouse():
    for module, path in MODULES.items():
        if _within(module, "reports.figures"):
            assert not [n for n in _imports(path) if _within(n, "duckdb")], module


def test_every_package_of_reports_is_checked():
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages == {"reports", "reports.data", "reports.figures", "reports.rendering"}
