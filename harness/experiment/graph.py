"""An ``experiments:`` entry of the registry expanded into cells with dependencies.

Cells, in the order they can run::

    base-<model>                    harness eval of the base model (Gen needs it)
    train-<paradigm>-<lang>[...]    harness train, one per paradigm x language x model x seed
                                    (`mixed`: one cell for the language set); a paradigm's `uses`
                                    passes another cell's model (`rft: {sampler_model: grpo}`)
    eval-<paradigm>-<lang>[...]     harness eval of the trained model with --base: Gen in results.json
    probe-<paradigm>-<lang>[...]    harness probe of the trained model against the base model
    picklang-<model>                harness pick-lang on the base model (``pick_lang``), which
                                    ``harness report`` checks against the realized results

The training corpus is the entry's ``data``, or the ``data`` given to :func:`expand` (``--data`` of
``harness experiment``, e.g. a corpus built by ``harness corpus build``). :func:`data_notes` says
where a grid's corpus comes from (``harness experiment plan`` prints it): the hub's translated
GSM8K is MathOctopus's, not the paper's own. A grid that trains other languages than English on
an English-only corpus (``gsm8k``, ``luffy``) is refused, naming the build command.

Each cell's run directory is ``<root>/<experiment>/<cell>-<hash8>/`` where the hash covers the
cell's resolved configuration: its command (dependencies by their own hashed directories, so a
changed training run changes every cell downstream) and the registry entries it reads (the
paradigm's defaults, the model's path and train_defaults). A changed configuration therefore
lands beside the old run directory, which is kept.
"""

from __future__ import annotations

import fnmatch
import graphlib
import hashlib
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UserError, unknown
from harness.experiment.requests import EXPERIMENTS_ENV, experiments_root  # noqa: F401  (with the options)

KINDS = ("base", "train", "eval", "probe", "picklang")
# Per-cell resources when the registry names none: a one-GPU job of a few hours.
DEFAULT_RESOURCES: dict[str, Any] = {"gpus": 1, "cpus": 8, "mem_gb": 64, "hours": 4.0}
RESOURCE_KEYS = {"gpus", "cpus", "mem_gb", "hours", "strategy"}
EVAL_FLAGS = {
    "limit": "--limit", "max_gen_toks": "--max-gen-toks", "num_repeats": "--num-repeats",
    "temperature": "--temperature", "top_p": "--top-p", "backend": "--backend",
    "batch_size": "--batch-size", "max_model_len": "--max-model-len", "consistency_prompt": None,
}
PICK_LANG_FLAGS = {"num_problems": "--num-problems", "num_generations": "--num-generations", "max_new_tokens": "--max-new-tokens",
                   "data": "--data"}
PROBE_FLAGS = {"names": None, "languages": None, "num_problems": "--num-problems", "num_generations": "--num-generations",
               "max_new_tokens": "--max-new-tokens", "data": "--data", "backend": "--backend"}
# Built-in training corpora with English problems only (DESIGN.md section 4): other training
# languages need a translation built with `harness corpus build --source NAME`.
ENGLISH_ONLY = ("gsm8k", "luffy")
# Built-in corpora translated by others than the study: (who translated, the source the study
# translated itself with Qwen3-30B-A3B and checked with DeepSeek-V3; DESIGN.md section 1).
TRANSLATED_BY_OTHERS = {"gsm8k_parallel": ("MathOctopus's translation of GSM8K", "gsm8k")}
STUDY_TARGETS = ("zh", "de")
"""The languages the study translated its corpora into."""


@dataclass
class Cell:
    name: str
    kind: str
    argv: list[str]
    """The ``harness`` arguments, without the run-directory reuse flag the runner adds."""
    deps: list[str]
    resources: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    run_dir: Path = Path()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.digest[:8]}"

    def command(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(["harness", *self.argv])

    def spec(self) -> dict[str, Any]:
        """What the cell entry point needs (plain data: it travels to a SLURM job by pickle)."""
        return {"name": self.name, "kind": self.kind, "argv": self.argv, "run_dir": str(self.run_dir),
                "env": dict(self.env), "gpus": int(self.resources.get("gpus") or 0),
                "strategy": self.resources.get("strategy", "zero2")}


@dataclass
class Experiment:
    name: str
    root: Path
    """``<experiments root>/<name>``: the cells' run directories live here."""
    cells: dict[str, Cell]
    """In an order where every cell comes after its dependencies."""
    registry_path: Path | None = None
    data: str = ""
    """The training corpus of the train cells (the entry's ``data`` or the one given)."""
    notes: list[str] = field(default_factory=list)
    """What a reader of the plan should know about it (:func:`data_notes`)."""

    def dependants(self, name: str) -> set[str]:
        """Every cell that needs ``name``, directly or through others."""
        out: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for cell in self.cells.values():
                if current in cell.deps and cell.name not in out:
                    out.add(cell.name)
                    frontier.append(cell.name)
        return out

    def select(self, pattern: str | None) -> list[str]:
        """Cells matching the glob ``pattern`` (comma-separated globs) and what they need."""
        if not pattern:
            return list(self.cells)
        globs = [p.strip() for p in pattern.split(",") if p.strip()]
        chosen = {n for n in self.cells if any(fnmatch.fnmatchcase(n, g) for g in globs)}
        if not chosen:
            raise unknown("cell", pattern, self.cells, where=f"experiment {self.name!r}")
        frontier = list(chosen)
        while frontier:
            for dep in self.cells[frontier.pop()].deps:
                if dep not in chosen:
                    chosen.add(dep)
                    frontier.append(dep)
        return [n for n in self.cells if n in chosen]


def expand(registry, name: str, *, root: Path | None = None, data_dir: str | None = None,
           registry_path: Path | None = None, data: str | None = None) -> Experiment:
    """The cells of experiment ``name`` of a loaded (validated) registry; ``data`` replaces the
    entry's training corpus (a changed corpus changes the train cells' hashes)."""
    if name not in registry.experiments:
        raise unknown("experiment", name, registry.experiments)
    entry = registry.experiments[name]
    corpus = data or entry.get("data")
    if entry.get("paradigms") and corpus:
        check_languages(name, str(corpus), training_languages(entry))
    exp = _Expander(registry, name, experiments_root(root) / name, data_dir, registry_path, data).expand()
    exp.data = str(corpus or "")
    exp.notes = data_notes(str(corpus), entry.get("data"), training_languages(entry)) if corpus else []
    return exp


def training_languages(entry: dict) -> list[str]:
    """Every language some train cell of the entry trains in."""
    langs = list(entry.get("languages") or [])
    for narrowed in (entry.get("paradigm_languages") or {}).values():
        langs += [lang for lang in narrowed if lang not in langs]
    return langs


def _builtin(corpus: str) -> str:
    """The built-in corpus name ``corpus`` stands for (a hub id means its built-in name)."""
    from harness.data.corpora import ALIASES

    return ALIASES.get(corpus, corpus)


def _build_command(source: str, languages: list[str]) -> tuple[str, str]:
    """(the ``harness corpus build`` command, the corpus name it writes by default)."""
    targets = [lang for lang in languages if lang != "en"]
    return (f"harness corpus build --source {source} --langs {','.join(targets)}",
            f"{source}_{'_'.join(targets)}_v1")


def check_languages(name: str, corpus: str, languages: list[str]) -> None:
    """Refuse a grid that trains other languages than English on an English-only corpus."""
    builtin = _builtin(corpus)
    others = [lang for lang in languages if lang != "en"]
    if builtin in ENGLISH_ONLY and others:
        command, built = _build_command(builtin, languages)
        raise UserError(f"experiment {name!r} trains in {', '.join(others)} but {corpus} is English only: "
                        f"build the translation with `{command}` and pass it with --data {built}")


def data_notes(corpus: str, own: str | None, languages: list[str]) -> list[str]:
    """Where the training corpus comes from, for ``harness experiment plan``: the corpus given
    instead of the grid's own, and a corpus translated by others than the study (with the
    command that builds the paper's variant)."""
    notes = [f"training data: {corpus} (--data; the grid's own: {own})"] if own and corpus != own else []
    builtin = _builtin(corpus)
    if builtin in TRANSLATED_BY_OTHERS:
        from harness.data.sources import SOURCES

        who, source = TRANSLATED_BY_OTHERS[builtin]
        targets = [*STUDY_TARGETS, *(lang for lang in languages if lang not in STUDY_TARGETS)]
        command, built = _build_command(source, targets)
        notes.append(f"training data: {corpus} is {SOURCES[builtin].hf_id}, {who}, not the paper's own "
                     f"(Qwen3-30B-A3B translating, DeepSeek-V3 verifying; not released); for the paper's "
                     f"variant, build it with `{command}` (docs/corpora.md) and pass --data {built} "
                     f"to plan, run and status")
    return notes


def flag(key: str, value: Any) -> list[str]:
    """A setting as the CLI takes it: ``max_steps: 20`` -> ``--max-steps 20``."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return [f"--{key.replace('_', '-')}", text]


def paradigm_order(paradigms: list[str], uses: dict) -> list[str]:
    """Paradigms with each after the ones whose models it uses; a cycle is a UserError."""
    sorter = graphlib.TopologicalSorter({p: set((uses.get(p) or {}).values()) & set(paradigms) for p in paradigms})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise UserError(f"the cells' references form a cycle: {' -> '.join(exc.args[1])}") from None


class _Expander:
    def __init__(self, registry, name: str, root: Path, data_dir: str | None, registry_path: Path | None,
                 data: str | None = None):
        self.registry = registry
        self.name = name
        self.entry = registry.experiments[name]
        self.data = data or self.entry.get("data")
        self.root = root
        self.data_dir = data_dir
        self.env = {"HARNESS_REGISTRY": str(Path(registry_path).resolve())} if registry_path else {}
        self.cells: dict[str, Cell] = {}

    def expand(self) -> Experiment:
        e = self.entry
        models, seeds = list(e["models"]), list(e.get("seeds") or [0])
        tasks = ",".join(e.get("tasks") or [])
        for model in models:
            if tasks:
                self.add(Cell(f"base-{model}", "base",
                              self.eval_argv(model), [], self.resources("base"), {"model": model}))
            if e.get("pick_lang"):
                self.pick_lang_cell(model, tasks)
        uses = dict(e.get("uses") or {})
        for model in models:
            for seed in seeds:
                trained: dict[tuple[str, str], Cell] = {}
                for paradigm in paradigm_order(list(e["paradigms"]), uses):
                    for lang in self.language_sets(paradigm):
                        cell = self.train_cell(paradigm, lang, model, seed, uses.get(paradigm) or {}, trained)
                        trained[(paradigm, lang)] = cell
                        self.downstream(cell, tasks, model)
        return Experiment(self.name, self.root, self.cells, Path(self.env["HARNESS_REGISTRY"]) if self.env else None)

    def label(self, kind: str, paradigm: str, lang: str, model: str, seed: int) -> str:
        """Short names: the model and seed appear only when the experiment has several."""
        parts = [kind, paradigm, lang.replace(",", "+")]
        if len(self.entry["models"]) > 1:
            parts.append(model)
        if len(self.entry.get("seeds") or [0]) > 1:
            parts.append(f"s{seed}")
        return "-".join(p for p in parts if p)

    def pick_lang_cell(self, model: str, tasks: str) -> None:
        pick = self.entry["pick_lang"]
        argv = ["pick-lang", "--model", model, "--candidates", ",".join(pick["candidates"])]
        deps = []
        if tasks:
            base = self.cells[f"base-{model}"]
            argv += ["--base-eval", str(base.run_dir)]
            deps.append(base.name)
        for key, value in pick.items():
            if PICK_LANG_FLAGS.get(key):
                argv += [PICK_LANG_FLAGS[key], str(value)]
        self.add(Cell(f"picklang-{model}", "picklang", argv, deps, self.resources("picklang"), {"model": model}))

    def language_sets(self, paradigm: str) -> list[str]:
        """The training languages of a paradigm's cells (``paradigm_languages`` narrows them);
        ``mixed`` trains one cell on the whole set."""
        plugin, _, _ = self.registry.paradigm_defaults(paradigm)
        languages = list((self.entry.get("paradigm_languages") or {}).get(paradigm) or self.entry["languages"])
        return [",".join(languages)] if plugin == "mixed" else languages

    def resources(self, kind: str) -> dict[str, Any]:
        given = self.entry.get("resources") or {}
        return {**DEFAULT_RESOURCES, **dict(given.get("default") or {}), **dict(given.get(kind) or {})}

    def train_cell(self, paradigm: str, lang: str, model: str, seed: int, uses: dict,
                   trained: dict[tuple[str, str], Cell]) -> Cell:
        e = self.entry
        deps, model_arg, extra = [], model, []
        for setting, source in uses.items():
            source_cell = trained.get((source, lang))
            if source_cell is None:
                raise UserError(f"experiment {self.name!r}: {paradigm} in {lang} uses {source!r}, "
                                f"which has no cell in {lang}")
            deps.append(source_cell.name)
            if setting == "model":
                model_arg = str(source_cell.run_dir)
            else:
                extra += flag(setting, source_cell.run_dir)
        argv = ["train", "--plugin", paradigm, "--lang", lang, "--model", model_arg, "--data", str(self.data),
                "--seed", str(seed)]
        if e.get("num_problems"):
            argv += ["--num-problems", str(e["num_problems"])]
        for key, value in dict((e.get("train_args") or {}).get(paradigm) or {}).items():
            argv += flag(key, value)
        argv += extra
        labels = {"paradigm": paradigm, "lang": lang, "model": model, "seed": str(seed)}
        return self.add(Cell(self.label("train", paradigm, lang, model, seed), "train", argv, deps,
                             self.resources("train"), labels))

    def downstream(self, train: Cell, tasks: str, model: str) -> None:
        suffix = train.name.removeprefix("train-")
        base = f"base-{model}"
        if tasks:
            self.add(Cell(f"eval-{suffix}", "eval", self.eval_argv(str(train.run_dir), base=self.cells[base]),
                          [train.name, base], self.resources("eval"), dict(train.labels)))
        probes = self.entry.get("probes") or {}
        if probes.get("names"):
            argv = ["probe", ",".join(probes["names"]), "--model", str(train.run_dir), "--base", model,
                    "--lang", ",".join(probes.get("languages") or self.entry["languages"])]
            for key, value in probes.items():
                if PROBE_FLAGS.get(key):
                    argv += [PROBE_FLAGS[key], str(value)]
            self.add(Cell(f"probe-{suffix}", "probe", argv, [train.name], self.resources("probe"), dict(train.labels)))

    def eval_argv(self, model: str, base: Cell | None = None) -> list[str]:
        argv = ["eval", "--model", model, "--tasks", ",".join(self.entry["tasks"])]
        for key, value in dict(self.entry.get("eval") or {}).items():
            if key == "consistency_prompt":
                argv += ["--consistency-prompt"] if value else []
            else:
                argv += [EVAL_FLAGS[key], str(value)]
        if base is not None:
            argv += ["--base", str(base.run_dir)]
        return argv

    def add(self, cell: Cell) -> Cell:
        if cell.name in self.cells:
            raise UserError(f"experiment {self.name!r} expands to two cells named {cell.name!r}")
        cell.digest = self.digest(cell)
        cell.run_dir = self.root / cell.dirname
        cell.env = dict(self.env)
        # Locations (the data mirror) do not change what a cell computes: not in the hash.
        if self.data_dir and cell.kind != "probe":
            cell.argv += ["--data-dir", str(self.data_dir)]
        cell.argv += ["--run-dir", str(cell.run_dir)]
        self.cells[cell.name] = cell
        return cell

    def digest(self, cell: Cell) -> str:
        prefix = str(self.root) + os.sep
        material: dict[str, Any] = {"argv": [a.replace(prefix, "") for a in cell.argv], "kind": cell.kind}
        model = cell.labels.get("model")
        if model:
            material["model"] = _plain(self.registry.models.get(model))
        if cell.kind == "train":
            material["paradigm"] = _plain(self.registry.paradigms.get(cell.labels["paradigm"]))
        text = json.dumps(material, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A registry entry as plain JSON (its line bookkeeping and description left out)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
