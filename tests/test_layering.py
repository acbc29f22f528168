"""The package's layers: a module imports only from its own subpackage and the layers below it.

So `contracts` (the entity declarations) and `settings` (names and defaults) stay importable by
everything without pulling Dagster assets in, and no two subpackages import each other.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import data_platform

PACKAGE = Path(data_platform.__file__).parent

# lowest first; a module may import from its own layer's subpackage and any lower layer
LAYERS: list[set[str]] = [
    {"settings", "compat"},
    {"contracts"},
    {"catalog"},
    {"landing", "transforms", "alerts", "automation"},
    {"resources"},
    {"checks", "jobs", "sensors", "profiles", "simulate"},
    {"assets"},
    {"definitions"},
]


def _imports() -> dict[str, set[tuple[str, str]]]:
    """For each subpackage (or top-level module), the subpackages it imports, with where."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        source = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                parts = node.module.split(".")
                if parts[0] == "data_platform":
                    modules = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [
                    a.name.split(".")[1] for a in node.names if a.name.startswith("data_platform.")
                ]
            for module in modules:
                if module != source and module != "__init__":
                    found[source].add((module, f"{relative}:{node.lineno}"))
    return found


def _layer(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise AssertionError(f"data_platform/{name} is in no layer of tests/test_layering.py")


def test_every_subpackage_is_in_a_layer() -> None:
    subpackages = {
        path.name.removesuffix(".py")
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    } - {"__init__"}
    assert subpackages <= set().union(*LAYERS), sorted(subpackages - set().union(*LAYERS))


def test_modules_import_only_from_lower_layers() -> None:
    upward = sorted(
        f"{where} imports data_platform.{module} ({source} may not)"
        for source, imports in _imports().items()
        for module, where in imports
        if _layer(module) >= _layer(source)
    )
    assert upward == []
