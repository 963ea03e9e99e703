"""What ``harness experiment plan|run|status`` accept, declared once (light: typer-free, no model stack).

Each field declares one option with its bounds (:func:`harness.core.config.option`); the command
checks the request (:func:`harness.core.config.check_fields`) before it loads the registry or
creates a folder, so a bad value is one sentence and exit code 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.core.config import option
from harness.core.errors import UserError

EXPERIMENTS_ENV = "HARNESS_EXPERIMENTS_DIR"
EXECUTORS = ("local", "slurm")
MAX_PARALLEL = 64
"""Local cells at once: each gets a GPU of its own (CUDA_VISIBLE_DEVICES=slot)."""


def experiments_root(root: str | Path | None = None) -> Path:
    """``--root``, else $HARNESS_EXPERIMENTS_DIR, else ./experiments."""
    return Path(root or os.environ.get(EXPERIMENTS_ENV) or "experiments")


@dataclass
class ExperimentRequest:
    """``harness experiment status`` (and what plan and run add to)."""

    name: str = option("", help="Experiment name (see `harness ls experiments`).", nonempty=True)
    root: str | None = option(None, help="Where experiments live (default: $HARNESS_EXPERIMENTS_DIR, else ./experiments).",
                              nonempty=True)
    data_dir: str | None = option(None, help="Local data mirror passed to training and evaluation cells.", nonempty=True)
    data: str | None = option(None, help="Training corpus instead of the experiment's data.", nonempty=True)

    def check(self) -> None:
        where = experiments_root(self.root).expanduser()
        named = "--root" if self.root is not None else f"${EXPERIMENTS_ENV}" if os.environ.get(EXPERIMENTS_ENV) else "./experiments"
        if where.exists() and not where.is_dir():
            raise UserError(f"{named} {where} is a file, not a folder of experiments; choose another --root")
        if (where / self.name).exists() and not (where / self.name).is_dir():
            raise UserError(f"{where / self.name} is a file, not the folder of experiment {self.name!r}; "
                            f"move it or choose another --root")
        if self.data_dir is not None:
            mirror = Path(self.data_dir).expanduser()
            if mirror.exists() and not mirror.is_dir():
                raise UserError(f"--data-dir {self.data_dir} is a file, not a data mirror folder")


@dataclass
class PlanRequest(ExperimentRequest):
    """``harness experiment plan``."""

    json: bool = option(False, help="Print the cells as JSON.")


@dataclass
class RunRequest(ExperimentRequest):
    """``harness experiment run``."""

    executor: str = option("local", help="local (this machine) or slurm (one job per cell).",
                           source="harness choice: runs anywhere, SLURM only where asked", choices=EXECUTORS)
    only: str | None = option(None, help="Only cells matching these globs (comma-separated).", nonempty=True)
    max_parallel: int = option(1, help="Local: cells at once, one GPU each.",
                               source="harness choice: one cell at a time fits a one-GPU machine; at most 64, "
                                      "a GPU per cell", ge=1, le=MAX_PARALLEL)
    dry_run: bool = option(False, help="Show what would run; run nothing.")
    wait: bool = option(True, help="SLURM: watch the jobs until they end.")
    partition: str | None = option(None, help="SLURM partition.", nonempty=True)
    account: str | None = option(None, help="SLURM account.", nonempty=True)
    qos: str | None = option(None, help="SLURM QOS.", nonempty=True)

    def check(self) -> None:
        super().check()
        if self.only is not None and not any(p.strip() for p in self.only.split(",")):
            raise UserError(f"--only names no cell, got {self.only!r}")
        if self.executor == "slurm" and self.max_parallel != 1:
            raise UserError("--max-parallel is for --executor local: SLURM runs as many cells as the queue allows")
        if self.executor == "local" and not self.wait:
            raise UserError("--no-wait is for --executor slurm: local cells run in this process")
