"""Where cells run: here (worker threads, each starting the cell's command) or on SLURM (one job
per cell through submitit, dependencies as ``afterok``). Both run the same entry point,
:func:`harness.experiment.cells.run_cell`, and read progress back from the run directories.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.rundir import Terminated, atomic_write_json
from harness.experiment.cells import STOPPING, CellJob, run_cell, stop_cells
from harness.experiment.graph import Experiment
from harness.experiment.state import (
    BLOCKED, DONE, FAILED, INTERRUPTED, PENDING, QUEUED, RUNNING, cell_state, read_status,
)

Report = Callable[[str, str], None]
JOBS_FILE = "slurm_jobs.json"
FINAL = (DONE, FAILED, BLOCKED, INTERRUPTED)
SIGNAL_S = 300
"""How long before its time limit SLURM warns a cell's job (``--signal-s``): the training finishes
its step and saves a checkpoint in that time. harness choice: a GRPO step of the study's 3B model
takes ~11 s and a checkpoint with its optimizer states ~40 GB; five minutes of a day-long job."""


# --- local ---------------------------------------------------------------------------------------


class Stopped(Terminated):
    """SIGTERM or SIGINT stopped a local experiment run: the running cells recorded themselves
    interrupted, the others were not started. ``states`` is where each cell stands."""

    def __init__(self, signum: int, states: dict[str, str]):
        super().__init__(signum)
        self.states = states


@contextlib.contextmanager
def _stop_on_signals(received: list[int]):
    """While cells run here: SIGTERM is passed on to each running cell command, and SIGINT (which
    a terminal sends the cells itself) only stops new cells from starting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        received.append(signum)
        stop_cells(signal.SIGTERM if signum == signal.SIGTERM else None)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_local(exp: Experiment, names: list[str], report: Report, *, max_parallel: int = 1) -> dict[str, str]:
    """Run the cells ``names`` (in dependency order, ``max_parallel`` at a time; with more than one,
    slot i sees only GPU i); a failed cell blocks its dependants, the others go on. A SIGTERM or
    SIGINT stops the run (:class:`Stopped`) once the running cells have recorded themselves."""
    if max_parallel < 1:
        raise UserError(f"--max-parallel must be at least 1, got {max_parallel}")
    STOPPING.clear()
    received: list[int] = []
    with _stop_on_signals(received):
        states = _run_local(exp, names, report, max_parallel)
    if received:
        raise Stopped(received[0], states)
    return states


def _run_local(exp: Experiment, names: list[str], report: Report, max_parallel: int) -> dict[str, str]:
    states: dict[str, str] = {}
    todo: list[str] = []
    for name in names:
        states[name] = DONE if read_status(exp.cells[name].run_dir) == "finished" else PENDING
        report(name, states[name])
        if states[name] == PENDING:
            todo.append(name)
    free, running = list(range(max_parallel)), {}
    with ThreadPoolExecutor(max_parallel) as pool:
        while running or (todo and not STOPPING.is_set()):
            for name in [] if STOPPING.is_set() else list(todo):
                deps = [states.get(d) or _disk_state(exp, d) for d in exp.cells[name].deps]
                if any(s in (FAILED, BLOCKED, INTERRUPTED) for s in deps):
                    todo.remove(name)
                    states[name] = BLOCKED
                    report(name, BLOCKED)
                elif free and all(s == DONE for s in deps):
                    todo.remove(name)
                    slot = free.pop(0)
                    env = {"CUDA_VISIBLE_DEVICES": str(slot)} if max_parallel > 1 else {}
                    running[pool.submit(run_cell, exp.cells[name].spec(), env)] = (name, slot)
                    states[name] = RUNNING
                    report(name, RUNNING)
            if not running:
                break
            finished, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                name, slot = running.pop(future)
                free.append(slot)
                code = 1 if future.exception() else future.result()
                if code is None:  # not started: the run is stopping
                    states[name] = PENDING
                else:
                    states[name] = DONE if code == 0 else _disk_state(exp, name, default=FAILED)
                report(name, states[name])
            if not finished:
                for name, _ in running.values():
                    report(name, RUNNING)  # refreshes the elapsed time on the board
    return states


def _disk_state(exp: Experiment, name: str, default: str = PENDING) -> str:
    cell = exp.cells[name]
    state = cell_state(cell.kind, cell.run_dir).state
    return default if state == PENDING else state


# --- SLURM ---------------------------------------------------------------------------------------


def slurm_unavailable() -> str | None:
    """Why SLURM cannot take jobs here (None when it can)."""
    if shutil.which("sbatch") is None:
        return "sbatch is not installed"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"scontrol ping failed ({exc})"
    if "UP" not in ping.stdout:
        return f"the SLURM controller is down ({(ping.stdout + ping.stderr).strip() or 'no answer'})"
    return None


def job_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """SLURM's (state, reason) of each job it still knows (completed ones for MinJobAge)."""
    if not job_ids:
        return {}
    # All of this user's jobs, not `-j IDS`: squeue refuses the whole list when one id has expired.
    out = subprocess.run(["squeue", "-h", "--me", "--states=all", "-o", "%i|%T|%r"],
                         capture_output=True, text=True, timeout=60)
    wanted, states = set(job_ids), {}
    for line in out.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[0] in wanted:
            states[parts[0]] = (parts[1], parts[2])
    return states


def read_jobs(exp: Experiment) -> dict[str, dict[str, Any]]:
    path = exp.root / JOBS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def merged_state(exp: Experiment, name: str, job: tuple[str, str] | None) -> str:
    """A cell's state from its run directory, completed by SLURM's state of its job."""
    cell = exp.cells[name]
    disk = cell_state(cell.kind, cell.run_dir).state
    if disk in (DONE, FAILED) or job is None:
        return disk
    slurm, reason = job
    if slurm == "PENDING":
        return BLOCKED if "DependencyNeverSatisfied" in reason else QUEUED
    if slurm in ("RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"):
        return RUNNING
    if disk == INTERRUPTED:
        return INTERRUPTED
    if slurm == "COMPLETED":
        return disk
    # Ended before the command wrote anything: a dependency failed (SLURM cancelled it) or the job did.
    deps = [merged_state(exp, d, None) for d in cell.deps]
    return BLOCKED if any(d != DONE for d in deps) else FAILED


class SlurmRunner:
    """Submits cells as SLURM jobs through submitit and watches them.

    Time limits: each job gets submitit's warning (SIGUSR2) ``signal_s`` seconds before its limit;
    :meth:`CellJob.checkpoint` then has the cell's training save a checkpoint and stop, and the job
    is requeued (at most 3 times) to continue from it.

    ``max_parallel``: at most that many of the experiment's jobs run at once. Each job takes one of
    ``max_parallel`` slot names and adds SLURM's ``singleton`` dependency (one running job per name
    and user), so the others wait in the queue (reason ``Dependency``). SLURM's own mechanism, not
    a chain of ``afterany`` dependencies: nothing to repair when a job is cancelled, requeued or
    submitted again, and a slot's job from an earlier ``run`` still counts."""

    def __init__(self, exp: Experiment, *, partition: str | None = None, account: str | None = None,
                 qos: str | None = None, signal_s: int = SIGNAL_S, max_parallel: int | None = None):
        reason = slurm_unavailable()
        if reason:
            raise UserError(f"--executor slurm: {reason}")
        self.exp = exp
        self.options = {"partition": partition, "account": account, "qos": qos}
        self.signal_s = signal_s
        self.max_parallel = max_parallel
        self._submitted = 0

    def submit(self, names: list[str], report: Report) -> dict[str, str]:
        """One job per unfinished cell (a queued or running job of the same cell is kept)."""
        import submitit

        self.check_time_limits(names)
        previous = read_jobs(self.exp)
        known = self._settled([str(r["job_id"]) for r in previous.values()])
        executor = submitit.SlurmExecutor(folder=self.exp.root / ".submitit" / "%j", max_num_timeout=3)
        stop_wait_s = max(self.signal_s - 10, self.signal_s / 2)  # the requeue needs a moment before the limit
        jobs: dict[str, str] = {}
        records = dict(previous)
        for name in names:
            cell = self.exp.cells[name]
            if read_status(cell.run_dir) == "finished":
                report(name, DONE)
                continue
            kept = self._still_active(previous.get(name), cell, known, jobs)
            if kept:
                jobs[name] = kept
                report(name, QUEUED)
                continue
            deps = [jobs[d] for d in cell.deps if d in jobs]
            slot = self._next_slot()
            executor.update_parameters(**self._parameters(cell, deps, slot))
            job = executor.submit(CellJob(stop_wait_s), cell.spec())
            jobs[name] = str(job.job_id)
            records[name] = {"job_id": jobs[name], "dirname": cell.dirname, "after": deps,
                             "submitted": time.strftime("%Y-%m-%dT%H:%M:%S"),
                             **({"slot": slot} if slot is not None else {})}
            report(name, QUEUED)
        self.exp.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.exp.root / JOBS_FILE, records)
        return jobs

    @staticmethod
    def _settled(job_ids: list[str], timeout_s: float = 120.0) -> dict[str, tuple[str, str]]:
        """Job states once no job is COMPLETING: a cancelled job's command may still hold its run
        directory (and record its status) for a few seconds."""
        deadline = time.monotonic() + timeout_s
        while True:
            known = job_states(job_ids)
            if time.monotonic() > deadline or all(state != "COMPLETING" for state, _ in known.values()):
                return known
            time.sleep(2)

    def _still_active(self, record: dict | None, cell, known: dict, jobs: dict[str, str]) -> str | None:
        """The job of an earlier submission to keep: running, or pending on jobs that are still
        the current ones of its dependencies. A pending job waiting on a job that was replaced
        (cancelled, failed) would never start: it is cancelled and the cell submitted again."""
        if not record or record.get("dirname") != cell.dirname:
            return None
        job_id = str(record["job_id"])
        state, reason = known.get(job_id, ("", ""))
        if state in ("RUNNING", "CONFIGURING", "REQUEUED"):
            return job_id
        if state == "PENDING":
            waits_on_current = all(jobs[d] in record.get("after", []) for d in cell.deps if d in jobs)
            if waits_on_current and "DependencyNeverSatisfied" not in reason:
                return job_id
            subprocess.run(["scancel", job_id], capture_output=True, timeout=60)
        return None

    def _next_slot(self) -> int | None:
        """The slot of the next job (round robin over ``max_parallel``; None: no limit)."""
        if self.max_parallel is None:
            return None
        slot = self._submitted % self.max_parallel
        self._submitted += 1
        return slot

    def _slot_name(self, slot: int) -> str:
        """A slot's job name: SLURM's singleton counts jobs by name and user, so the name is the
        experiment's and its folder's (two roots of one experiment do not share slots)."""
        where = hashlib.sha256(str(self.exp.root.resolve()).encode()).hexdigest()[:8]
        return f"{self.exp.name}:slot{slot}:{where}"

    def check_time_limits(self, names: list[str]) -> None:
        """Refuse a warning that would come in the first half of a cell's time limit: its job would
        spend more time stopping and requeueing than working."""
        for name in names:
            limit_s = _minutes(self.exp.cells[name].resources) * 60
            if self.signal_s > limit_s / 2:
                raise UserError(f"--signal-s {self.signal_s} is more than half of cell {name}'s time limit "
                                f"({limit_s // 60} min): lower --signal-s or raise its resources' hours")

    def _parameters(self, cell, deps: list[str], slot: int | None = None) -> dict[str, Any]:
        res = cell.resources
        depends = [f"afterok:{':'.join(deps)}"] if deps else []
        if slot is not None:
            depends.append("singleton")
        params: dict[str, Any] = {
            "job_name": f"{self.exp.name}:{cell.name}" if slot is None else self._slot_name(slot),
            "comment": cell.name,
            "time": _minutes(res),
            "signal_delay_s": self.signal_s,
            "cpus_per_task": int(res["cpus"]),
            "mem": f"{int(float(res['mem_gb']) * 1024)}M",
            "dependency": ",".join(depends) or None,
            "gpus_per_node": int(res["gpus"]) or None,
            # A job whose dependency failed never runs: cancelled, it neither waits forever nor holds its slot.
            "additional_parameters": {"kill-on-invalid-dep": "yes"},
        }
        params.update({k: v for k, v in self.options.items() if v})
        return params

    def wait(self, jobs: dict[str, str], report: Report, *, poll_s: float = 3.0) -> dict[str, str]:
        """Poll SLURM and the run directories until every submitted cell has ended."""
        while True:
            known = job_states(list(jobs.values()))
            states = {name: merged_state(self.exp, name, known.get(job)) for name, job in jobs.items()}
            for name, state in states.items():
                report(name, state)
            if all(s in FINAL for s in states.values()):
                return states
            time.sleep(poll_s)


def _minutes(resources: dict[str, Any]) -> int:
    """A cell's SLURM time limit in minutes (its resources' hours; at least one minute)."""
    return max(1, int(round(float(resources["hours"]) * 60)))


def slurm_status(exp: Experiment) -> dict[str, tuple[str, str]]:
    """(state, job id) of each cell that was submitted to SLURM, for ``experiment status``."""
    records = {n: r for n, r in read_jobs(exp).items() if n in exp.cells and r.get("dirname") == exp.cells[n].dirname}
    if not records or shutil.which("squeue") is None:
        return {}
    known = job_states([str(r["job_id"]) for r in records.values()])
    return {n: (merged_state(exp, n, known.get(str(r["job_id"]))), str(r["job_id"])) for n, r in records.items()}


def log_path(exp: Experiment, name: str) -> Path:
    from harness.experiment.cells import CELL_LOG

    return exp.cells[name].run_dir / CELL_LOG
