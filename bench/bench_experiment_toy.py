"""Wall time of the toy study, `harness experiment run toy` then `harness report experiments/toy`,
from an empty cache (the tiny-base build included), offline, on this machine.

Goal (issue 21): the whole grid in at most 20 minutes on 2 CPU cores. Runs in a fresh folder with a
fresh HARNESS_CACHE (unless --keep-cache), prints the base build time, each cell's duration from its
run directory (grouped by stage), the report, then runs the grid again (nothing should run).

    .venv/bin/python bench/bench_experiment_toy.py [--root DIR] [--max-parallel N] [--keep-cache]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def harness(*args: str, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env)
    return time.perf_counter() - started, proc


def seconds(run_dir: Path) -> float | None:
    try:
        info = json.loads((run_dir / "manifest.json").read_text())
        return (dt.datetime.fromisoformat(info["ended"]) - dt.datetime.fromisoformat(info["started"])).total_seconds()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="experiments root (default: a new temp folder)")
    parser.add_argument("--max-parallel", default="1")
    parser.add_argument("--keep-cache", action="store_true", help="use the current HARNESS_CACHE (tiny-base may be built)")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-experiment-"))
    env = dict(os.environ)
    if not args.keep_cache:
        env["HARNESS_CACHE"] = str(root / "cache")
    build, proc = harness("tiny", "--base", env=env)
    if proc.returncode:
        print(proc.stderr)
        return proc.returncode
    first, proc = harness("experiment", "run", "toy", "--root", str(root), "--max-parallel", args.max_parallel, env=env)
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n")
    _, plan = harness("experiment", "plan", "toy", "--root", str(root), "--json", env=env)
    cells = json.loads(plan.stdout)["cells"]
    stages: dict[str, float] = {}
    for cell in cells:
        took = seconds(Path(cell["run_dir"]))
        stages[cell["kind"]] = stages.get(cell["kind"], 0.0) + (took or 0.0)
        print(f"{cell['name']:<36} {took if took is not None else float('nan'):7.1f} s")
    _, report = harness("report", str(root / "toy"), env=env)
    print(report.stdout[-12000:], report.stderr[-2000:], sep="\n")
    second, again = harness("experiment", "run", "toy", "--root", str(root), env=env)
    total = build + first
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": dt.date.today().isoformat(),
        "cells": len(cells), "base_build_s": round(build, 1), "grid_s": round(first, 1), "total_s": round(total, 1),
        "per_stage_s": {k: round(v, 1) for k, v in stages.items()}, "rerun_s": round(second, 1),
        "goal_s": 1200, "exit": [proc.returncode, again.returncode], "root": str(root),
    }, indent=1))
    return proc.returncode or again.returncode


if __name__ == "__main__":
    sys.exit(main())
