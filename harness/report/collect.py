"""Reading run directories into what a report needs: setups with readable names, their settings,
and a tidy per-problem table (setup, family, language, repeat, problem, score).

Inputs are ``harness eval`` run directories (``results.json`` beside ``samples_<task>[_run<i>].jsonl``),
probe runs (``probes.json``), ``harness pick-lang`` runs (``picklang.json``), or any folder that
holds such run directories (an experiment): folders without results of their own are searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import UserError
from harness.core.files import read_json, read_jsonl, read_yaml
from harness.core.rundir import CONFIG
from harness.report.stats import Scores

PARADIGM_NAMES = {
    "sft": "SFT", "grpo": "RL", "rft": "RFT", "cold_start": "SFT→RL", "cold_start_100": "SFT(100)→RL",
    "mixed": "RL mixed", "grpo_consistency": "RL+consistency", "grpo_consistency_prompt": "RL+prompt",
    "grpo_consistency_reward": "RL+prompt+reward",
}
"""How the study names each paradigm in its tables."""

_RUN_SUFFIX = re.compile(r"_run(\d+)$")
_DATE_SUFFIX = re.compile(r"_\d{4}-\d{2}-\d{2}T[\d.:-]+$")  # plain lm-eval output files


@dataclass
class Run:
    """One evaluated setup (an eval run directory) or a probe / pick-lang run."""

    path: Path
    label: str = ""
    results: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    paradigm: str | None = None
    train_languages: list[str] = field(default_factory=list)
    probes: dict = field(default_factory=dict)
    picklang: dict | None = None
    training: dict = field(default_factory=dict)
    """The config of the training run behind the evaluated model (empty for a base model)."""
    seed_index: int = 0
    """Which training seed of its setup this run is (runs of one setup that differ only in the
    training seed share a label and are combined by the two-level bootstrap)."""

    @property
    def name(self) -> str:
        """Unique among the runs: the label, with the seed when a setup has several."""
        return self.label if self.seed_index == 0 else f"{self.label} (seed {self.seed_index + 1})"

    @property
    def is_eval(self) -> bool:
        return bool(self.results)

    @property
    def trained(self) -> bool:
        return self.paradigm is not None

    @property
    def model(self) -> str:
        return str(self.config.get("model") or (self.results.get("harness") or {}).get("model") or self.path.name)


# --- finding and opening runs ---------------------------------------------------------------------


def _is_run(path: Path) -> bool:
    return any((path / name).is_file() for name in ("results.json", "probes.json", "picklang.json"))


def find_runs(specs: Iterable[str | Path]) -> list[Path]:
    """Run directories named, or held (at any depth) by the folders named, in order."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if not path.is_dir() and "/" not in str(spec):
            # An experiment's name: its cells live under experiments/<name>/ (harness experiment run).
            from harness.experiment.graph import experiments_root

            path = experiments_root() / str(spec)
        if not path.is_dir():
            raise UserError(f"{spec} is not a run directory, a folder of runs or a run experiment "
                            f"(no {path}: run `harness experiment run {spec}` first)")
        inside = [path] if _is_run(path) else sorted({p.parent for name in ("results.json", "probes.json", "picklang.json")
                                                      for p in path.rglob(name)}, key=_study_order)
        if not inside:
            raise UserError(f"{path} holds no run (no results.json, probes.json or picklang.json)")
        found += [p for p in dict.fromkeys(inside) if p not in found]
    return found


def _study_order(path: Path) -> tuple:
    """Runs of an experiment in the study's order: the base first, then by training language
    (en, zh, de, ...), SFT before RL within a language; the path breaks ties."""
    from harness.core.literals import LITERALS

    trained = _training_config(str(_read_yaml(path / CONFIG).get("model", "")))
    paradigm, langs = _paradigm_and_languages(trained) if trained else ("", [])
    order = list(LITERALS)
    lang_key = tuple(order.index(l) if l in order else len(order) for l in langs)
    paradigms = list(PARADIGM_NAMES)
    return (bool(trained), len(langs) > 1, lang_key,
            paradigms.index(paradigm) if paradigm in paradigms else len(paradigms), str(path))


def _read_json(path: Path) -> dict:
    data = read_json(path, "results file")
    return data if isinstance(data, dict) else {}


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    data = read_yaml(path, "run config")
    return data if isinstance(data, dict) else {}


def open_run(path: Path) -> Run:
    run = Run(path=path, config=_read_yaml(path / CONFIG))
    if (path / "results.json").is_file():
        run.results = _read_json(path / "results.json")
        if not isinstance(run.results.get("results"), dict):
            raise UserError(f"{path / 'results.json'} is not a harness or lm-eval results file")
    run.probes = dict(run.results.get("probes") or {})
    if (path / "probes.json").is_file():
        run.probes.update(_read_json(path / "probes.json"))
    if (path / "picklang.json").is_file():
        run.picklang = _read_json(path / "picklang.json")
    trained = _training_config(run.model)
    run.training = trained
    if trained:
        run.paradigm, run.train_languages = _paradigm_and_languages(trained)
    return run


def _paradigm_and_languages(config: Mapping) -> tuple[str, list[str]]:
    """A training run's paradigm (the recipe asked for, else its plugin) and languages, from the
    config.yaml layouts ``harness train`` has written."""
    paradigm = config.get("paradigm") or config.get("plugin") or config.get("paradigm_plugin") or "?"
    languages = config.get("languages") or config.get("lang") or []
    return str(paradigm), [str(l) for l in ([languages] if isinstance(languages, str) else languages)]


def _training_config(model: str) -> dict:
    """The config of the ``harness train`` run a model came from (empty for an alias or hub id)."""
    path = Path(model).expanduser()
    if not path.is_dir():  # an alias or hub id: its parent would be the working directory
        return {}
    for candidate in (path, path.parent):
        config = _read_yaml(candidate / CONFIG) if candidate.is_dir() else {}
        if config.get("command") == "train":
            return config
    return {}


def default_label(run: Run) -> str:
    """The study's way of naming a setup: "SFT (De)", "RL (En+Zh+De)", "Base"."""
    if run.trained:
        name = PARADIGM_NAMES.get(run.paradigm or "", run.paradigm or "")
        langs = "+".join(l.capitalize() for l in run.train_languages)
        return f"{name} ({langs})" if langs else name
    if run.picklang is not None:
        return f"pick-lang {Path(run.picklang.get('model', run.model)).name}"
    return "Base" if run.is_eval else f"probes {Path(run.model).name}"


def load_runs(specs: Sequence[str | Path], labels: Mapping[str, str] | None = None,
              merge_seeds: bool = True) -> list[Run]:
    """Every run under ``specs`` with a unique reader-facing label (``labels``: path or name ->
    label overrides)."""
    labels = {str(Path(k).expanduser().resolve()) if Path(k).expanduser().exists() else k: v
              for k, v in (labels or {}).items()}
    runs: list[Run] = []
    setups: dict[str, list[list[Run]]] = {}  # label -> setups of that name -> their seeds' runs
    for path in find_runs(specs):
        run = open_run(path)
        label = labels.get(str(path.resolve())) or labels.get(path.name) or default_label(run)
        if not run.is_eval:  # a probe run of a trained model carries its setup's name (drift)
            run.label = label
            runs.append(run)
            continue
        named = setups.setdefault(label, [])
        for seeds in named:
            if merge_seeds and all(_seeds_of_one_setup(other, run) for other in seeds):
                run.seed_index, run.label = len(seeds), seeds[0].label
                seeds.append(run)
                break
        else:
            run.label = label if not named else f"{label} #{len(named) + 1}"
            named.append([run])
        runs.append(run)
    return runs


def _seeds_of_one_setup(a: Run, b: Run) -> bool:
    """Two eval runs of models trained alike except for the seed, evaluated alike."""
    if not (a.is_eval and b.is_eval and a.trained and b.trained):
        return False
    strip = lambda c: {k: v for k, v in c.items() if k not in ("seed", "resolved_model", "harness_version")}  # noqa: E731
    return a.training.get("seed") != b.training.get("seed") and strip(a.training) == strip(b.training)


def pick_base(runs: Sequence[Run], base: str | None) -> Run | None:
    """The base setup: the run named by ``base`` (label or path), else the first untrained one."""
    evals = [r for r in runs if r.is_eval]
    if base:
        for run in evals:
            if base in (run.label, str(run.path), run.path.name) or Path(base).expanduser().resolve() == run.path.resolve():
                return run
        raise UserError(f"--base {base!r} names none of the runs ({', '.join(r.label for r in evals)})")
    return next((r for r in evals if not r.trained), None)


# --- the per-problem table ----------------------------------------------------------------------


def family_languages(results: Mapping) -> dict[str, dict[str, str]]:
    """{family: {lang: task}}: a group's own languages (extra tasks such as MGSM's te stay out),
    or the ``<family>_<lang>`` tasks of families without a group."""
    per_task = results.get("results") or {}
    groups = results.get("group_subtasks") or {}
    out: dict[str, dict[str, str]] = {}
    grouped = set()
    for group, children in groups.items():
        for child in children or []:
            if child.startswith(f"{group}_") and child in per_task:
                out.setdefault(group, {})[child[len(group) + 1:]] = child
                grouped.add(child)
    for task in per_task:
        if task in groups or task in grouped or "_" not in task:
            continue
        family, lang = task.rsplit("_", 1)
        if family not in groups:
            out.setdefault(family, {})[lang] = task
    return out


def read_task_scores(run: Run, task: str, metric: str) -> dict[int, dict[str, float]]:
    """repeat -> {problem id: score} of one task, from ``samples_<task>[_run<i>].jsonl``; lm-eval
    writes one line per document per filter, the first line stands for the document."""
    out: dict[int, dict[str, float]] = {}
    for file in sorted(run.path.glob(f"samples_{task}*.jsonl")):
        rest = file.stem[len(f"samples_{task}"):]
        match = _RUN_SUFFIX.fullmatch(rest) if rest else None
        if rest and not match and not _DATE_SUFFIX.fullmatch(rest):
            continue  # another task whose name starts with this one
        repeat = int(match.group(1)) if match else 0
        scores = out.setdefault(repeat, {})
        seen = set()
        for record in read_jsonl(file, "samples file", torn_tail=True):  # a killed writer's torn last line
            if not isinstance(record, dict) or record.get("doc_id") in seen or metric not in record:
                continue
            seen.add(record.get("doc_id"))
            doc = record.get("doc") or {}
            scores[str(doc.get("id", record.get("doc_id")))] = float(record[metric])
    return out


@dataclass
class ProblemTable:
    """The tidy per-problem table: one row per setup x family x language x repeat x problem."""

    rows: list[tuple[str, str, str, int, str, float]] = field(default_factory=list)
    columns = ("setup", "family", "lang", "repeat", "problem", "score")

    def add(self, setup: str, family: str, lang: str, by_repeat: Mapping[int, Mapping[str, float]]) -> None:
        for repeat, scores in sorted(by_repeat.items()):
            self.rows += [(setup, family, lang, repeat, pid, value) for pid, value in scores.items()]

    def to_csv(self) -> str:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()


@dataclass
class FamilyScores:
    """One family's aligned scores, what metric they are, and notes on what was left out."""

    scores: Scores
    metric: str
    problems: dict[str, int]
    notes: list[str] = field(default_factory=list)


def family_scores(runs: Sequence[Run], family: str, metric: str | None, table: ProblemTable,
                  allow_mismatch: bool = False) -> FamilyScores | None:
    """Scores of every run that has ``family``, aligned on the problems they share."""
    from harness.plugins.gen import _pick_metric

    having = [r for r in runs if family in family_languages(r.results)]
    if not having:
        return None
    tasks = {r.name: family_languages(r.results)[family] for r in having}
    langs = [l for l in tasks[having[0].name] if all(l in t for t in tasks.values())]
    chosen = _pick_metric([r.results["results"][t] for r in having for t in tasks[r.name].values()], metric)
    if chosen is None or not langs:
        return None
    raw = {r.name: {l: read_task_scores(r, tasks[r.name][l], chosen) for l in langs} for r in having}
    for r in having:
        for lang in langs:
            if not any(raw[r.name][lang].values()):
                raise UserError(f"{r.path} has no per-problem {chosen} for {tasks[r.name][lang]} "
                                f"(samples_{tasks[r.name][lang]}.jsonl): the paired bootstrap needs them")
    notes, values, problems, ids_per_lang = [], {}, {}, {}
    for lang in langs:
        id_sets = [set(s) for by_lang in raw.values() for s in by_lang[lang].values()]
        common = sorted(set.intersection(*id_sets), key=_natural)
        if any(len(s) != len(common) for s in id_sets):
            if not allow_mismatch:
                raise UserError(f"{family}_{lang}: the runs were scored on different problems; "
                                "compare like with like or pass --allow-mismatch")
            notes.append(f"{lang} ({len(common)})")
        ids_per_lang[lang], problems[lang] = common, len(common)
    for r in having:  # one row per run: its sampling repeats averaged per problem; seeds stack
        for lang in langs:
            by_repeat = raw[r.name][lang]
            table.add(r.name, family, lang, {k: {p: v[p] for p in ids_per_lang[lang]} for k, v in by_repeat.items()})
            row = np.array([[by_repeat[k][p] for p in ids_per_lang[lang]] for k in sorted(by_repeat)]).mean(axis=0)
            rows = values.setdefault(r.label, {}).get(lang)
            values[r.label][lang] = row[None] if rows is None else np.vstack([rows, row])
    if notes:
        notes = [f"{family}: only the problems every run answered are compared, per language: {', '.join(notes)}"]
    shared = len({tuple(ids) for ids in ids_per_lang.values()}) == 1
    return FamilyScores(Scores(family, langs, values, shared_problems=shared), chosen, problems, notes)


def _natural(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def families_of(runs: Sequence[Run]) -> list[str]:
    """Task families of the eval runs, in the order first seen."""
    out: list[str] = []
    for run in runs:
        out += [f for f in family_languages(run.results) if f not in out]
    return out


def settings_summary(run: Run, family: str) -> dict[str, Any]:
    """What a run's numbers of a family rest on (for the report's header)."""
    from harness.plugins.gen import comparison_settings

    settings = comparison_settings(run.results, family)
    settings["repeats"] = int(run.results.get("num_runs") or (run.results.get("harness") or {}).get("num_repeats") or 1)
    return settings
