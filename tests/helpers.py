"""Helpers several test modules share: the CLI in-process, task folders' utils, task YAMLs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.eval.tasks import tasks_dir
from tests.conftest import REPO

TASKS_DIR = tasks_dir()


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``harness ARGS`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code or 0, out.out, out.err


def task_utils(family: str):
    """A task folder's utils.py, loaded from its file as lm-eval does."""
    spec = importlib.util.spec_from_file_location(f"_test_{family}_utils", TASKS_DIR / family / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain_yaml(path: Path) -> dict:
    """A task YAML with its ``include`` merged in and ``!function`` tags kept as strings."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    if "include" in data:
        base = plain_yaml(path.parent / data.pop("include"))
        data = {**base, **data}
    return data


def write_registry(tmp_path: Path, edit) -> Path:
    """The project's registry.yaml, changed by ``edit(registry)`` (a dict it edits in place),
    written to ``tmp_path/registry.yaml``."""
    registry = yaml.safe_load((REPO / "registry.yaml").read_text(encoding="utf-8"))
    edit(registry)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
    return path


def harness_with(registry: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``harness --registry REGISTRY ARGS`` in a fresh interpreter, output captured."""
    return subprocess.run([sys.executable, "-m", "harness.cli", "--registry", str(registry), *args],
                          capture_output=True, text=True, timeout=timeout)


def harness_in(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``harness ARGS`` in a fresh interpreter, run from ``cwd`` (relative paths as a user types them)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
