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
"""Cells at once: here each gets a GPU of its own (CUDA_VISIBLE_DEVICES=slot); on SLURM, jobs."""
SIGNAL_S_BOUNDS = (10, 3600)
"""``--signal-s``: SLURM checks time limits every 30 s, and a warning longer than an hour only
takes time from training."""


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
    max_parallel: int | None = option(None, help="Cells at once: local, one GPU each (default 1); SLURM, jobs running "
                                                 "at once (default: as many as the queue allows).",
                                      source="harness choice: one cell at a time fits a one-GPU machine; SLURM "
                                             "schedules its queue; at most 64, a GPU per local cell",
                                      ge=1, le=MAX_PARALLEL)
    signal_s: int | None = option(None, help="SLURM: seconds before a job's time limit at which its training saves "
                                             "a checkpoint and stops, and the job is requeued (default 300).",
                                  source="harness choice: see harness.experiment.executors.SIGNAL_S",
                                  ge=SIGNAL_S_BOUNDS[0], le=SIGNAL_S_BOUNDS[1])
    dry_run: bool = option(False, help="Show what would run; run nothing.")
    wait: bool = option(True, help="SLURM: watch the jobs until they end.")
    partition: str | None = option(None, help="SLURM partition.", nonempty=True)
    account: str | None = option(None, help="SLURM account.", nonempty=True)
    qos: str | None = option(None, help="SLURM QOS.", nonempty=True)

    def check(self) -> None:
        super().check()
        if self.only is not None and not any(p.strip() for p in self.only.split(",")):
            raise UserError(f"--only names no cell, got {self.only!r}")
        if self.executor == "local" and self.signal_s is not None:
            raise UserError("--signal-s is for --executor slurm: local cells have no time limit")
        if self.executor == "local" and not self.wait:
            raise UserError("--no-wait is for --executor slurm: local cells run in this process")
