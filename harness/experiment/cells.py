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
  the command, which records ``interrupted``;
- in a SLURM job, the warning before the time limit (submitit's SIGUSR2, which SLURM sends to
  every process of the job) reaches submitit only: the command starts with SIGUSR2 ignored.
  submitit then calls :meth:`CellJob.checkpoint`, which asks the command to stop (a training:
  SIGUSR1, checkpoint and stop, to each of its processes; any other cell: SIGTERM), waits for it,
  and has the job requeued; the requeued job continues the cell with ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness.core.rundir import CHECKPOINT_AND_STOP, MANIFEST
from harness.experiment.state import CELL_REFUSED, read_status

CELL_LOG = "logs/cell.log"


# The cell commands running in this process (local worker threads), for stop_cells: each with the
# event its output thread sets once the command has ended.
_LIVE: dict[subprocess.Popen, threading.Event] = {}
_LIVE_LOCK = threading.RLock()  # re-entered by a SIGTERM handler on the thread holding it
STOPPING = threading.Event()
"""Set by :func:`stop_cells`: cells not started yet are not started."""
SLURM_WARNING = signal.SIGUSR2
"""submitit's signal before a SLURM time limit (``--signal=USR2@<seconds>``)."""


def stop_cells(signum: int | None = signal.SIGTERM) -> None:
    """Start no more cells, and pass ``signum`` (None: none) on to every running cell command; each
    records itself interrupted and exits."""
    STOPPING.set()
    with _LIVE_LOCK:
        for proc, ended in _LIVE.items():
            if signum is not None and not ended.is_set():
                _deliver(proc, signum)


def _deliver(proc: subprocess.Popen, signum: int) -> None:
    """SIGTERM goes to the command, which passes it on (``harness train``'s processes, torchrun's
    ranks). SIGUSR1 goes to each of its processes, as SLURM signals a job: an ``accelerate launch``
    of a multi-GPU cell does not pass it on, and in a SLURM job it ignores it (below); the ranks
    of a training each take it (a rank told twice stops once)."""
    proc.send_signal(signum)
    if signum != CHECKPOINT_AND_STOP:
        return
    import psutil  # accelerate's dependency

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return
    for child in descendants:
        with contextlib.suppress(psutil.Error):
            child.send_signal(signum)


def stop_and_wait(signum: int, timeout_s: float) -> list[int | None]:
    """:func:`stop_cells` with ``signum``, then wait up to ``timeout_s`` for the commands to end;
    their exit codes (None: still running). Safe inside a signal handler of the thread that waits
    in :func:`run_cell`: that thread waits on an event, never in ``Popen.wait``."""
    stop_cells(signum)
    with _LIVE_LOCK:
        live = list(_LIVE.items())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not all(ended.is_set() for _, ended in live):
        time.sleep(0.2)
    return [proc.returncode if ended.is_set() else None for proc, ended in live]


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
    ended = threading.Event()
    with _LIVE_LOCK:
        if STOPPING.is_set():
            return None
        with _ignored_by_children(SLURM_WARNING, CHECKPOINT_AND_STOP):
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        _LIVE[proc] = ended
    previous = _stop_on_sigterm()
    try:
        header = f"$ {' '.join(argv)}\n".encode()
        threading.Thread(target=_tee, args=(proc, run_dir, header, ended), name=f"cell-log-{proc.pid}",
                         daemon=True).start()
        ended.wait()  # an event, not proc.wait(): a signal handler may wait for the end too (stop_and_wait)
        code = proc.returncode
        if code and not STOPPING.is_set() and not (run_dir / MANIFEST).is_file():
            (run_dir / CELL_REFUSED).write_text(f"{code}\n", encoding="utf-8")
        return code
    finally:
        with _LIVE_LOCK:
            _LIVE.pop(proc, None)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _ignored_by_children(*signums: int):
    """Processes started in the block ignore ``signums`` (an ignored signal stays ignored across
    exec, a handler does not), and so do theirs, until one sets a handler; this process keeps its
    handlers. SLURM sends its time-limit warning (SIGUSR2) to every process of the job, and a
    process without a handler would die of it; likewise SIGUSR1, which only ``harness train``
    handles, for a launcher between the cell and its training processes. (Not blocked: a blocked
    mask would be inherited too, and SIGUSR1 never delivered. A warning in the milliseconds of
    starting the command is lost: it comes tens of seconds into a job.) Main thread only (SLURM
    jobs): local worker threads cannot change handlers, and neither signal comes to a local cell."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_sigterm():
    """In a main thread (a SLURM job): SIGTERM stops the cell (:func:`stop_cells`). Local worker
    threads cannot set handlers; the local runner calls :func:`stop_cells` on a signal."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop_cells(signal.SIGTERM))


def _tee(proc: subprocess.Popen, run_dir: Path, header: bytes, ended: threading.Event) -> None:
    """Copy the command's output into the cell log (in a thread of its own); set ``ended`` once
    the command has ended."""
    try:
        _copy_output(proc, run_dir, header)
    finally:
        for _ in iter(proc.stdout.readline, b""):  # the log failed: the command must not block on a full pipe
            pass
        proc.wait()
        ended.set()


def _copy_output(proc: subprocess.Popen, run_dir: Path, header: bytes) -> None:
    """The output goes into the cell log once the command has created its run directory."""
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
    dependants back), and a job warned of its time limit (or preempted) is requeued, resuming
    from the checkpoint its training saved when :meth:`checkpoint` asked it to stop."""

    stop_wait_s: float = 60.0
    """How long :meth:`checkpoint` waits for the command to stop: less than the warning's lead on
    the time limit (SLURM kills the job at the limit, requeued or not)."""

    def __init__(self, stop_wait_s: float = 60.0):
        self.stop_wait_s = stop_wait_s

    def __call__(self, spec: dict[str, Any]) -> int:
        code = run_cell(spec)
        if code != 0:
            raise RuntimeError(f"cell {spec['name']} failed with exit code {code}; log: {Path(spec['run_dir']) / CELL_LOG}")
        return code

    def checkpoint(self, spec: dict[str, Any]):
        """submitit's hook, called on the warning before the time limit (or a preemption) and
        followed by a requeue: a training checkpoints and stops (SIGUSR1), another command stops
        (SIGTERM, it records itself interrupted); either way the requeued job continues it."""
        import submitit

        signum = CHECKPOINT_AND_STOP if spec["kind"] == "train" else signal.SIGTERM
        started = time.monotonic()
        print(f"cell {spec['name']}: {signal.Signals(signum).name} to its command, waiting up to "
              f"{self.stop_wait_s:.0f} s for it to stop", flush=True)
        codes = stop_and_wait(signum, self.stop_wait_s)
        print(f"cell {spec['name']}: exit code {codes} after {time.monotonic() - started:.1f} s; requeueing",
              flush=True)
        return submitit.helpers.DelayedSubmission(CellJob(self.stop_wait_s), spec)
