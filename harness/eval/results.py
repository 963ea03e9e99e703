"""What an evaluation writes: its repeats combined (mean, spread, each run), per-document samples
with the answers the grader extracted, and the per-language accuracy table."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import Any

from harness.core.rundir import RunDir, atomic_write_text


def _is_metric(key: str, value: Any) -> bool:
    return "," in key and isinstance(value, (int, float)) and not isinstance(value, bool)


def combine_runs(runs: Sequence[dict]) -> dict:
    """lm-eval results of several runs as one: each metric the mean over runs, with its sample
    standard deviation (``<metric>_std``) and the per-run values (``<metric>_runs``)."""
    first = runs[0]
    combined = {k: v for k, v in first.items() if k not in ("results", "groups")}
    for section in ("results", "groups"):
        if section not in first:
            continue
        out: dict[str, dict] = {}
        for task, values in first[section].items():
            merged = {k: v for k, v in values.items() if not _is_metric(k, v)}
            for key, value in values.items():
                if not _is_metric(key, value):
                    continue
                series = [float(r[section][task][key]) for r in runs if isinstance(r[section][task].get(key), (int, float))]
                name, _, filt = key.partition(",")
                merged[key] = statistics.fmean(series)
                if "_stderr" not in name:
                    merged[f"{name}_std,{filt}"] = statistics.stdev(series) if len(series) > 1 else 0.0
                    merged[f"{name}_runs,{filt}"] = series
            out[task] = merged
        combined[section] = out
    combined["num_runs"] = len(runs)
    return combined


def _extracted(doc: dict, response: str) -> dict[str, Any]:
    from harness.grading import extract_answer, extract_choice

    kind, lang = doc.get("kind"), doc.get("lang")
    if kind not in ("number", "math", "choice") or not isinstance(response, str):
        return {}
    if kind == "math":  # what the math grader hands math-verify; "text": math-verify's own extraction
        from harness.grading.extract import math_answer

        found = {mode: math_answer(response, lang, mode) for mode in ("strict", "flexible")}
        return {mode: (a[1] if a[0] == "latex" else "(math-verify's extraction from the response)") if a else None
                for mode, a in found.items()}
    extract = extract_choice if kind == "choice" else extract_answer
    return {mode: extract(response, lang, mode) for mode in ("strict", "flexible")}


def write_samples(run: RunDir, samples: dict[str, list[dict]], repeat: int | None) -> None:
    """Per-document records of each task, with the answers the grader extracted."""
    suffix = f"_run{repeat}" if repeat is not None else ""
    for task, records in samples.items():
        lines = []
        for record in records:
            responses = record.get("filtered_resps") or []
            first = responses[0] if responses else None
            if isinstance(first, list):
                record["extracted"] = [_extracted(record.get("doc", {}), r) for r in first]
            else:
                record["extracted"] = _extracted(record.get("doc", {}), first)
            lines.append(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        atomic_write_text(run / f"samples_{task}{suffix}.jsonl", "".join(lines))


def language_table(results: dict, families: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Rows (language, then mean [± std] of each family's metrics) and the header."""
    per_task = results["results"]
    groups = results.get("group_subtasks") or {}
    columns: list[tuple[str, str, str]] = []  # (family, metric key, header)
    langs: list[str] = []
    for family in families:
        children = groups.get(family) or [family]
        extras = sorted(t for t in per_task if t.startswith(f"{family}_") and t not in children and t not in groups)
        for task in list(children) + extras:
            lang = task[len(family) + 1:] if task.startswith(f"{family}_") else task
            if lang not in langs:
                langs.append(lang)
        sample = per_task.get(children[0], {}) if children else {}
        for key, value in sample.items():
            name = key.partition(",")[0]
            if _is_metric(key, value) and not name.endswith(("_stderr", "_std")):
                columns.append((family, key, f"{family} {name}"))
    header = ["language"] + [c[2] for c in columns]
    rows = []
    for lang in langs + ["avg"]:
        row = [lang]
        for family, key, _ in columns:
            task = family if lang == "avg" else f"{family}_{lang}"
            value = per_task.get(task, {}).get(key)
            std = per_task.get(task, {}).get(key.replace(",", "_std,", 1))
            if value is None:
                row.append("")
            else:
                row.append(f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if std else ""))
        rows.append(row)
    return header, rows
