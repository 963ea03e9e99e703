"""The plugin API: every hook of the harness and everything a plugin implements or receives.

This one module is what a plugin author reads (as ``llm``'s ``hookspecs.py``):

- the hooks, grouped by the phase in which they fire, with ``hookimpl`` to implement them;
- what the ``register_*`` hooks accept: :class:`Paradigm` (with :class:`TrainContext` and
  :class:`TrainResult`), :class:`Reward`, :class:`Probe` (with :class:`ProbeContext` and
  :class:`ProbeOptions`);
- what the evaluation hooks receive: :class:`EvalContext`.

Plugins implement hooks with ``@hookimpl`` (``from harness.core.hookspecs import hookimpl``). An
implementation may accept fewer arguments than the spec names, so arguments can be added later
without breaking plugins; they are only ever added, never renamed or removed.

Contribution hooks take a ``register`` callback: the host validates what a plugin hands it and
rejects duplicate names, naming both plugins. See docs/plugins.md for worked examples; a test
(tests/test_plugin_manager.py) fails when a hook here is not documented there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import pluggy

from harness.core.config import SEED_MAX, option
from harness.core.rundir import RunDir

PROJECT = "harness"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- register: called once, when the plugin manager first loads --------------------------------


@hookspec
def register_paradigms(register):
    """Contribute training paradigms.

    :param register: call ``register(paradigm)`` once per paradigm, where ``paradigm`` follows
        :class:`Paradigm` (a ``name``, a ``description``, a ``config_class`` dataclass and
        ``train(context, config) -> TrainResult``).
    """


@hookspec
def register_rewards(register):
    """Contribute reward functions usable by RL paradigms.

    :param register: call ``register(reward)`` with a :class:`Reward` whose function has TRL's
        signature ``(prompts, completions, **columns) -> list[float | None]``.
    """


@hookspec
def register_probes(register):
    """Contribute mechanism probes that run after evaluation.

    :param register: call ``register(probe)`` with a :class:`Probe` (a ``name``, a
        ``description`` and ``run(context) -> dict``).
    """


@hookspec
def register_corpora(register):
    """Contribute named training corpora, usable as ``--data NAME`` in training and experiments.

    :param register: call ``register(corpus)`` with a :class:`harness.data.corpora.NamedCorpus` (a
        ``name``, the ``path`` of a folder that ``--data DIR`` reads, and a ``description``).
        The built-in plugin ``harness.plugins.corpora`` registers every corpus ``harness corpus
        build`` finished under ``$HARNESS_CORPORA_DIR`` (default ``./corpora``).
    """


@hookspec
def register_commands(register):
    """Contribute ``harness`` subcommands; fires when the CLI starts, so keep the module's
    top-level imports light (no torch; import heavy things inside the command).

    :param register: call ``register(function)`` for a command named after the function
        (``pick_lang`` becomes ``harness pick-lang``; its parameters are typer options), or
        ``register(typer_app, name="group")`` for a group of subcommands (``harness group ...``).
        A name another plugin, or a core command, already took is reported, not replaced.
    """


# --- eval: fired by ``harness eval`` ------------------------------------------------------------


@hookspec
def validate_eval(context):
    """Fires before an evaluation creates anything (run directory, process, model): refuse
    settings this plugin cannot work with by raising :class:`harness.core.errors.UserError`
    (one sentence, exit code 2). The built-in Gen plugin reads ``--base`` here, the probes
    plugin checks ``--probes`` and their options.

    :param context: an :class:`EvalContext` whose ``run`` and ``results`` are still None.
    """


@hookspec
def post_eval(context):
    """Fires after an evaluation finished and its results were written; Gen and probes attach here.

    :param context: an :class:`EvalContext`. Add top-level entries to ``results.json`` with
        ``context.add_results(key, value)`` (the built-ins add ``gen`` and ``probes``); write
        plots and files into ``context.run``.
    :returns: a dict stored under ``results["post_eval"][plugin name]``, or None.
    """


@dataclass
class EvalContext:
    """What the evaluation hooks receive."""

    settings: Mapping[str, Any]
    """The evaluation's settings: ``harness eval``'s options as a mapping (``model``,
    ``model_path``, ``tasks``, ``base``, ``probes``, ``probe_options``, ...)."""
    catalog: Any
    """What the loaded plugins registered (:class:`harness.core.plugins.Catalog`: ``probes``,
    ``rewards``, ``paradigms``, ...), so a hook never reads a global catalog."""
    registry: Any
    """The :class:`harness.core.registry.Registry` the command loaded (``harness --registry``),
    e.g. to resolve model aliases."""
    run: RunDir | None = None
    """The evaluation's run directory (None in ``validate_eval``)."""
    results: Mapping[str, Any] | None = None
    """The lm-eval results dictionary, as written to ``results.json`` (None in ``validate_eval``);
    read it, extend it only through :meth:`add_results`."""
    added: dict[str, str] = field(default_factory=dict, repr=False)
    """Top-level results keys added by hooks -> the plugin that added each (set by the host)."""
    plugin: str = field(default="", repr=False)
    """The plugin whose hook runs now (set by the host)."""

    def add_results(self, key: str, value: Any) -> None:
        """Add a top-level entry to ``results.json``; a key the results already hold is refused."""
        if self.results is None:
            raise RuntimeError("add_results is for post_eval: validate_eval has no results yet")
        if key in self.results:
            owner = self.added.get(key, "lm-eval")
            raise ValueError(f"post_eval of {self.plugin!r}: results already hold {key!r} (from {owner})")
        self.results[key] = value  # type: ignore[index]
        self.added[key] = self.plugin


# --- paradigms ----------------------------------------------------------------------------------


def _no_resolver(spec: str) -> str:
    raise RuntimeError(f"cannot resolve model {spec!r}: this TrainContext was built without resolve_model")


@dataclass
class TrainContext:
    """Everything a paradigm needs from the harness, and nothing about why it runs.

    Composite paradigms (cold start = SFT then GRPO; mixed = several languages) are built from other
    paradigms through the same interface: look them up with ``context.paradigm(name)`` and run them
    in a ``context.child(...)``.
    """

    model: str
    """Path (or hub id) of the model to start from."""
    languages: list[str]
    """Training languages (harness codes, e.g. ``["de"]`` or ``["en", "zh", "de"]``)."""
    datasets: Mapping[str, Sequence[dict]]
    """Named splits (``"train"``, optionally ``"eval"``) of records in the training schema:
    ``question``, ``solution``, ``answer``, ``lang`` (see harness.data.toy)."""
    output_dir: Path
    """Where checkpoints and the final model go; created by the harness."""
    seed: int = 0
    callbacks: list[Any] = field(default_factory=list)
    """Extra ``transformers.TrainerCallback`` objects (progress, metrics logging)."""
    log: Callable[[dict], None] = lambda record: None
    """Append one metrics record (a dict) to the run's metrics JSONL."""
    resume: bool = False
    """Continue from the last checkpoint under ``output_dir`` if there is one."""
    paradigms: Mapping[str, Paradigm] = field(default_factory=dict)
    """Every registered paradigm, for composites."""
    registry: Any = None
    """The :class:`harness.core.registry.Registry` the command loaded (``harness --registry``);
    never read the default registry path below the CLI."""
    rewards: Mapping[str, Any] = field(default_factory=dict)
    """Every registered reward, by name: pass them on rather than reading a global catalog."""
    resolve_model: Callable[[str], str] = field(default=_no_resolver, repr=False)
    """``resolve_model(spec)``: a model alias, run directory or path, resolved as ``--model`` is
    (with the command's registry). Set by the harness."""

    def paradigm(self, name: str) -> Paradigm:
        from harness.core.errors import unknown

        if name not in self.paradigms:
            raise unknown("paradigm", name, self.paradigms)
        return self.paradigms[name]

    def child(self, stage: str, **changes: Any) -> TrainContext:
        """A context for one stage of a composite, writing under ``output_dir / stage``."""
        out = self.output_dir / stage
        out.mkdir(parents=True, exist_ok=True)
        return dataclasses.replace(self, output_dir=out, **changes)


@dataclass
class TrainResult:
    model_path: Path
    """The final model, loadable with ``from_pretrained`` (what ``harness eval`` uses)."""
    metrics: dict[str, float] = field(default_factory=dict)
    stages: dict[str, TrainResult] = field(default_factory=dict)
    """Results of the stages of a composite paradigm, by stage name."""

    def to_json(self, base: Path) -> dict[str, Any]:
        """As recorded in result.json: paths inside ``base`` (the run directory) are written
        relative to it, so the run can be referenced from any working directory."""
        return {
            "model_path": RunDir(base).relative(self.model_path),
            "metrics": self.metrics,
            "stages": {k: v.to_json(base) for k, v in self.stages.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Path) -> TrainResult:
        """A result as :meth:`to_json` recorded it in ``base``."""
        return cls(model_path=RunDir(base).resolve(data["model_path"]), metrics=dict(data.get("metrics") or {}),
                   stages={k: cls.from_json(v, base) for k, v in (data.get("stages") or {}).items()})


@runtime_checkable
class Paradigm(Protocol):
    """What ``register_paradigms`` accepts: a ``name`` (an identifier), a one-line
    ``description``, a ``config_class`` (a dataclass whose fields, with ``help`` metadata, become
    CLI flags and YAML keys; see :mod:`harness.core.config`) and ``train(context, config)``.
    Subclassing is optional; these members are not."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_class: ClassVar[type]

    def train(self, context: TrainContext, config: Any) -> TrainResult: ...

    # Optional: ``check(config, *, languages, train, seed, model, resolve_model, **_)`` raises a UserError
    # for settings this paradigm cannot train with on this data (too few prompts for one rollout, a
    # missing --sampler-model); called before the run directory is made. Accept ``**_``: arguments
    # are only ever added.


def check_paradigm(obj: Any) -> None:
    """Raise TypeError naming what a registered paradigm lacks."""
    missing = [a for a in ("name", "description", "config_class", "train") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"{obj!r} is not a paradigm: it lacks {', '.join(missing)}")
    if not dataclasses.is_dataclass(obj.config_class):
        raise TypeError(f"paradigm {obj.name!r}: config_class must be a dataclass")
    if not isinstance(obj.name, str) or not obj.name.isidentifier():
        raise TypeError(f"paradigm name {obj.name!r} must be an identifier (letters, digits, _)")


# --- rewards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reward:
    """What ``register_rewards`` accepts: a reward function for RL paradigms, by name."""

    name: str
    """Unique name, used on the command line and in registry.yaml (``--reward accuracy``)."""
    fn: Callable
    """``fn(prompts, completions, **columns) -> list[float | None]`` (TRL's reward signature)."""
    description: str = ""


# --- probes -------------------------------------------------------------------------------------


@runtime_checkable
class Probe(Protocol):
    """What ``register_probes`` accepts. A probe explains an evaluation result rather than
    producing one (does the model answer in the question's language? how far did training move
    its representations?). Subclassing is optional; these members are not.

    ``run(context)`` returns a JSON-able dict: its figures (``per_language`` tables and the
    like), the definition of what it measured, and ``plots``: paths of the PNGs it wrote,
    relative to the run directory. Optional: ``check(options)`` raises a UserError for probe
    options (a mapping, e.g. ``{"drift_basis": "pca", ...}``) it cannot run with; it is called
    before any model loads.
    """

    name: str
    description: str

    def run(self, context: ProbeContext) -> dict: ...


@dataclass
class ProbeOptions:
    """How probes sample and what they probe with: the flags of ``harness probe`` and
    ``harness pick-lang``, the keys of ``harness eval --probe-options`` and of an experiment's
    ``probes:``. These defaults are the only ones (docs/probes.md quotes them)."""

    num_problems: int = option(250, help="Problems per language in the probe set (MGSM: 250, all of it).",
                               source="harness choice: all of MGSM; CPU demos pass --num-problems 4", ge=1)
    num_generations: int = option(8, help="Responses sampled per problem (self-similarity needs 2 or more).",
                                  source="harness choice: 28 pairs per problem for a stable self-similarity", ge=1)
    max_new_tokens: int = option(1024, help="Longest sampled response, in tokens.",
                                 source="harness choice: GRPO's max_completion_length", ge=1)
    temperature: float = option(1.0, help="Sampling temperature (as the RL rollouts sample; above 0: probes sample).",
                                source="harness choice: the paper's RL rollout temperature, 1.0", gt=0)
    top_p: float = option(1.0, help="Nucleus sampling threshold (as the RL rollouts sample).",
                          source="verl default: rollout top_p 1", gt=0, le=1)
    backend: str = option("hf", help="Sampler: hf (transformers), or vllm when installed.",
                          source="harness choice: runs anywhere; experiments pass vllm on GPUs",
                          choices=("hf", "vllm"))
    batch_size: int = option(8, help="Prompts per forward pass or generate call.", source="harness choice: memory only",
                           ge=1)
    seed: int = option(0, help="Seed of sampling and of the problem selection.", source="harness choice: reproducible",
                       ge=0, le=SEED_MAX)
    drift_basis: str = option("pca", help="Drift scatter basis: pca (centred, as the study) or uncentred "
                                          "(SVD; the origin stays the base model).", source="paper",
                               choices=("pca", "uncentred"))
    data: str = option("toy", help="Problems when no eval samples are given: 'toy', 'toy_study' or an MGSM mirror "
                                   "folder.", source="harness choice: offline; probes after an eval use its questions",
                       nonempty=True)


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
    options: ProbeOptions = field(default_factory=lambda: ProbeOptions())
    """How to sample and what to probe with (``harness probe``'s flags, ``--probe-options``)."""
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """Shared between the probes of one run (sampled responses, loaded models)."""

    def plot_path(self, name: str) -> Path:
        """Where a probe writes a plot: ``<run>/probes/<name>``."""
        path = self.run.path / "probes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return self.run.relative(path)


def check_probe(obj: Any) -> None:
    """Raise TypeError naming what a registered probe lacks."""
    missing = [a for a in ("name", "description", "run") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"{obj!r} is not a probe: it lacks {', '.join(missing)}")
    if not callable(obj.run):
        raise TypeError(f"probe {obj.name!r}: run must be callable")
