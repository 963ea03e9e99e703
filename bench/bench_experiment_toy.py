"""Wall time of `harness experiment run toy` (the embedded default grid, 13 cells) on this machine.

Goal (issue 12): under 10 minutes on 2 CPU cores, offline. Runs the grid in a fresh folder, prints
each cell's duration from its run directory, then runs it again (nothing should run) and times that.

    .venv/bin/python bench/bench_experiment_toy.py [--root DIR] [--max-parallel N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def harness(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="experiments root (default: a new temp folder)")
    parser.add_argument("--max-parallel", default="1")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-experiment-"))
    first, proc = harness("experiment", "run", "toy", "--root", str(root), "--max-parallel", args.max_parallel)
    print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    _, plan = harness("experiment", "plan", "toy", "--root", str(root), "--json")
    cells = json.loads(plan.stdout)["cells"]
    for cell in cells:
        manifest = Path(cell["run_dir"]) / "manifest.json"
        info = json.loads(manifest.read_text()) if manifest.is_file() else {}
        print(f"{cell['name']:<16} {info.get('status', 'missing'):<10} {info.get('started', '')} -> {info.get('ended', '')}")
    second, again = harness("experiment", "run", "toy", "--root", str(root))
    print(f"toy experiment: {len(cells)} cells, first run {first:.0f} s (exit {proc.returncode}), "
          f"rerun {second:.1f} s (exit {again.returncode}); goal < 600 s; root {root}")
    return proc.returncode or again.returncode


if __name__ == "__main__":
    sys.exit(main())
