"""`harness report` on a study-sized experiment: 20 runs x 7 task families x 10 languages.

    python bench/bench_report.py [--runs 20] [--families 7] [--problems 250] [--iterations 10000]

Synthetic run directories in the layout `harness eval` writes (harness.report.synthetic), one per
setup, with per-problem samples, the consistency probe's figures and a drift probe; then the
report is built (paired bootstrap and permutation tests, every table, Markdown, LaTeX, CSV and
HTML, all figures as PNG and PDF) and each phase is timed, wall clock and CPU. The whole `harness report`
command is also timed as a subprocess, as a user runs it.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LANGS = ["en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn"]
FAMILIES = ["mgsm_xling", "mmath500_xling", "maime2024_xling", "mgpqa_diamond_xling", "mmlu_prox_lite_xling",
            "mlogiqa_xling", "m_ifeval_xling"]
PARADIGMS = ["sft", "grpo", "rft", "cold_start", "mixed", "grpo_consistency_prompt", "grpo_consistency_reward"]


def write_experiment(root: Path, runs: int, families: int, problems: int) -> None:
    from harness.report.synthetic import simulate_family, write_eval_run, write_train_run

    rng = np.random.default_rng(0)
    difficulty = {f: rng.random(problems) for f in FAMILIES[:families]}
    for i in range(runs):
        trained = i > 0
        gain = 0.0 if not trained else 0.05 + 0.3 * rng.random()
        model = "tiny"
        if trained:
            paradigm, lang = PARADIGMS[i % len(PARADIGMS)], ["en", "zh", "de"][i % 3]
            model = str(write_train_run(root / "train" / f"run{i:02d}", paradigm, [lang], seed=i))
        scores, consistency = {}, {}
        for family in FAMILIES[:families]:
            accs = {l: min(0.98, 0.2 + 0.04 * j + gain) for j, l in enumerate(LANGS)}
            scores[family] = simulate_family(rng, accs, problems, difficulty=difficulty[family])
            consistency[family] = {l: {"consistency": float(rng.random()), "main_languages": {l: 3, "en": 1}} for l in LANGS}
        probes = {"consistency": {"per_task": consistency}}
        if trained:
            probes["drift"] = {"per_run": {f"run{i:02d}": {"spread": float(rng.random()), "mean_norm": 1.0, "coherence": 0.5}}}
        write_eval_run(root / "exp" / f"run{i:02d}", scores, model=model, max_gen_toks=1024, probes=probes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--families", type=int, default=7)
    parser.add_argument("--problems", type=int, default=250)
    parser.add_argument("--iterations", type=int, default=10_000)
    args = parser.parse_args()

    from harness.report.build import ReportOptions, build_report
    from harness.report.figures import make_figures
    from harness.report.render import FORMATS, render

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        write_experiment(root, args.runs, args.families, args.problems)
        print(f"wrote {args.runs} runs x {args.families} families x {len(LANGS)} languages x {args.problems} "
              f"problems in {time.perf_counter() - began:.1f} s ({platform.processor() or platform.machine()})")

        began, cpu = time.perf_counter(), time.process_time()
        report = build_report([root / "exp"], ReportOptions(iterations=args.iterations))
        built = (time.perf_counter() - began, time.process_time() - cpu)
        began, cpu = time.perf_counter(), time.process_time()
        make_figures(report, root / "out" / "figures", ("png", "pdf"))
        drawn = (time.perf_counter() - began, time.process_time() - cpu)
        sizes = {fmt: len(render(report, fmt)) for fmt in FORMATS}
        print(f"in process (wall / CPU s): read + bootstrap + permutation tests + tables {built[0]:.1f} / {built[1]:.1f}; "
              f"{len(report.figures)} figures as PNG+PDF {drawn[0]:.1f} / {drawn[1]:.1f} (html {sizes['html'] / 1e6:.1f} MB)")
        for label, extra in (("Markdown only, no figures", ["--format", "md"]),
                             ("md+latex+csv+html, figures png+pdf", ["--format", "md,latex,csv,html", "--out", str(root / "cli")])):
            command = [sys.executable, "-m", "harness.cli", "report", str(root / "exp"), "--iterations",
                       str(args.iterations), *extra]
            before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            print(f"`harness report` ({label}): {time.perf_counter() - began:.1f} s wall, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
