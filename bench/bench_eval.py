"""Seconds per 100 problems of `harness eval`, per backend (the tiny model unless --model).

    python bench/bench_eval.py --data-dir ../shared/data --limit 100 --max-gen-toks 128 --backends hf,vllm

Each backend runs as its own `harness eval` command (vLLM starts worker processes); the time of
the lm-eval pass (generation and grading, without model loading) is read back from results.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HARNESS = str(Path(sys.executable).parent / "harness")


def bench(backend: str, args: argparse.Namespace, root: Path) -> dict:
    run = root / f"run-{backend}"
    command = [HARNESS, "eval", "--model", args.model, "--tasks", args.task, "--backend", backend,
               "--limit", str(args.limit), "--max-gen-toks", str(args.max_gen_toks), "--run-dir", str(run)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if backend == "vllm" and args.max_model_len:
        command += ["--max-model-len", str(args.max_model_len)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    info = json.loads((run / "results.json").read_text())["harness"]
    problems = json.loads((run / "results.json").read_text())["n-samples"][args.task]["effective"]
    return {"backend": backend, "problems": problems, "load_s": round(info["load_seconds"], 1),
            "eval_s": round(info["run_seconds"][0], 1),
            "s_per_100": round(100 * info["run_seconds"][0] / problems, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--task", default="mgsm_xling_en")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-gen-toks", type=int, default=1024)
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--backends", default="hf,vllm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            print(json.dumps({"task": args.task, "max_gen_toks": args.max_gen_toks, **bench(backend, args, Path(tmp))}))


if __name__ == "__main__":
    main()
