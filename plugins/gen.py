"""Gen: how much of the base model's headroom a trained model gains, averaged over languages.

    Gen(M) = 1/|L| * sum over l in L of (Acc(M, l) - Acc(base, l)) / (1 - Acc(base, l))

over the evaluation languages L of a task family; a language where the base model scores 100% has
no headroom and is left out. Gen lies in (-inf, 1]: 1 means every language reached 100%, 0 no
change on average, negative values a loss (a drop can exceed the headroom: base 0.9 -> 0.5 gives
-4). The study reports it in percent (RL(De) on MGSM: 60.4).

Accuracies come from results files: a ``harness eval`` run (``results.json``, mean over repeats) or
lm-eval's own ``results_*.json``. Tasks are named ``<family>_<lang>``; when the results hold the
family's group, only the group's languages count (Telugu, an extra MGSM task, does not).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.core.errors import UserError
from harness.core.hookspecs import hookimpl

log = logging.getLogger("harness.plugins.gen")

DEFAULT_METRICS = ("strict_acc", "exact_match", "prompt_level_strict_acc", "acc")
"""The metric Gen uses for a family: the first of these its results have (unless one is named)."""


@dataclass
class GenScore:
    family: str
    metric: str
    gen: float | None
    """None when every language was left out (the base model scored 100% everywhere)."""
    terms: dict[str, float] = field(default_factory=dict)
    """Per language: (Acc(M) - Acc(base)) / (1 - Acc(base))."""
    excluded: list[str] = field(default_factory=list)
    """Languages left out because the base model scored 100%."""
    model_acc: dict[str, float] = field(default_factory=dict)
    base_acc: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def gen_terms(model_acc: Mapping[str, float], base_acc: Mapping[str, float]) -> tuple[dict[str, float], list[str]]:
    """Per-language Gen terms over the languages of ``model_acc``, and the languages left out.

    Every language of ``model_acc`` must have a base accuracy (a UserError names the missing one).
    """
    terms, excluded = {}, []
    for lang, acc in model_acc.items():
        if lang not in base_acc:
            raise UserError(f"the base results have no accuracy for language {lang!r}")
        base = base_acc[lang]
        if base >= 1.0:
            excluded.append(lang)
            continue
        terms[lang] = (acc - base) / (1.0 - base)
    return terms, excluded


def gen_score(model_acc: Mapping[str, float], base_acc: Mapping[str, float]) -> float | None:
    """Gen over the languages of ``model_acc`` (None if the base scored 100% in all of them)."""
    terms, _ = gen_terms(model_acc, base_acc)
    return sum(terms.values()) / len(terms) if terms else None


# --- reading results ---------------------------------------------------------------------------


def load_results(spec: str | Path) -> dict:
    """Results of a ``harness eval`` run directory, its results.json, lm-eval's output directory
    (the newest ``results_*.json`` inside) or a results file."""
    path = Path(spec).expanduser()
    if path.is_dir():
        candidates = [path / "results.json"] if (path / "results.json").is_file() else sorted(
            path.rglob("results_*.json"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise UserError(f"{path} holds no results.json (a harness eval run) and no lm-eval results_*.json")
        path = candidates[-1]
    if not path.is_file():
        raise UserError(f"results file {path} does not exist")
    from harness.core.files import read_json

    data = read_json(path, "results file")
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise UserError(f"{path} is not an lm-eval or harness results file (no 'results' mapping)")
    return data


def _metric_value(task_result: Mapping, metric: str) -> float | None:
    for key, value in task_result.items():
        name, _, _filter = key.partition(",")
        if name == metric and isinstance(value, (int, float)):
            return float(value)
    return None


def _pick_metric(task_results: list[Mapping], metric: str | None) -> str | None:
    for candidate in ([metric] if metric else DEFAULT_METRICS):
        if all(_metric_value(r, candidate) is not None for r in task_results):
            return candidate
    return None


GEN_TASK_SUFFIX = "_gen"
"""``<family>_gen``: the lm-eval task of every group language at once (harness.eval.taskkit), which
reports ``<metric>_<lang>`` per language beside ``gen``."""


def gen_task_languages(results: Mapping) -> dict[str, dict[str, dict[str, float]]]:
    """{family: {lang: {"<metric>,<filter>": value}}} read from the ``<family>_gen`` tasks of lm-eval
    results, as if each language had been its own ``<family>_<lang>`` task."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for task, result in results["results"].items():
        config = (results.get("configs") or {}).get(task) or {}
        languages = ((config.get("dataset_kwargs") or {}).get("gen") or {}).get("languages")
        if not task.endswith(GEN_TASK_SUFFIX) or not languages:
            continue
        family = task[: -len(GEN_TASK_SUFFIX)]
        for key, value in result.items():
            name, _, filter_key = key.partition(",")
            base, _, lang = name.rpartition("_")
            if lang in languages and base and isinstance(value, (int, float)):
                out.setdefault(family, {}).setdefault(lang, {})[f"{base},{filter_key}"] = value
    return out


def family_accuracies(results: Mapping, metric: str | None = None) -> dict[str, tuple[str, dict[str, float]]]:
    """{family: (metric, {lang: accuracy})} of the ``<family>_<lang>`` tasks in lm-eval results
    (or of a ``<family>_gen`` task's per-language metrics, where the family has no group there)."""
    per_task = results["results"]
    gen_tasks = gen_task_languages(results)
    group_children: Mapping[str, list] = results.get("group_subtasks") or {}
    groups = set(group_children) | set(results.get("groups") or {})
    families: dict[str, dict[str, Mapping]] = {}
    in_group = set()
    for group, children in group_children.items():
        for child in children or []:
            if child.startswith(f"{group}_") and child in per_task:
                families.setdefault(group, {})[child[len(group) + 1:]] = per_task[child]
                in_group.add(child)
    for task, result in per_task.items():
        if task in groups or task in in_group or "_" not in task or (
                task.endswith(GEN_TASK_SUFFIX) and task[: -len(GEN_TASK_SUFFIX)] in gen_tasks):
            continue
        family, lang = task.rsplit("_", 1)
        if family not in group_children:  # a group's extra languages (MGSM's te) stay out
            families.setdefault(family, {})[lang] = result
    for family, by_lang in gen_tasks.items():
        families.setdefault(family, by_lang)  # the family's own tasks, where present, come first
    out = {}
    for family, by_lang in families.items():
        chosen = _pick_metric(list(by_lang.values()), metric)
        if chosen is not None:
            out[family] = (chosen, {lang: _metric_value(r, chosen) for lang, r in by_lang.items()})
    return out


def compute_gen(model_results: Mapping, base_results: Mapping, metric: str | None = None) -> dict[str, GenScore]:
    """Gen of every task family found in both results."""
    model, base = family_accuracies(model_results, metric), family_accuracies(base_results, metric)
    scores = {}
    for family, (chosen, model_acc) in model.items():
        if family not in base:
            continue
        base_metric, base_acc = base[family]
        if base_metric != chosen:
            _, base_acc = family_accuracies(base_results, chosen).get(family, (chosen, {}))
        try:
            terms, excluded = gen_terms(model_acc, base_acc)
        except UserError as exc:
            raise UserError(f"{family}: {exc}") from None
        value = sum(terms.values()) / len(terms) if terms else None
        scores[family] = GenScore(family, chosen, value, terms, excluded, dict(model_acc),
                                  {lang: base_acc[lang] for lang in model_acc})
    if not scores:
        raise UserError("the model's and the base's results share no task family"
                        f" (model: {', '.join(sorted(model)) or 'none'}; base: {', '.join(sorted(base)) or 'none'})")
    return scores


# --- what must match before runs are compared ---------------------------------------------------

MATCHED_SETTINGS = ("task version", "problems", "generation budget", "prompt")
"""Settings two runs must share to stand side by side (Gen, ``harness report``, ``harness compare``)."""


def _family_tasks(results: Mapping, family: str) -> list[str]:
    children = (results.get("group_subtasks") or {}).get(family)
    if children:
        return list(children)
    return sorted(t for t in results.get("results", {}) if t.startswith(f"{family}_"))


def comparison_settings(results: Mapping, family: str) -> dict[str, str]:
    """What a family's numbers rest on, read from the results alone (so lm-eval's own files work):
    task versions, problems per task and language, the generation budget and the prompt variant."""
    tasks = _family_tasks(results, family)
    versions, counts, budgets, prompts = set(), set(), set(), set()
    for task in tasks:
        config = (results.get("configs") or {}).get(task) or {}
        versions.add(str((results.get("versions") or {}).get(task, (config.get("metadata") or {}).get("version", "?"))))
        n = (results.get("n-samples") or {}).get(task) or {}
        counts.add(str(_per_language(n.get("effective", "?"), config)))
        budgets.add(str((config.get("generation_kwargs") or {}).get("max_gen_toks", "?")))
        consistency = bool((config.get("metadata") or {}).get("consistency"))
        shots = (results.get("n-shot") or {}).get(task, config.get("num_fewshot", 0))
        prompts.add(f"{shots}-shot" + (", consistency prompt" if consistency else ""))
    return {name: "/".join(sorted(values)) for name, values in
            zip(MATCHED_SETTINGS, (versions, counts, budgets, prompts))}


def _per_language(count, config: Mapping):
    """Problems per language: a ``<family>_gen`` task counts all its languages' problems at once."""
    languages = ((config.get("dataset_kwargs") or {}).get("gen") or {}).get("languages")
    if languages and isinstance(count, int) and count % len(languages) == 0:
        return count // len(languages)
    return count


def mismatches(named_results: Mapping[str, Mapping], families: list[str] | None = None) -> list[tuple[str, str, dict[str, str]]]:
    """(family, setting, {run: value}) for every setting that differs between the runs."""
    if families is None:
        families = sorted(set.intersection(*(set(family_accuracies(r)) for r in named_results.values())))
    found = []
    for family in families:
        settings = {name: comparison_settings(r, family) for name, r in named_results.items()
                    if _family_tasks(r, family)}
        for setting in MATCHED_SETTINGS:
            values = {name: s[setting] for name, s in settings.items()}
            known = {v for v in values.values() if v != "?"}  # a bare results file says nothing: no conflict
            if len(known) > 1:
                found.append((family, setting, values))
    return found


def check_comparable(named_results: Mapping[str, Mapping], allow_mismatch: bool = False,
                     families: list[str] | None = None) -> list[str]:
    """Refuse (a UserError) runs that differ in task version, problems, budget or prompt, unless
    ``allow_mismatch``; then the differences come back as notes to print beside the numbers."""
    notes = [f"{family}: {setting} differs (" + ", ".join(f"{n}: {v}" for n, v in values.items()) + ")"
             for family, setting, values in mismatches(named_results, families)]
    if notes and not allow_mismatch:
        raise UserError(f"these runs are not comparable: {notes[0]}; compare like with like or pass --allow-mismatch")
    return notes


# --- the default plugin: Gen after ``harness eval --base`` ------------------------------------------


@hookimpl
def validate_eval(context):
    """``--base`` names a readable results file (or an eval run holding one)."""
    if context.settings.get("base"):
        load_results(context.settings["base"])


@hookimpl
def post_eval(context):
    """Gen of the evaluated model against ``--base``, as ``results["gen"]`` (one entry per task
    family); a mismatch of the two evaluations is recorded as ``gen_error``, not raised, so the
    evaluation itself is never lost to it."""
    base = context.settings.get("base")
    if not base:
        return None
    base_results = load_results(base)
    context.add_results("gen_base", str(base))
    try:
        check_comparable({"base": base_results, "this evaluation": context.results})
        scores = compute_gen(context.results, base_results)
    except UserError as exc:
        context.add_results("gen_error", str(exc))
        log.warning("no Gen: %s", exc)
        return None
    context.add_results("gen", {family: score.to_dict() for family, score in scores.items()})
    return None
