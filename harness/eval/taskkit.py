"""What the task folders' ``utils.py`` files share: the dataset hook, the prompt, the metrics, the
Gen task, and the generator of the YAML files.

lm-eval calls these through ``!function utils.<name>`` in a task folder; the folder's utils.py
binds them to its benchmark (which loader, which answer kind) in a few lines each, and declares
its data (``FAMILY``, ``VERSION``, ``GROUP_LANGUAGES``, ``EXTRA_LANGUAGES``, optional ``METRICS``,
``FILTER``, ``SUBGROUP``/``SUBGROUP_LANGUAGES``, ``GEN_TASK``), from which
``python -m harness.eval.taskkit [family ...]`` writes the YAML files (:func:`generate`).

Metrics (every reasoning family):

- ``strict_acc``: the last ``\\boxed{}`` of the response equals the gold answer;
- ``flexible_acc``: the boxed answer, else a localized "the answer is", else the last number
  (for choices: the last standalone letter) equals the gold answer.

Both come from :func:`harness.grading.grade`, the same grader the RL reward uses.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from harness.lang.prompts import prompt_text

METRICS = ("strict_acc", "flexible_acc")

log = logging.getLogger(__name__)


# --- datasets ------------------------------------------------------------------------------------


def dataset_hook(load: Callable[[str, Path | None], list[dict]], *, split: str = "test"):
    """A ``custom_dataset`` function for lm-eval, around ``load(lang, root) -> rows``.

    lm-eval calls it with the task's ``dataset_kwargs`` (``lang``; the Gen task's ``gen``) and
    every metadata entry: the TaskManager's metadata (``data_dir``, ``consistency``,
    ``base_results``; ``--metadata`` on lm-eval's command line), the task's own (``version``) and,
    from lm-eval's CLI, the model arguments. What it does not know it ignores.
    """

    def custom_dataset(lang: str | None = None, data_dir: str | None = None, consistency: bool = False,
                       gen: Mapping | None = None, base_results: str | None = None, **_: Any):
        from harness.data.sources import data_dir as resolve, to_dataset_dict, with_fields

        root, extra = resolve(data_dir), {"consistency": bool(consistency)}
        if gen is None:
            rows = with_fields(load(lang, root), **extra)
        else:
            rows = gen_rows({l: with_fields(load(l, root), **extra) for l in gen["languages"]}, gen, base_results)
        return to_dataset_dict({split: rows})

    return custom_dataset


def toy_loader(corpus: str, problems: int) -> Callable[[str, Path | None], list[dict]]:
    """A loader of the test split of a built-in toy corpus (``harness.data.toy.<corpus>``): the
    same ``problems`` problems in every language, offline."""

    def load(lang: str, root: Path | None) -> list[dict]:
        from harness.data import toy

        rows = getattr(toy, corpus)([lang], n=problems, seed=0, split="test")
        return [{"id": r["id"], "lang": lang, "question": r["question"], "answer": r["answer"], "kind": "number"}
                for r in rows]

    return load


# --- prompt --------------------------------------------------------------------------------------


def doc_to_text(doc: dict) -> str:
    """The user turn, from the prompt function training uses (the chat template comes later)."""
    return prompt_text(doc["question"], doc["lang"], consistency=bool(doc.get("consistency")))


# --- metrics -------------------------------------------------------------------------------------


def grade_both(response: str, doc: dict) -> dict[str, float]:
    from harness.grading import grade

    gold, kind, lang = doc["answer"], doc["kind"], doc["lang"]
    return {
        "strict_acc": float(grade(response, gold, kind=kind, lang=lang, mode="strict")),
        "flexible_acc": float(grade(response, gold, kind=kind, lang=lang, mode="flexible")),
    }


def per_language(score: Callable[[dict, Sequence[Any]], dict[str, Any]]) -> Callable[[dict, Sequence[Any]], dict[str, Any]]:
    """A ``process_results`` that also serves the Gen task: on a Gen task's document (one with a
    ``gen`` field) the scores become the per-language items of :func:`gen_items`; elsewhere they
    pass unchanged."""

    @functools.wraps(score)
    def process(doc: dict, results: Sequence[Any]) -> dict[str, Any]:
        scores = score(doc, results)
        return gen_items(doc, scores) if doc.get("gen") else scores

    return process


@per_language
def process_results(doc: dict, results: Sequence[str]) -> dict[str, float]:
    """lm-eval ``process_results`` for one response per document (the default take_first filter)."""
    return grade_both(results[0], doc)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def sampled_results(ks: Sequence[int]) -> Callable[[dict, Sequence[Any]], dict[str, float]]:
    """``process_results`` for n sampled responses per document (task ``repeats: n`` with the
    ``take_first_k`` filter): mean strict/flexible accuracy over the n samples, and strict pass@k
    for each k in ``ks`` that is at most n."""

    def process(doc: dict, results: Sequence[Any]) -> dict[str, float]:
        responses = results[0] if results and isinstance(results[0], (list, tuple)) else list(results)
        graded = [grade_both(r, doc) for r in responses]
        n = len(graded)
        out = {m: sum(g[m] for g in graded) / n for m in METRICS}
        correct = int(sum(g["strict_acc"] for g in graded))
        for k in ks:
            if k <= n:
                out[f"pass@{k}"] = pass_at_k(n, correct, k)
        return out

    return per_language(process)


# --- the Gen task ------------------------------------------------------------------------------
#
# ``<family>_gen`` evaluates every group language of a family in one lm-eval task and aggregates
# per language, so that plain ``lm_eval`` reports Gen (harness.plugins.gen) against a base run
# named by ``--metadata '{"base_results": PATH}'``. lm-eval hands an aggregation only the list of
# per-document values, so each value carries what the aggregation needs: the document's language
# and, for ``gen``, the family, the metric and the base results (which the dataset hook wrote
# into every document from the task's metadata).

GEN_SUFFIX = "_gen"
BASE_KEY = "base_results"
"""The ``--metadata`` key that names the base run's results."""

NO_BASE = ("{task}: gen needs the base model's results: pass --metadata '{{\"base_results\": "
           "\"runs/base/results.json\"}}' (a harness eval run or lm-eval results file), or run "
           "`harness gen --base BASE RESULTS` on this run's results afterwards.")


def gen_metric(metrics: Sequence[str]) -> str:
    """The metric Gen uses among a family's metrics: the one ``harness gen`` would pick."""
    from harness.plugins.gen import DEFAULT_METRICS

    return next((m for m in DEFAULT_METRICS if m in metrics), metrics[0])


def gen_rows(rows_by_lang: Mapping[str, list[dict]], gen: Mapping, base_results: str | None) -> list[dict]:
    """The Gen task's documents: the languages' rows interleaved (the first problem of every
    language, then the second ...), so that ``--limit N*L`` takes the same problems as ``--limit
    N`` on the family's group; each row gets a ``gen`` field for :func:`gen_items`. A base that
    cannot serve (missing, unreadable, without this family's languages) stops the load here,
    before any generation."""
    base = str(Path(base_results).expanduser().resolve()) if base_results else ""
    if base:
        check_base(base, gen["family"], gen["metric"], gen["languages"])
    info = {"family": gen["family"], "metric": gen["metric"], "languages": list(gen["languages"]), BASE_KEY: base}
    mixed = itertools.chain.from_iterable(itertools.zip_longest(*rows_by_lang.values()))
    return [{**row, "gen": info} for row in mixed if row is not None]


def check_base(path: str, family: str, metric: str, languages: Sequence[str]) -> None:
    from harness.core.errors import UserError
    from harness.plugins.gen import family_accuracies, load_results

    found = family_accuracies(load_results(path), metric).get(family)
    if found is None:
        raise UserError(f"{family}{GEN_SUFFIX}: the base results {path} have no {family} {metric}")
    missing = [lang for lang in languages if lang not in found[1]]
    if missing:
        raise UserError(f"{family}{GEN_SUFFIX}: the base results {path} have no {family} {metric} "
                        f"for {', '.join(missing)}")


def gen_items(doc: dict, scores: Mapping[str, Any]) -> dict[str, Any]:
    """One document's values for the Gen task's metrics: each metric as ``{lang, value}`` (for
    the macro average), ``<metric>_<lang>`` for every language (None but in the document's own),
    and ``gen``, which also carries the family, the metric and the base results."""
    lang, gen = doc["lang"], doc["gen"]
    items: dict[str, Any] = {}
    for metric, value in scores.items():
        items[metric] = {"lang": lang, "value": value}
        for other in gen["languages"]:
            items[f"{metric}_{other}"] = value if other == lang else None
    items["gen"] = {"lang": lang, "value": scores[gen["metric"]], "family": gen["family"],
                    "metric": gen["metric"], BASE_KEY: gen[BASE_KEY]}
    return items


def _mean(values: list) -> float | None:
    flat = [float(x) for v in values for x in (v if isinstance(v, (list, tuple)) else [v])]
    return sum(flat) / len(flat) if flat else None


def _by_language(items: Sequence[Mapping]) -> dict[str, float]:
    values: dict[str, list] = {}
    for item in items:
        values.setdefault(item["lang"], []).append(item["value"])
    return {lang: _mean(v) for lang, v in values.items() if _mean(v) is not None}


def language_mean(items: Sequence[Any]) -> float | None:
    """Aggregation of ``<metric>_<lang>``: the mean over that language's documents (list values,
    such as IFEval's per-instruction ones, count each element)."""
    return _mean([v for v in items if v is not None])


def macro_mean(items: Sequence[Mapping]) -> float | None:
    """Aggregation of a metric over all languages: the mean of the per-language means (every
    language weighs the same, as in the family's group)."""
    per_lang = _by_language(items)
    return sum(per_lang.values()) / len(per_lang) if per_lang else None


def gen_aggregate(items: Sequence[Mapping]) -> float | None:
    """Aggregation of ``gen``: Gen (``harness.plugins.gen.compute_gen``, a fraction like the
    accuracies) of the per-language accuracies against the base results; None, with one warning
    saying what to pass, when no base was given."""
    from harness.core.errors import UserError
    from harness.plugins.gen import compute_gen, load_results

    if not items:
        return None
    first = items[0]
    family, metric, base = first["family"], first["metric"], first[BASE_KEY]
    if not base:
        log.warning(NO_BASE.format(task=family + GEN_SUFFIX))
        return None
    model = gen_results(family, metric, _by_language(items))
    try:
        score = compute_gen(model, load_results(base), metric)[family]
    except UserError as exc:
        log.warning("%s%s: no gen: %s", family, GEN_SUFFIX, exc)
        return None
    if score.excluded:
        log.info("%s%s: %s left out of gen (the base scored 100%%)", family, GEN_SUFFIX, ", ".join(score.excluded))
    return score.gen


def gen_results(family: str, metric: str, accuracies: Mapping[str, float]) -> dict:
    """Per-language accuracies in lm-eval's results layout (the family's group and its tasks), as
    ``harness.plugins.gen`` reads it."""
    tasks = {f"{family}_{lang}": {f"{metric},none": acc} for lang, acc in accuracies.items()}
    return {"results": tasks, "group_subtasks": {family: list(tasks)}}


# --- YAML generation -----------------------------------------------------------------------------

GENERATED_HEADER = "# Generated by `python -m harness.eval.taskkit <family>` from utils.py; edit that, not this file.\n"


class _Function(str):
    """A ``!function`` reference in a generated YAML file."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


def _write(path: Path, body: dict) -> Path:
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    path.write_text(GENERATED_HEADER + text, encoding="utf-8")
    return path


def write_task_yamls(folder: Path, family: str, languages: Sequence[str], *, common: str,
                     extra: dict[str, dict] | None = None) -> list[Path]:
    """Write ``<family>_<lang>.yaml`` for each language: include the common base, set the task
    name and the language; ``extra`` adds per-language keys."""
    written = []
    for lang in languages:
        body = {"include": common, "task": f"{family}_{lang}", "dataset_kwargs": {"lang": lang}}
        body.update((extra or {}).get(lang, {}))
        written.append(_write(folder / f"{family}_{lang}.yaml", body))
    return written


def write_group_yaml(folder: Path, group: str, languages: Sequence[str], *, version: float,
                     metrics: Sequence[str] = METRICS, task_prefix: str | None = None,
                     filter_name: str = "none", description: str = "", file_name: str | None = None) -> Path:
    """Write ``_<group>.yaml`` (or ``file_name``): the macro average (every language weighs the
    same) of each metric over the tasks ``<task_prefix>_<lang>`` (the prefix defaults to the
    group's name)."""
    body: dict[str, Any] = {
        "group": group,
        "task": [f"{task_prefix or group}_{lang}" for lang in languages],
        "aggregate_metric_list": [
            {"metric": m, "aggregation": "mean", "weight_by_size": False, "filter_list": [filter_name]}
            for m in metrics
        ],
        "metadata": {"version": version, **({"description": description} if description else {})},
    }
    return _write(folder / (file_name or f"_{group}.yaml"), body)


def write_gen_yaml(folder: Path, family: str, languages: Sequence[str], *, common: str,
                   metrics: Sequence[str] = METRICS) -> Path:
    """Write ``<family>_gen.yaml``: the common base over all of ``languages`` at once, aggregated
    per language and into Gen (see :func:`gen_aggregate`). Not a member of the family's group."""
    def entry(metric: str, aggregation: str) -> dict:
        return {"metric": metric, "aggregation": _Function(f"harness.eval.taskkit.{aggregation}"),
                "higher_is_better": True}

    body = {
        "include": common,
        "task": f"{family}{GEN_SUFFIX}",
        "dataset_kwargs": {"gen": {"family": family, "metric": gen_metric(metrics), "languages": list(languages)}},
        "metric_list": [entry("gen", "gen_aggregate")]
        + [entry(m, "macro_mean") for m in metrics]
        + [entry(f"{m}_{lang}", "language_mean") for m in metrics for lang in languages],
    }
    return _write(folder / f"{family}{GEN_SUFFIX}.yaml", body)


def generate(utils: ModuleType, folder: Path | None = None) -> list[Path]:
    """Write a family's YAML files from what its utils.py declares, into its folder (or
    ``folder``): ``<family>_<lang>.yaml`` for the group's and the extra languages, the group
    ``_<family>.yaml``, the named ``SUBGROUP`` if any, and ``<family>_gen.yaml`` unless
    ``GEN_TASK`` is False."""
    folder = Path(folder) if folder is not None else Path(utils.__file__).resolve().parent
    family, group_langs = utils.FAMILY, tuple(utils.GROUP_LANGUAGES)
    metrics = tuple(getattr(utils, "METRICS", METRICS))
    filter_name = getattr(utils, "FILTER", "none")
    common = f"{family}_common_yaml"
    written = write_task_yamls(folder, family, group_langs + tuple(utils.EXTRA_LANGUAGES), common=common)
    written.append(write_group_yaml(folder, family, group_langs, version=utils.VERSION, metrics=metrics,
                                    filter_name=filter_name))
    subgroup = getattr(utils, "SUBGROUP", None)
    if subgroup:
        # Named without the leading underscore of a family's group file, so that `harness eval
        # --tasks <subgroup>` finds it as it finds a single task of the family.
        written.append(write_group_yaml(folder, subgroup, utils.SUBGROUP_LANGUAGES, version=utils.VERSION,
                                        metrics=metrics, task_prefix=family, filter_name=filter_name,
                                        file_name=f"{subgroup}.yaml"))
    if getattr(utils, "GEN_TASK", True):
        written.append(write_gen_yaml(folder, family, group_langs, common=common, metrics=metrics))
    return written


def load_utils(family: str, tasks_dir: Path | None = None) -> ModuleType:
    """A task folder's utils.py, loaded from its file (as lm-eval loads it)."""
    from harness.eval.tasks import tasks_dir as default_tasks_dir

    path = (tasks_dir or default_tasks_dir()) / family / "utils.py"
    spec = importlib.util.spec_from_file_location(f"_taskkit_{family}_utils", path)
    if spec is None or not path.is_file():
        raise SystemExit(f"no task family {family!r} (no {path})")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m harness.eval.taskkit [family ...]``: regenerate the YAML files of the named
    families (all of them when none is named)."""
    import argparse

    from harness.eval.tasks import task_families

    parser = argparse.ArgumentParser(prog="python -m harness.eval.taskkit", description=main.__doc__)
    parser.add_argument("families", nargs="*", help="task families (default: every one)")
    args = parser.parse_args(argv)
    for family in args.families or task_families():
        for path in generate(load_utils(family)):
            print(path)


if __name__ == "__main__":
    main()
