"""``harness experiment plan|run|status``: a registry experiment as a graph of run directories."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import app, declares
from harness.core.config import check_fields, flag_name
from harness.core.errors import UserError
from harness.experiment.requests import ExperimentRequest, PlanRequest, RunRequest

experiment_app = typer.Typer(help="Run a registry experiment as a dependency graph of cells, here or on SLURM.",
                             no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")
MARKER = "experiment.json"

RootOption = Annotated[Optional[str], typer.Option("--root", help="Where experiments live (default: $HARNESS_EXPERIMENTS_DIR, else ./experiments).")]
DataDirOption = Annotated[Optional[str], typer.Option("--data-dir", help="Local data mirror passed to training and evaluation cells.")]
DataOption = Annotated[Optional[str], typer.Option("--data", help="Training corpus instead of the experiment's data: a corpus built by `harness corpus build` (e.g. gsm8k_zh_de_v1), a file or folder; new train cells (their hashes change), so pass it to run and status alike.")]

declares("experiment plan", PlanRequest, example=["smoke"])
declares("experiment run", RunRequest, example=["smoke", "--dry-run"])
declares("experiment status", ExperimentRequest, example=["smoke"])


def _checked(request: ExperimentRequest) -> ExperimentRequest:
    """The request within its declared bounds (before the registry is read or a folder made)."""
    check_fields(request, name=lambda n: "NAME" if n == "name" else flag_name(n))
    return request


def _load(ctx: typer.Context, name: str, root: str | None, data_dir: str | None, data: str | None = None):
    from harness.cli import common as cli
    from harness.core.registry import REGISTRY_ENV
    from harness.experiment.graph import expand

    # The registry file itself (--registry or $HARNESS_REGISTRY): the cells are given the same path.
    given = cli.state["registry"] or os.environ.get(REGISTRY_ENV)
    registry = cli.loaded_registry()
    exp = expand(registry, name, root=Path(root).expanduser() if root else None, data_dir=data_dir,
                 registry_path=Path(given) if given else None, data=data)
    probes = set(cli.loaded_catalog().probes)
    for probe in (registry.experiments[name].get("probes") or {}).get("names") or []:
        if probe not in probes:
            from harness.core.errors import unknown

            raise unknown("probe", probe, probes, where=f"experiment {name!r}")
    return exp


def _claim(exp) -> None:
    """Mark the experiment's folder as its own; refuse a folder that holds another's runs."""
    marker = exp.root / MARKER
    if marker.is_file():
        owner = json.loads(marker.read_text(encoding="utf-8")).get("experiment")
        if owner != exp.name:
            raise UserError(f"{exp.root} holds the runs of experiment {owner!r}, not {exp.name!r}; choose another --root")
        return
    if exp.root.is_dir() and any(exp.root.iterdir()):
        raise UserError(f"{exp.root} holds runs that belong to no experiment; choose another --root or move them")
    from harness.core.rundir import atomic_write_json

    atomic_write_json(marker, {"experiment": exp.name, "registry": str(exp.registry_path or "packaged")})


@experiment_app.command("plan")
def plan(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Experiment name (see `harness ls experiments`).")],
    json: Annotated[bool, typer.Option("--json", help="Print the cells as JSON.")] = False,
    root: RootOption = None,
    data_dir: DataDirOption = None,
    data: DataOption = None,
) -> None:
    """The cells, their dependencies, resources and exact commands, and where the training data
    comes from; nothing runs."""
    from harness.cli.common import console, make_table

    as_json = json  # the flag's name; the module json is not needed here
    _checked(PlanRequest(name=name, root=root, data_dir=data_dir, data=data, json=as_json))
    exp = _load(ctx, name, root, data_dir, data)
    if as_json:
        from json import dumps

        cells = [{"name": c.name, "kind": c.kind, "deps": c.deps, "resources": c.resources, "hash": c.digest,
                  "run_dir": str(c.run_dir), "command": c.command(), "argv": ["harness", *c.argv], "env": c.env}
                 for c in exp.cells.values()]
        typer.echo(dumps({"experiment": name, "root": str(exp.root), "data": exp.data, "notes": exp.notes,
                          "cells": cells}, indent=2))
        return
    table = make_table(f"Experiment {name}: {len(exp.cells)} cells under {exp.root}",
                   "cell", "needs", "resources", "command")
    for cell in exp.cells.values():
        table.add_row(cell.name, ", ".join(cell.deps) or "-", _resources(cell.resources), cell.command())
    console.print(table)
    for note in exp.notes:
        console.print(note, highlight=False, soft_wrap=True)


def _resources(res: dict) -> str:
    return f"{res['gpus']} GPU, {res['cpus']} CPU, {res['mem_gb']} GB, {res['hours']} h"


@experiment_app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Experiment name (see `harness ls experiments`).")],
    executor: Annotated[str, typer.Option(help="local (this machine) or slurm (one job per cell).")] = "local",
    only: Annotated[Optional[str], typer.Option(help="Only cells matching these globs (comma-separated), with the cells they need.")] = None,
    max_parallel: Annotated[Optional[int], typer.Option("--max-parallel", help="Cells at once (1 to 64): local, one GPU each (default 1); SLURM, jobs running at once (default: as many as the queue allows).")] = None,
    signal_s: Annotated[Optional[int], typer.Option("--signal-s", help="SLURM: seconds before a job's time limit at which its training saves a checkpoint and stops, and the job is requeued (10 to 3600, default 300).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; run nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="SLURM: watch the jobs until they end.")] = True,
    partition: Annotated[Optional[str], typer.Option(envvar="HARNESS_SLURM_PARTITION", help="SLURM partition.")] = None,
    account: Annotated[Optional[str], typer.Option(envvar="HARNESS_SLURM_ACCOUNT", help="SLURM account.")] = None,
    qos: Annotated[Optional[str], typer.Option(envvar="HARNESS_SLURM_QOS", help="SLURM QOS.")] = None,
    root: RootOption = None,
    data_dir: DataDirOption = None,
    data: DataOption = None,
) -> None:
    """Run the experiment's unfinished cells: finished ones are skipped, interrupted ones resumed."""
    from harness.cli.common import console
    from harness.experiment.board import Board
    from harness.experiment.state import read_status

    _checked(RunRequest(name=name, root=root, data_dir=data_dir, data=data, executor=executor, only=only,
                        max_parallel=max_parallel, signal_s=signal_s, dry_run=dry_run, wait=wait, partition=partition,
                        account=account, qos=qos))
    exp = _load(ctx, name, root, data_dir, data)
    names = exp.select(only)
    if dry_run:
        for cell_name in names:
            cell = exp.cells[cell_name]
            status = read_status(cell.run_dir)
            again = "resume" if cell.kind != "probe" else "run again"
            action = "skip (finished)" if status == "finished" else f"{again} ({status})" if status else "run"
            console.print(f"{action:<22} {cell.name}: {cell.command()}", highlight=False, soft_wrap=True)
        return
    runner = None
    if executor == "slurm":
        from harness.experiment.executors import SIGNAL_S, SlurmRunner

        runner = SlurmRunner(exp, partition=partition, account=account, qos=qos, signal_s=signal_s or SIGNAL_S,
                             max_parallel=max_parallel)  # refuses before anything starts
        runner.check_time_limits(names)
    _claim(exp)
    started = time.perf_counter()
    stopped = None
    with Board(exp, names, console) as board:
        if runner is None:
            from harness.experiment.executors import Stopped, run_local

            try:
                states = run_local(exp, names, board.report, max_parallel=max_parallel or 1)
            except Stopped as exc:
                states, stopped = exc.states, exc
        else:
            jobs = runner.submit(names, board.report)
            board.note(f"submitted to SLURM: {', '.join(f'{n}={j}' for n, j in jobs.items()) or 'nothing'}")
            if not wait:
                return
            states = runner.wait(jobs, board.report)
            states = {n: states.get(n, "done") for n in names}
    if stopped is not None:
        from harness.cli.common import err_console

        _summary(exp, states, time.perf_counter() - started, exit_on_failure=False)
        err_console.print(f"[yellow]stopped[/] by {stopped.signal}: running cells recorded themselves interrupted; "
                          f"`harness experiment run {name}` again continues them", highlight=False, soft_wrap=True)
        raise typer.Exit(stopped.exit_code)
    _summary(exp, states, time.perf_counter() - started)


def _summary(exp, states: dict[str, str], seconds: float, exit_on_failure: bool = True) -> None:
    from harness.cli.common import console, err_console
    from harness.experiment.executors import log_path
    from harness.experiment.state import DONE, PENDING, duration

    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    console.print(f"experiment {exp.name}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                  + f" in {duration(seconds)}", highlight=False)
    bad = {n: s for n, s in states.items() if s != DONE}
    for name, state in bad.items():
        blocked_by = [d for d in exp.cells[name].deps if states.get(d) != DONE]
        if state == PENDING:
            where = "not started"
        elif state == "blocked":
            where = f"needs {', '.join(blocked_by)}"
        else:
            where = f"log: {log_path(exp, name)}"
        err_console.print(f"{state}: {name} ({where})", highlight=False, soft_wrap=True)
    if bad and exit_on_failure:
        raise typer.Exit(1)


@experiment_app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Experiment name (see `harness ls experiments`).")],
    root: RootOption = None,
    data_dir: DataDirOption = None,
    data: DataOption = None,
) -> None:
    """pending / queued / running / done / failed / blocked per cell, with run dir, duration, metric."""
    from harness.cli.common import console, make_table
    from harness.experiment.executors import slurm_status
    from harness.experiment.state import BLOCKED, DONE, FAILED, INTERRUPTED, PENDING, cell_state, duration

    _checked(ExperimentRequest(name=name, root=root, data_dir=data_dir, data=data))
    exp = _load(ctx, name, root, data_dir, data)
    slurm = slurm_status(exp)
    table = make_table(f"Experiment {name} ({exp.root})", "cell", "state", "job", "run dir", "duration", "metric")
    states: dict[str, str] = {}
    for cell in exp.cells.values():
        current = cell_state(cell.kind, cell.run_dir)
        state, job = slurm.get(cell.name, (current.state, ""))
        if state == PENDING and any(states.get(d) in (FAILED, BLOCKED, INTERRUPTED) for d in cell.deps):
            state = BLOCKED
        if state == PENDING and _older_runs(cell):
            state = "pending (config changed)"
        states[cell.name] = state
        table.add_row(cell.name, state, job, str(cell.run_dir), duration(current.seconds), current.metric)
    console.print(table)
    done = sum(s == DONE for s in states.values())
    console.print(f"{done}/{len(states)} cells done", highlight=False)


def _older_runs(cell) -> bool:
    parent = cell.run_dir.parent
    return parent.is_dir() and any(p.name.startswith(f"{cell.name}-") and p.name != cell.dirname
                                   and len(p.name) == len(cell.dirname) for p in parent.iterdir())
