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
    """Rows (language, then mean [± std] of each family's metrics) and the header. ``families``
    are what ``--tasks`` named: families, or single ``<family>_<lang>`` tasks, which land in their
    family's column and their language's row."""
    per_task = results["results"]
    columns: list[tuple[str, str, str]] = []  # (family, metric key, header)
    langs: list[str] = []
    tasks = family_tasks(results, families)
    for family, members in tasks.items():
        for task in members:
            lang = task[len(family) + 1:] if task.startswith(f"{family}_") else task
            if lang not in langs:
                langs.append(lang)
        sample = per_task.get(members[0], {}) if members else {}
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
            found = per_task.get(task) or (_average(per_task, tasks[family], key) if lang == "avg" else {})
            value, std = found.get(key), found.get(key.replace(",", "_std,", 1))
            row.append("" if value is None else f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if std else ""))
        rows.append(row)
    return header, rows


def family_tasks(results: dict, names: Sequence[str]) -> dict[str, list[str]]:
    """{family: its tasks in the results}: a group's children (then extra ``<family>_*`` tasks such
    as MGSM's te); a single ``<family>_<lang>`` task that is no group joins its family."""
    per_task, groups = results["results"], results.get("group_subtasks") or {}
    out: dict[str, list[str]] = {}
    for name in names:
        if name in groups or name not in per_task or "_" not in name:
            children = list(groups.get(name) or [name])
            extras = sorted(t for t in per_task if t.startswith(f"{name}_") and t not in children and t not in groups)
            members = children + extras
        else:
            name, members = name.rsplit("_", 1)[0], [name]
        out.setdefault(name, []).extend(t for t in members if t not in out.get(name, []))
    return out


def _average(per_task: dict, tasks: Sequence[str], key: str) -> dict[str, float]:
    """The unweighted mean of ``key`` over ``tasks`` (the groups' aggregation, for tasks run
    without their group), with the spread of the per-run means when every task has its runs."""
    values = [per_task[t][key] for t in tasks if isinstance(per_task.get(t, {}).get(key), (int, float))]
    if not values:
        return {}
    out = {key: statistics.fmean(values)}
    runs_key = key.replace(",", "_runs,", 1)
    runs = [per_task[t].get(runs_key) for t in tasks]
    if len(values) == len(tasks) and all(isinstance(r, list) and len(r) == len(runs[0]) > 1 for r in runs):
        out[key.replace(",", "_std,", 1)] = statistics.stdev(statistics.fmean(column) for column in zip(*runs))
    return out
