"""The one entry point every executor runs for a cell: its ``harness`` command in a subprocess.

The same function runs in a local worker thread and inside a SLURM job (submitit pickles the
call), so a cell behaves the same wherever it runs:

- a finished run directory is left alone; an unfinished one is continued (``--resume`` for
  training and evaluation, which keep their checkpoints and finished repeats; a probe starts
  again); a directory holding only an earlier attempt's log is started again;
- the command's output goes to ``<run dir>/logs/cell.log`` (held back until the command has
  created its run directory: ``harness train`` refuses a new run directory that is not empty);
- a training cell with several GPUs is launched with accelerate (``harness.train.launch``);
- SIGTERM (``scancel``, a preemption, or a local experiment run being stopped) is passed on to
  the command, which records ``interrupted``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from harness.core.rundir import MANIFEST
from harness.experiment.state import CELL_REFUSED, read_status

CELL_LOG = "logs/cell.log"


# The cell commands running in this process (local worker threads), for stop_cells.
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.RLock()  # re-entered by a SIGTERM handler on the thread holding it
STOPPING = threading.Event()
"""Set by :func:`stop_cells`: cells not started yet are not started."""


def stop_cells(signum: int | None = signal.SIGTERM) -> None:
    """Start no more cells, and pass ``signum`` (None: none) on to every running cell command; each
    records itself interrupted and exits."""
    STOPPING.set()
    with _LIVE_LOCK:
        for proc in _LIVE:
            if signum is not None and proc.poll() is None:
                proc.send_signal(signum)


def reuse_flags(kind: str, run_dir: Path) -> list[str] | None:
    """The flag that reuses ``run_dir`` as it stands, or ``None`` when the cell is finished."""
    status = read_status(run_dir)
    if status == "finished":
        return None
    if status is None:
        return ["--overwrite"] if run_dir.exists() and any(run_dir.iterdir()) else []
    return ["--resume"] if kind in ("train", "eval", "base") else ["--overwrite"]


def command(spec: dict[str, Any], flags: list[str]) -> tuple[list[str], dict[str, str]]:
    """The process to start and its environment."""
    env = {**os.environ, **spec.get("env", {})}
    argv = [*spec["argv"], *flags]
    if spec["kind"] == "train" and spec.get("gpus", 0) > 1:
        from harness.train.launch import training_command

        launch = training_command(argv[1:], gpus=list(range(spec["gpus"])), strategy=spec.get("strategy", "zero2"))
        if "CUDA_VISIBLE_DEVICES" in os.environ:  # the scheduler's choice of GPUs wins
            launch.env.pop("CUDA_VISIBLE_DEVICES", None)
        return launch.argv, {**env, **launch.env}
    return [sys.executable, "-m", "harness.cli", *argv], env


def run_cell(spec: dict[str, Any], extra_env: dict[str, str] | None = None) -> int | None:
    """Run one cell to its end; the command's exit code (0 when it was already finished, None when
    it was not started because the run is stopping)."""
    run_dir = Path(spec["run_dir"])
    flags = reuse_flags(spec["kind"], run_dir)
    if flags is None:
        return 0
    argv, env = command(spec, flags)
    env.update(extra_env or {})
    (run_dir / CELL_REFUSED).unlink(missing_ok=True)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with _LIVE_LOCK:
        if STOPPING.is_set():
            return None
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        _LIVE.add(proc)
    previous = _stop_on_sigterm()
    try:
        _tee(proc, run_dir, header=f"$ {' '.join(argv)}\n".encode())
        code = proc.wait()
        if code and not (run_dir / MANIFEST).is_file():
            (run_dir / CELL_REFUSED).write_text(f"{code}\n", encoding="utf-8")
        return code
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm():
    """In a main thread (a SLURM job): SIGTERM stops the cell (:func:`stop_cells`). Local worker
    threads cannot set handlers; the local runner calls :func:`stop_cells` on a signal."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop_cells(signal.SIGTERM))


def _tee(proc: subprocess.Popen, run_dir: Path, header: bytes) -> None:
    """Copy the command's output into the cell log once its run directory exists."""
    held: list[bytes] = [header]
    handle = None
    try:
        for line in iter(proc.stdout.readline, b""):
            if handle is None and (run_dir / MANIFEST).is_file():
                handle = _open_log(run_dir, held)
            if handle is None:
                held.append(line)
            else:
                handle.write(line)
                handle.flush()
        proc.wait()
        if handle is None:
            handle = _open_log(run_dir, held)
    finally:
        if handle is not None:
            handle.close()


def _open_log(run_dir: Path, held: list[bytes]):
    path = run_dir / CELL_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "ab")
    handle.write(b"".join(held))
    handle.flush()
    held.clear()
    return handle


class CellJob:
    """The submitit callable: a failing command fails the SLURM job (so ``afterok`` holds its
    dependants back), and a preempted or timed-out job is requeued, resuming from its last
    checkpoint because the cell reruns with ``--resume``."""

    def __call__(self, spec: dict[str, Any]) -> int:
        code = run_cell(spec)
        if code != 0:
            raise RuntimeError(f"cell {spec['name']} failed with exit code {code}; log: {Path(spec['run_dir']) / CELL_LOG}")
        return code

    def checkpoint(self, spec: dict[str, Any]):
        import submitit

        return submitit.helpers.DelayedSubmission(CellJob(), spec)
