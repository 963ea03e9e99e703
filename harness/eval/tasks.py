"""Which lm-eval task families the harness ships, found without parsing any YAML (lm-eval's own
start-up parses every YAML it can see, which takes seconds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def tasks_dir() -> Path:
    """The folder to give lm-eval as ``--include_path``: the installed package ``harness.tasks``,
    found as data (its utils.py files build on this layer; they are not imported here)."""
    spec = importlib.util.find_spec("harness.tasks")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def task_families() -> list[str]:
    """Task family names: folders of the tasks dir that hold a group file ``_<name>.yaml``."""
    root = tasks_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"_{p.name}.yaml").exists())
