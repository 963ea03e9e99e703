"""The toy study, reduced to a few cells, end to end on the real tiny-base: base eval, pick-lang,
SFT and GRPO in German, evaluations with Gen, probes; the report's intervals are not degenerate
and it says whether pick-lang's first choice trained best. (bench/bench_experiment_toy.py runs
the whole 35-cell grid.)"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.helpers import harness_with, write_registry


def reduced_registry(tmp_path: Path) -> Path:
    def edit(registry: dict) -> None:
        toy = registry["experiments"]["toy"]
        registry["experiments"] = {"toy_reduced": {
            **{k: v for k, v in toy.items() if k not in ("paradigm_languages", "uses")},
            "paradigms": ["sft", "grpo"], "languages": ["de"],
            "eval": {"limit": 60, "batch_size": 64},
            "probes": {"names": ["consistency", "drift"], "languages": ["en", "de"], "num_problems": 2, "num_generations": 2,
                       "max_new_tokens": 48, "data": "toy_study"},
            "pick_lang": {"candidates": ["en", "de", "sw"], "num_problems": 4, "num_generations": 2, "max_new_tokens": 48,
                          "data": "toy_study"},
            "train_args": {"sft": {"max_steps": 20, "learning_rate": 1.0e-3, "batch_size": 16},
                           "grpo": {"max_steps": 3, "learning_rate": 2.0e-4, "updates_per_rollout": 1}},
        }}

    return write_registry(tmp_path, edit)


@pytest.mark.slow
def test_reduced_toy_study_end_to_end(tiny_base, tmp_path):
    registry, root = reduced_registry(tmp_path), tmp_path / "exps"
    run = harness_with(registry, "experiment", "run", "toy_reduced", "--root", str(root), timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "8 done" in run.stdout

    csv_out = harness_with(registry, "report", str(root / "toy_reduced"), "--format", "csv", "-B", "500")
    assert csv_out.returncode == 0, csv_out.stderr
    rows = list(csv.reader(io.StringIO(csv_out.stdout)))
    # The base's per-language accuracies are real numbers, not all zero, with intervals of width > 0.
    header = next(r for r in rows if r and r[0] == "table")
    records = [dict(zip(header, r)) for r in rows[1:] if r and r[0].startswith("main_")]
    base = [r for r in records if "base" in r["setup"].lower() and r["column"] not in ("Gen", "Avg")]
    assert base and any(float(r["value"]) > 0 for r in base if r["value"]), base
    # (a language the base never solves in 60 problems has the interval [0, 0], as it should)
    widths = [float(r["high"]) - float(r["low"]) for r in base if r["low"] and r["high"] and float(r["value"]) > 0]
    assert len(widths) >= 8 and all(w > 0 for w in widths), base

    md = harness_with(registry, "report", str(root / "toy_reduced"), "-B", "500")
    assert md.returncode == 0, md.stderr
    assert "pick-lang's first choice is" in md.stdout or "ranking" not in md.stdout
    assert "| Gen |" in md.stdout and "Δ vs Base" in md.stdout
    plan = json.loads(harness_with(registry, "experiment", "plan", "toy_reduced", "--json", "--root",
                                   str(root)).stdout)
    picklang = next(Path(c["run_dir"]) for c in plan["cells"] if c["kind"] == "picklang")
    ranking = json.loads((picklang / "picklang.json").read_text())["ranking"]
    assert {r["lang"] for r in ranking} == {"en", "de", "sw"}
