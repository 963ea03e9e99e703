"""The dependency rule of harness/ (README, Layout): each layer imports only the layers below it.

Every import counts, the ones inside functions too: a lazy import is still a dependency, and so is
``importlib.import_module("harness....")`` with a literal name. Tasks (lm-eval's generated wiring)
may import the eval layer and what is under it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder of each installed package (pyproject.toml's package-dir).
TOPS = {"harness": ROOT / "harness", "harness.trainers": ROOT / "trainers",
        "harness.plugins": ROOT / "plugins", "harness.tasks": ROOT / "tasks"}

# Lowest first. A module may import its own package and any package of a lower layer.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("grading",),
    ("lang",),
    ("data",),
    ("inference",),
    ("trainers",),
    ("plugins",),
    ("train", "eval", "corpus"),
    ("experiment",),
    ("report",),
    ("cli",),
]
RANK = {package: rank for rank, group in enumerate(LAYERS) for package in group}
RANK["tasks"] = RANK["eval"] + 0.5  # the task folders' utils.py: lm-eval wiring over the eval layer


def module_files() -> dict[str, Path]:
    found = {}
    for top, folder in TOPS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((top, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def package_of(module: str) -> str | None:
    """'harness.core.rundir' -> 'core'; a top-level module of harness/ -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.append((node.lineno, target))
            # `from harness import cli` imports the package harness.cli
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names
                      if f"{target}.{alias.name}" in MODULES]
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found if name.startswith("harness.")]


def _is_import_call(func: ast.expr) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    name = getattr(func, "attr", None) or getattr(func, "id", None)
    return name in {"import_module", "__import__"}


MODULES = module_files()


def violations() -> list[str]:
    wrong = []
    for module, path in sorted(MODULES.items()):
        own = package_of(module)
        if own is None:
            continue
        for line, target in imports(module, path):
            other = package_of(target)
            if other is None or other == own:
                continue
            if RANK[other] >= RANK[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} ({own}) imports {target} ({other})")
    return wrong


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in MODULES} - {None}
    assert packages <= set(RANK), f"put {sorted(packages - set(RANK))} in LAYERS"


def test_layers_import_only_downwards():
    wrong = violations()
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


@pytest.mark.parametrize("source, expect", [
    ("from harness.cli import main\n", True),       # core importing the CLI
    ("def f():\n    from harness.train.run import run_training\n", True),  # a lazy import counts
    ("from harness.core.errors import UserError\n", False),
    ("import importlib\nimportlib.import_module('harness.cli.report')\n", True),  # a string import counts
    ("def f():\n    return __import__('harness.train.run')\n", True),
    ("import importlib\nimportlib.import_module(name)\n", False),  # not a literal: nothing to check
])
def test_the_check_catches_an_upward_import(tmp_path, source, expect):
    path = tmp_path / "probe_module.py"
    path.write_text(source)
    upward = [t for _, t in imports("harness.core.fake", path) if RANK[package_of(t)] > RANK["core"]]
    assert bool(upward) is expect


# --- no side doors: below the CLI, the catalog and the registry come in as arguments ---------------

GLOBALS = {"get_catalog", "get_plugin_manager"}


def side_doors() -> list[str]:
    found = []
    for module, path in sorted(MODULES.items()):
        if package_of(module) == "cli" or module == "harness.core.plugins":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in GLOBALS or (name == "load_registry" and not node.args and not node.keywords):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}()")
    return found


def test_nothing_below_the_cli_reads_the_global_catalog_or_the_default_registry():
    doors = side_doors()
    assert not doors, "pass the catalog / registry in instead:\n" + "\n".join(doors)
