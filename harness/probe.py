"""The probe interface: what a mechanism probe is, what it is given, and how probes are run.

A probe explains an evaluation result rather than producing one (does the model answer in the
question's language? how sure is it? how far did training move its representations?). It has a
``name``, a one-line ``description`` and ``run(context) -> dict``; plugins contribute probes
through the ``register_probes`` hook, and ``post_eval`` / ``harness probe`` run them.

The dict a probe returns is JSON-able: its figures (``per_language`` tables and the like), the
definition of what it measured, and ``plots``: paths of the PNGs it wrote, relative to the run
directory. :func:`run_probes` collects them into ``probes.json`` of the run.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.errors import UserError, unknown
from harness.literals import LITERALS
from harness.rundir import RunDir

PROBES_FILE = "probes.json"


@runtime_checkable
class Probe(Protocol):
    """What ``register_probes`` accepts. Subclassing is optional; these members are not."""

    name: str
    description: str

    def run(self, context: ProbeContext) -> dict: ...


@dataclass
class ProbeContext:
    """Everything a probe may need; probes take what they use and ignore the rest."""

    model: str
    """Path (or hub id) of the model under study; aliases and run directories already resolved."""
    run: RunDir
    """Where plots go (and ``probes.json``); an eval run's directory under ``post_eval``."""
    languages: list[str]
    """Languages to probe (harness codes)."""
    problems: dict[str, list[dict]]
    """Per language, the problems to probe with: records with ``question``, ``answer``, ``lang``
    (and ``id``); the same problems, translated, in every language where the data allows."""
    base_model: str | None = None
    """The model the studied one was trained from (drift needs it)."""
    samples: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    """Responses of an eval run: task -> language -> records with ``question``, ``answer`` and
    ``responses`` (a list of strings). Empty when no eval run is behind the probes."""
    compare: dict[str, str] = field(default_factory=dict)
    """More trained models (label -> path) to show beside ``model``, all drifting from
    ``base_model`` (drift: several runs in one plot)."""
    label: str = "model"
    """Name of ``model`` in tables and plots."""
    k: int = 4
    """Responses sampled per problem (self-similarity needs at least 2)."""
    max_new_tokens: int = 256
    temperature: float = 1.0
    """Sampling temperature; the study samples RL rollouts at 1.0."""
    top_p: float = 0.95
    seed: int = 0
    backend: str = "hf"
    """How to sample (:mod:`harness.inference`): ``hf`` (transformers, runs anywhere) or ``vllm``
    (when installed); the old spelling ``transformers`` still works."""
    batch_size: int = 8
    """Prompts per forward pass or ``generate`` call."""
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """Shared between the probes of one run (sampled responses, loaded models)."""

    def plot_path(self, name: str) -> Path:
        """Where a probe writes a plot: ``<run>/probes/<name>``."""
        path = self.run.path / "probes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return str(Path(path).relative_to(self.run.path))


def check_probe(obj: Any) -> None:
    """Raise TypeError naming what a registered probe lacks."""
    missing = [a for a in ("name", "description", "run") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"{obj!r} is not a probe: it lacks {', '.join(missing)}")
    if not callable(obj.run):
        raise TypeError(f"probe {obj.name!r}: run must be callable")


def parse_names(names: str | Iterable[str] | None) -> list[str]:
    """``"a,b"``, ``["a", "b"]`` or ``["a,b"]`` as a list of names, in order, without repeats."""
    if names is None:
        return []
    items = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for item in items:
        for name in str(item).split(","):
            if name.strip() and name.strip() not in out:
                out.append(name.strip())
    return out


def run_probes(names: str | Iterable[str], context: ProbeContext,
               probes: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """Run the named probes on ``context`` and write their results to ``<run>/probes.json``.

    ``probes`` maps names to probes (default: every probe the loaded plugins registered). An
    unknown name is a :class:`UserError` suggesting the closest one, raised before any probe runs.
    """
    if probes is None:
        from harness.plugin_manager import get_catalog

        probes = get_catalog().probes
    wanted = parse_names(names)
    for name in wanted:
        if name not in probes:
            raise unknown("probe", name, probes)
    results: dict[str, dict] = {}
    for name in wanted:
        check_probe(probes[name])
        results[name] = probes[name].run(context) or {}
    write_results(context.run, results)
    return results


def write_results(run: RunDir, results: Mapping[str, dict]) -> Path:
    """Merge ``results`` into ``probes.json`` (probes run earlier in this run keep theirs)."""
    path = run.path / PROBES_FILE
    merged = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged.update(results)
    return run.write_json(PROBES_FILE, merged)


# --- inputs: problems and eval samples ------------------------------------------------------------


def load_problems(data: str | Path, languages: Sequence[str], n: int, seed: int = 0) -> dict[str, list[dict]]:
    """``n`` problems per language: ``toy`` (the built-in corpus, test split) or an MGSM mirror
    folder (``mgsm_<lang>.tsv``, question TAB answer, no header). The same ``n`` row numbers are
    taken in every language, so the problems are translations of each other."""
    if str(data) == "toy":
        from harness.toydata import toy_corpus

        try:
            records = toy_corpus(languages, n=n, seed=seed, split="test")
        except ValueError as exc:
            raise UserError(f"probe data 'toy': {exc}") from None
        return {lang: [r for r in records if r["lang"] == lang] for lang in languages}
    folder = Path(data).expanduser()
    if (folder / "mgsm").is_dir() and not any(folder.glob("mgsm_*.tsv")):
        folder = folder / "mgsm"
    if not folder.is_dir():
        raise UserError(f"probe data {data} is neither 'toy' nor a folder of mgsm_<lang>.tsv files")
    problems = {}
    for lang in languages:
        problems[lang] = _read_mgsm(folder / f"mgsm_{lang}.tsv", lang)
    size = min(len(rows) for rows in problems.values())
    rows = sorted(random.Random(seed).sample(range(size), min(n, size)))
    return {lang: [problems[lang][i] for i in rows] for lang in languages}


def _read_mgsm(path: Path, lang: str) -> list[dict]:
    from harness.datasets_local import read_tsv_pairs

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
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:  # a torn last line of a killed writer
                continue
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
