"""The import direction of shared/DESIGN.md, checked on every module (imports inside
functions and under TYPE_CHECKING included):

    api ─▶ dispatch domains ─▶ agencies, geo ─▶ dispatch.core (the foundation)

and the tools (dispatch.tools: CLI, demo loader, migrations, simulator) beside the
domains, imported by none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dispatch", "geo", "agencies", "api")


def layer_of(module: str) -> str:
    """The layer a module belongs to, from its dotted name."""
    if module == "dispatch.core" or module.startswith("dispatch.core."):
        return "core"
    if module == "dispatch.tools" or module.startswith("dispatch.tools."):
        return "tools"
    top = module.split(".")[0]
    return "domain" if top == "dispatch" else top


# What each layer may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "geo": {"core"},
    "agencies": {"core"},
    "domain": {"core", "geo", "agencies"},
    "api": {"core", "geo", "agencies", "domain"},
    "tools": {"core", "geo", "agencies", "domain", "api"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, module: str) -> set[str]:
    """Every project module the file imports, relative imports resolved."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from dispatch import core` imports the module dispatch.core
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES and _is_module(m)}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def project_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def violations() -> list[str]:
    found = []
    for path in project_files():
        module = module_name(path)
        layer = layer_of(module)
        for target in sorted(imported_modules(path, module)):
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                found.append(f"{module} ({layer}) imports {target} ({target_layer})")
    return found


def test_no_import_goes_against_the_layers() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from dispatch.calls.intake import register_call\n", "dispatch.core.x", True),
        ("from api.app import create_app\n", "dispatch.incidents.y", True),
        ("from dispatch.tools import cli\n", "dispatch.calls.z", True),
        ("import dispatch.models\n", "geo.x", True),
        ("def f():\n    from dispatch.stats import figures\n", "agencies.x", True),
        ("from dispatch.core.errors import Invalid\n", "geo.x", False),
        ("from geo.points import lon_lat\n", "dispatch.calls.z", False),
        ("from dispatch.calls import intake\n", "api.x", False),
    ],
)
def test_the_check_sees_an_upward_import(
    tmp_path: Path, source: str, module: str, expected: bool
) -> None:
    """The walker itself: an upward import, also inside a function, is reported."""
    path = tmp_path / "probe.py"
    path.write_text(source)
    layer = layer_of(module)
    bad = [t for t in imported_modules(path, module)
           if layer_of(t) != layer and layer_of(t) not in ALLOWED[layer]]
    assert bool(bad) is expected, bad
