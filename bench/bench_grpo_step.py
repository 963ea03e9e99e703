"""Seconds per GRPO step on the tiny model: rollouts with transformers ``generate`` vs colocated vLLM.

    .venv/bin/python bench/bench_grpo_step.py                 # both backends, 8 steps each
    .venv/bin/python bench/bench_grpo_step.py --backend vllm --steps 12 --prompts 16

Each backend runs in a child process of its own (vLLM changes process-wide settings such as the
torch thread count), from the same starting model, with the same batch. The first steps are
warm-up (vLLM's engine start, caches) and are reported apart; the figure is the median
``step_time`` TRL logs for the rest. On a CPU, vLLM is the ``vllm-cpu`` build with the
colocated weight-sync fix of ``harness.trainers.vllm_cpu``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("transformers", "vllm")


def run_one(args: argparse.Namespace) -> dict:
    from harness.data.corpora import toy_easy_corpus
    from harness.inference.tiny import tiny_model_path
    from harness.plugins.rewards import get_builtin_rewards
    from harness.trainers.grpo import GRPOOptions, train_grpo

    options = GRPOOptions(
        learning_rate=1e-5, max_steps=args.steps, prompts_per_rollout=args.prompts, num_generations=args.generations,
        micro_batch_size=args.prompts * args.generations, max_completion_length=args.max_completion_length,
        save_steps=10_000, progress="off", use_vllm=args.backend == "vllm", vllm_mode="colocate",
    )
    records = toy_easy_corpus(["en"], n=args.prompts * args.steps, seed=0)
    log: list[dict] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        train_grpo(args.model or str(tiny_model_path()), records, Path(out), options, log_fn=log.append,
                   rewards={reward.name: reward for reward in get_builtin_rewards()})
    total = time.perf_counter() - start
    times = [r["step_time"] for r in log if "step_time" in r]
    steady = times[args.warmup:]
    return {
        "backend": args.backend, "steps": len(times), "warmup_steps": args.warmup,
        "median_step_s": statistics.median(steady) if steady else None,
        "mean_step_s": statistics.fmean(steady) if steady else None,
        "first_steps_s": times[: args.warmup], "total_s": total,
        "completions_per_step": args.prompts * args.generations, "max_completion_length": args.max_completion_length,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=8, help="Prompts per rollout (one step).")
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--max-completion-length", type=int, default=64)
    parser.add_argument("--model", default="", help="Model directory (default: the tiny model).")
    parser.add_argument("--json", default="", help="Child mode: write the result here.")
    args = parser.parse_args()
    if args.backend != "both":
        result = run_one(args)
        if args.json:
            Path(args.json).write_text(json.dumps(result))
        else:
            print(json.dumps(result, indent=2))
        return 0
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    results = []
    for backend in BACKENDS:
        if backend == "vllm":
            import importlib.util

            if importlib.util.find_spec("vllm") is None:
                print("vllm is not installed: skipping the vLLM backend", file=sys.stderr)
                continue
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = [sys.executable, __file__, "--backend", backend, "--json", out.name]
            for flag in ("steps", "warmup", "prompts", "generations", "max_completion_length", "model"):
                argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
            subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results.append(json.loads(Path(out.name).read_text()))
    print(f"{'backend':<13} {'median s/step':>13} {'mean s/step':>11} {'first steps (s)':>20} {'total s':>8}")
    for r in results:
        first = ", ".join(f"{t:.1f}" for t in r["first_steps_s"])
        print(f"{r['backend']:<13} {r['median_step_s']:>13.2f} {r['mean_step_s']:>11.2f} {first:>20} "
              f"{r['total_s']:>8.1f}")
    print(f"({results[0]['completions_per_step']} completions of up to {results[0]['max_completion_length']} tokens "
          f"per step, {results[0]['steps'] - results[0]['warmup_steps']} steps measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
