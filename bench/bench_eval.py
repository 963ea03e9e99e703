"""Problems per second of `harness eval`, per backend and hf batch size (the tiny model unless --model).

    python bench/bench_eval.py --data-dir ../shared/data --limit 100 --max-gen-toks 128 --backends hf,vllm
    python bench/bench_eval.py --model tiny-base --task toy_study_xling --limit 25 --max-gen-toks 128 \
        --backends hf,vllm --batch-sizes 8,128        # the toy study's evaluation, 250 problems

Each (backend, batch size) runs as its own `harness eval` command (vLLM starts worker processes);
the time of the lm-eval pass (generation and grading, without model loading) is read back from
results.json, and the engine's start (load_s) is reported beside it. vLLM batches by itself: its
batch size is lm-eval's "auto".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HARNESS = str(Path(sys.executable).parent / "harness")


def bench(backend: str, args: argparse.Namespace, root: Path, batch_size: str = "8") -> dict:
    run = root / f"run-{backend}-{batch_size}"
    command = [HARNESS, "eval", "--model", args.model, "--tasks", args.task, "--backend", backend,
               "--limit", str(args.limit), "--max-gen-toks", str(args.max_gen_toks), "--run-dir", str(run),
               "--batch-size", batch_size]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if backend == "vllm" and args.max_model_len:
        command += ["--max-model-len", str(args.max_model_len)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    info = json.loads((run / "results.json").read_text())["harness"]
    counts = json.loads((run / "results.json").read_text())["n-samples"]
    problems = sum(c["effective"] for c in counts.values())
    return {"backend": backend, "batch_size": batch_size if backend == "hf" else "auto", "problems": problems,
            "load_s": round(info["load_seconds"], 1), "eval_s": round(info["run_seconds"][0], 1),
            "s_per_100": round(100 * info["run_seconds"][0] / problems, 1),
            "problems_per_s": round(problems / info["run_seconds"][0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--task", default="mgsm_xling_en")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-gen-toks", type=int, default=1024)
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--backends", default="hf,vllm")
    parser.add_argument("--batch-sizes", default="8", help="hf batch sizes to compare, a,b")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for batch_size in (args.batch_sizes.split(",") if backend == "hf" else ["8"]):
                row = bench(backend, args, Path(tmp), batch_size)
                print(json.dumps({"model": args.model, "task": args.task, "max_gen_toks": args.max_gen_toks, **row}),
                      flush=True)


if __name__ == "__main__":
    main()
