"""Which lm-eval task families the harness ships, found without parsing any YAML (lm-eval's own
start-up parses every YAML it can see, which takes seconds)."""

from __future__ import annotations

from pathlib import Path


def tasks_dir() -> Path:
    """The folder to give lm-eval as ``--include_path``."""
    from harness.tasks import TASKS_DIR

    return TASKS_DIR


def task_families() -> list[str]:
    """Task family names: folders of the tasks dir that hold a group file ``_<name>.yaml``."""
    root = tasks_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"_{p.name}.yaml").exists())
