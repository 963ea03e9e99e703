"""What probes look at: problems (:func:`load_problems`) and an eval run's responses
(:func:`read_eval_samples`, :func:`problems_from_samples`)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.files import read_jsonl
from harness.core.literals import LITERALS



def load_problems(data: str | Path, languages: Sequence[str], n: int, seed: int = 0) -> dict[str, list[dict]]:
    """``n`` problems per language: ``toy`` or ``toy_study`` (the built-in corpora, test split) or
    an MGSM mirror folder (``mgsm_<lang>.tsv``, question TAB answer, no header). The same ``n`` row
    numbers are taken in every language, so the problems are translations of each other."""
    if str(data) in ("toy", "toy_study"):
        from harness.data.toy import toy_corpus, toy_study_corpus

        generate = toy_corpus if str(data) == "toy" else toy_study_corpus
        try:
            records = generate(languages, n=n, seed=seed, split="test")
        except ValueError as exc:
            raise UserError(f"probe data {str(data)!r}: {exc}") from None
        return {lang: [r for r in records if r["lang"] == lang] for lang in languages}
    folder = Path(data).expanduser()
    if (folder / "mgsm").is_dir() and not any(folder.glob("mgsm_*.tsv")):
        folder = folder / "mgsm"
    if not folder.is_dir():
        raise UserError(f"probe data {data} is neither 'toy', 'toy_study' nor a folder of mgsm_<lang>.tsv files")
    problems = {}
    for lang in languages:
        problems[lang] = _read_mgsm(folder / f"mgsm_{lang}.tsv", lang)
    size = min(len(rows) for rows in problems.values())
    rows = sorted(random.Random(seed).sample(range(size), min(n, size)))
    return {lang: [problems[lang][i] for i in rows] for lang in languages}


def _read_mgsm(path: Path, lang: str) -> list[dict]:
    from harness.data.sources import read_tsv_pairs

    if not path.is_file():
        raise UserError(f"probe data: {path} does not exist (MGSM has no {lang!r} file there)")
    return [{"id": f"mgsm-{i}", "lang": lang, "question": question.strip(), "answer": answer}
            for i, (question, answer) in enumerate(read_tsv_pairs(path))]


def read_eval_samples(path: Path) -> dict[str, dict[str, list[dict]]]:
    """The responses of an eval run: task -> language -> [{id, lang, question, answer, responses}].

    Reads every ``samples_<task>*.jsonl`` under ``path``: ``harness eval`` writes
    ``samples_<task>[_run<i>].jsonl``, plain lm-eval ``samples_<task>_<date>.jsonl``; lm-eval
    writes one line per document per filter, and the first filter's line stands for the document.
    The responses of one document in several runs are pooled. A task's language is its documents'
    ``lang`` field, else the suffix of its name (``mgsm_xling_de`` -> ``de``); tasks of one family
    (``mgsm_xling_de``, ``mgsm_xling_zh``) share the family's entry.
    """
    merged: dict[tuple[str, str, str], dict] = {}
    for file in sorted(Path(path).rglob("samples_*.jsonl")):
        task = _task_of(file)
        seen: set[Any] = set()
        for record in read_jsonl(file, "samples file", torn_tail=True):  # a killed writer's last line is dropped
            if not isinstance(record, dict) or record.get("doc_id") in seen:
                continue
            seen.add(record.get("doc_id"))
            doc = record.get("doc") or {}
            lang = doc.get("lang") or _lang_of_task(task)
            if lang is None:
                continue
            doc_id = str(doc.get("id", record.get("doc_id")))
            entry = merged.setdefault((_family_of(task, lang), lang, doc_id), {
                "id": doc_id, "lang": lang, "question": _question_of(doc),
                "answer": str(doc.get("answer", record.get("target", ""))), "responses": []})
            entry["responses"] += _flatten(record.get("resps", []))
    samples: dict[str, dict[str, list[dict]]] = {}
    for (family, lang, _), entry in merged.items():
        samples.setdefault(family, {}).setdefault(lang, []).append(entry)
    return samples


_SUFFIXES = (re.compile(r"_run\d+$"), re.compile(r"_\d{4}-\d{2}-\d{2}T[\d.:-]+$"))


def _task_of(file: Path) -> str:
    task = file.stem[len("samples_"):]
    for suffix in _SUFFIXES:
        task = suffix.sub("", task)
    return task


def _lang_of_task(task: str) -> str | None:
    suffix = task.rsplit("_", 1)[-1]
    return suffix if suffix in LITERALS else None


def _family_of(task: str, lang: str) -> str:
    """Tasks of one family in several languages (mgsm_xling_de, mgsm_xling_zh) share one entry."""
    return task[: -len(lang) - 1] if task.endswith(f"_{lang}") else task


def _question_of(doc: Mapping[str, Any]) -> str:
    for key in ("question", "problem", "input", "query"):
        if isinstance(doc.get(key), str):
            return doc[key]
    return ""


def _flatten(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _flatten(item)]
    return []


def problems_from_samples(samples: Mapping[str, Mapping[str, list[dict]]], languages: Sequence[str],
                          n: int) -> dict[str, list[dict]]:
    """The first ``n`` questions per language of an eval run (its first task that has them)."""
    problems: dict[str, list[dict]] = {}
    for lang in languages:
        for by_lang in samples.values():
            records = [r for r in by_lang.get(lang, []) if r["question"]]
            if records:
                problems[lang] = [{k: r[k] for k in ("id", "lang", "question", "answer")} for r in records[:n]]
                break
    return problems
