"""Synthetic run directories in exactly the layout ``harness eval`` writes (results.json,
samples_<task>[_run<i>].jsonl, config.yaml, manifest.json), with per-problem scores chosen by
the caller: for tests whose accuracies and differences are known, and for benchmarks.

A synthetic training run (its config.yaml only) gives a setup its paradigm and language, so that
reports name it as the study does ("RL (De)").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import yaml

from harness.core.rundir import CONFIG, MANIFEST


def write_train_run(path: Path, paradigm: str, languages: list[str], seed: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    config = {"plugin": paradigm, "lang": languages, "model": "tiny", "data": "toy", "data_dir": None,
              "num_problems": None, "seed": seed, "paradigm_config": {}, "command": "train",
              "paradigm_plugin": paradigm, "resolved_model": "tiny"}  # the layout harness train writes
    (path / CONFIG).write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _task_block(task: str, runs: list[float]) -> dict:
    mean = float(np.mean(runs))
    std = float(np.std(runs, ddof=1)) if len(runs) > 1 else 0.0
    return {"name": task, "alias": task, "strict_acc,none": mean, "strict_acc_std,none": std,
            "strict_acc_runs,none": runs, "strict_acc_stderr,none": 0.0}


def write_eval_run(path: Path, scores: Mapping[str, Mapping[str, np.ndarray]], *, model: str = "tiny",
                   max_gen_toks: int = 16, version: float = 1.0, consistency: bool = False,
                   probes: Mapping | None = None, problem_ids: Mapping[str, list[str]] | None = None,
                   extra: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> Path:
    """An eval run of ``scores``: family -> language -> (repeats, problems) array of 0/1 scores.

    Problem ids are ``p<i>`` in every language (translations of each other) unless
    ``problem_ids`` (language -> ids) says otherwise. ``extra`` (family -> language -> scores)
    adds tasks outside the family's group, as MGSM's Telugu is.
    """
    path.mkdir(parents=True, exist_ok=True)
    results, groups, versions, n_samples, configs, n_shot = {}, {}, {}, {}, {}, {}
    repeats = 1
    for family, by_lang in {**scores, **{f"+{k}": v for k, v in (extra or {}).items()}}.items():
        outside = family.startswith("+")
        family = family.lstrip("+")
        if not outside:
            groups[family] = [f"{family}_{lang}" for lang in by_lang]
            versions[family], n_shot[family] = str(version), 0
        for lang, matrix in by_lang.items():
            matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
            repeats = matrix.shape[0]
            task = f"{family}_{lang}"
            ids = list((problem_ids or {}).get(lang) or [f"p{i}" for i in range(matrix.shape[1])])
            results[task] = _task_block(task, [float(row.mean()) for row in matrix])
            versions[task], n_shot[task] = version, 0
            n_samples[task] = {"original": matrix.shape[1], "effective": matrix.shape[1]}
            configs[task] = {"task": task, "num_fewshot": 0, "metadata": {"version": version, "consistency": consistency},
                             "generation_kwargs": {"until": ["<|im_end|>"], "do_sample": repeats > 1,
                                                   "max_gen_toks": max_gen_toks}}
            for r, row in enumerate(matrix):
                _write_samples(path / (f"samples_{task}_run{r}.jsonl" if repeats > 1 else f"samples_{task}.jsonl"),
                               lang, ids, row, consistency)
        if not outside:
            block = [results[t]["strict_acc,none"] for t in groups[family]]
            results[family] = _task_block(family, [float(np.mean(block))])
    summary = {"group_subtasks": groups, "configs": configs, "versions": versions, "n-shot": n_shot,
               "n-samples": n_samples, "results": results, "groups": {f: results[f] for f in groups},
               "num_runs": repeats,
               "harness": {"model": model, "model_path": model, "backend": "hf", "num_repeats": repeats,
                           "limit": None, "gen_kwargs": {"max_gen_toks": max_gen_toks}}}
    if probes:
        summary["probes"] = dict(probes)
    (path / "results.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    config = {"model": model, "tasks": list(scores), "backend": "hf", "limit": None, "num_repeats": repeats,
              "max_gen_toks": max_gen_toks, "consistency": consistency, "seed": 0}
    (path / CONFIG).write_text(yaml.safe_dump(config), encoding="utf-8")
    (path / MANIFEST).write_text(json.dumps({"command": "eval", "status": "finished", "model": model}),
                                        encoding="utf-8")
    return path


def _write_samples(file: Path, lang: str, ids: list[str], row: np.ndarray, consistency: bool) -> None:
    lines = []
    for i, (pid, score) in enumerate(zip(ids, row)):
        answer = "42" if score else "41"
        response = f"The answer is \\boxed{{{answer}}}."
        record = {"doc_id": i, "doc": {"id": pid, "lang": lang, "question": f"question {pid} ({lang})", "answer": "42",
                                       "kind": "number", "consistency": consistency},
                  "target": "42", "resps": [[response]], "filtered_resps": [response], "filter": "none",
                  "metrics": ["strict_acc"], "strict_acc": float(score),
                  "extracted": {"strict": answer, "flexible": answer}}
        lines.append(json.dumps(record) + "\n")
    file.write_text("".join(lines), encoding="utf-8")


def simulate_family(rng: np.random.Generator, accuracies: Mapping[str, float], problems: int,
                    repeats: int = 1, difficulty: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Language -> (repeats, problems) 0/1 scores whose expected accuracy is ``accuracies[lang]``;
    ``difficulty`` (problems,) in [0, 1] shifts problems alike across setups (for paired data)."""
    out = {}
    for lang, acc in accuracies.items():
        if difficulty is None:
            p = np.full(problems, acc)
        else:  # a problem's success probability moves with its shared difficulty, mean kept at acc
            p = np.clip(acc + 0.35 * (0.5 - difficulty), 0.0, 1.0)
        out[lang] = (rng.random((repeats, problems)) < p).astype(float)
    return out


STUDY_TABLE1 = {  # Table 1 of the study (Qwen2.5-3B, MGSM): En, Zh, De accuracy
    "Base": (None, None, (.634, .483, .335)),
    "SFT (En)": ("sft", "en", (.647, .545, .507)), "RL (En)": ("grpo", "en", (.858, .721, .708)),
    "SFT (Zh)": ("sft", "zh", (.657, .587, .484)), "RL (Zh)": ("grpo", "zh", (.861, .763, .742)),
    "SFT (De)": ("sft", "de", (.639, .542, .575)), "RL (De)": ("grpo", "de", (.910, .776, .805)),
}


def demo(root: str | Path, problems: int = 250, seed: int = 0) -> Path:
    """A study-shaped example experiment under ``root/exp``: the seven setups of the study's Table
    1 on MGSM En/Zh/De (each problem answered with the study's accuracies), with drift probes,
    a base probe run and a pick-lang result; for docs/report.md and for trying the report."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    difficulty = rng.random(problems)
    spreads = {"sft": 1.6, "grpo": 0.9}
    for name, (paradigm, lang, accs) in STUDY_TABLE1.items():
        slug = name.lower().replace(" ", "").replace("(", "_").replace(")", "")
        model = "qwen2.5-3b" if paradigm is None else str(write_train_run(root / "train" / slug, paradigm, [lang]))
        scores = simulate_family(rng, dict(zip(("en", "zh", "de"), accs)), problems, difficulty=difficulty)
        # illustrative language consistency: RL answers in English whatever the question's language
        consistent = {None: 0.95, "sft": 0.8, "grpo": 0.0}[paradigm]
        probes: dict = {"consistency": {"per_task": {"mgsm_xling": {
            q: {"consistency": 1.0 if q == "en" else consistent,
                "main_languages": {q: 9, "en": 1} if q == "en" or consistent > 0.5 else {"en": 10}}
            for q in ("en", "zh", "de")}}}}
        if paradigm:
            spread = spreads[paradigm] * (1.0 - 0.15 * ("en", "zh", "de").index(lang)) + 0.05 * rng.random()
            probes["drift"] = {"per_run": {slug: {"spread": spread, "mean_norm": 2 * spread, "coherence": 0.4}}}
        write_eval_run(root / "exp" / slug, {"mgsm_xling": scores}, model=model, max_gen_toks=1024, probes=probes)
    pick = root / "exp" / "picklang"
    pick.mkdir(parents=True, exist_ok=True)
    signals = {"en": (1.21, 61.0), "zh": (1.33, 52.0), "de": (1.414, 42.5)}  # German: the study's probe figures
    (pick / "probes.json").write_text(json.dumps({
        "perplexity": {"per_language": {l: {"problem_ppl": p, "response_ppl": p} for l, (p, _) in signals.items()}},
        "self_similarity": {"per_language": {l: {"self_bleu": b} for l, (_, b) in signals.items()}}}), encoding="utf-8")
    from harness.report.picklang import rank_candidates

    ranking = rank_candidates({l: {"problem_ppl": p, "self_bleu": b} for l, (p, b) in signals.items()})
    (pick / "picklang.json").write_text(json.dumps({"model": "qwen2.5-3b", "ranking": ranking}), encoding="utf-8")
    return root / "exp"
