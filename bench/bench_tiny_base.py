"""Build time and profile of `tiny-base` on this machine, from an empty cache.

Goal (issue 21): the build in at most 5 minutes on 2 CPU cores; greedy accuracy on the held-out
toy benchmark (toy_study_xling, 250 problems per language) non-zero in every language, English at
least 10 points above the mean of th/sw/bn and at most about 70%.

    .venv/bin/python bench/bench_tiny_base.py [--keep-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def harness(*args: str, env: dict, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-cache", action="store_true", help="use the current HARNESS_CACHE")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-tiny-base-"))
    env = dict(os.environ)
    if not args.keep_cache:
        env["HARNESS_CACHE"] = str(scratch / "cache")
    build, proc = harness("tiny", "--base", env=env, cwd=scratch)
    if proc.returncode:
        print(proc.stderr)
        return proc.returncode
    path = Path(proc.stdout.strip())
    info = json.loads((path / "xling_tiny.json").read_text())
    took, proc = harness("eval", "--model", "tiny-base", "--tasks", "toy_study_xling", "--batch-size", "128",
                         "--run-dir", "runs/base", env=env, cwd=scratch)
    if proc.returncode:
        print(proc.stderr)
        return proc.returncode
    results = json.loads((scratch / "runs" / "base" / "results.json").read_text())["results"]
    profile = {task.rsplit("_", 1)[1]: round(100 * scores["strict_acc,none"], 1)
               for task, scores in results.items() if task.startswith("toy_study_xling_")}
    low = sum(profile[lang] for lang in ("th", "sw", "bn")) / 3
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "build_s": round(build, 1),
        "build_goal_s": 300, "parameters": info["parameters"], "pretraining_loss": info["pretraining_loss"],
        "weights_sha256": info["weights_sha256"], "eval_s": round(took, 1), "strict_acc": profile,
        "avg": round(sum(profile.values()) / len(profile), 1), "en_minus_low_resource": round(profile["en"] - low, 1),
        "checks": {"all_non_zero": all(v > 0 for v in profile.values()),
                   "en_10_above_th_sw_bn": profile["en"] - low >= 10, "en_at_most_70": profile["en"] <= 70},
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
