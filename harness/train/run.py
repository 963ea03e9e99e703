"""What ``harness train`` does between parsing flags and calling a paradigm: resolve the
paradigm, its config, the data and the model (in that order: what the user can get wrong fails
before any model is built or loaded), open the run directory, record what happened.

A run's ``config.yaml`` is itself a valid ``--config``: ``harness train --config
runs/X/config.yaml`` replays run X into a new run directory.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from harness.core.config import (SEED_MAX, as_dict, build_config, check_fields, check_value, coerce, fields,
                                 flag_name, option)
from harness.core.errors import ReportedFailure, UserError, did_you_mean, unknown
from harness.core.hookspecs import TrainContext, TrainResult
from harness.core.literals import checked_languages
from harness.core.plugins import Catalog
from harness.core.registry import Registry
from harness.core.rundir import (CONFIG, MANIFEST, METRICS, RESULT, RunDir, Terminated, check_reuse, hash_records,
                                 run_lifecycle)
from harness.data.corpora import find_corpus, language_counts
from harness.inference import on_cpu
from harness.inference.models import context_length, resolve_model
from harness.train import processes as launch_processes
from harness.train.launch import STRATEGIES
from harness.trainers import common

log = logging.getLogger("harness.train")

# Settings that a --resume may change: they do not change what is trained.
RESUMABLE_CHANGES = {"progress", "logging_steps", "report_to", "log_completions", "progress_every"}


MODES = ("new", "resume", "overwrite")
# The command-line flags of the request's fields, where they are not the field's name.
FLAGS = {"languages": "--lang", "recipe": "--config", "mode": "--resume/--overwrite"}


def request_flag(name: str) -> str:
    return FLAGS.get(name, flag_name(name))


@dataclass
class TrainRequest:
    """What `harness train` was asked (the paradigm's own options are in ``plugin_args``)."""

    plugin: str | None = option(None, help="Paradigm plugin or registry recipe.", nonempty=True)
    languages: list[str] = option(["en"], help="Training language(s): de, or en,zh,de.", nonempty=True)
    model: str = option("tiny", help="Model alias, run directory, path or hub id.", nonempty=True)
    data: str = option("toy", help="Training data: a corpus name, or a JSONL file or folder.", nonempty=True)
    data_dir: str | None = option(None, help="Local data mirror for named corpora.", nonempty=True)
    num_problems: int | None = option(None, help="Problems per language (default: all).", ge=1)
    recipe: Path | None = option(None, help="YAML recipe, or a run's config.yaml to replay it.")
    seed: int = option(0, help="Random seed.", ge=0, le=SEED_MAX)
    run_dir: Path | None = option(None, help="Run directory (default: a new one under runs/).")
    mode: str = option("new", help="How to treat an existing --run-dir: new (refuse), resume or overwrite.",
                       choices=MODES)
    num_processes: int = option(1, help="Training processes on this machine, under accelerate (DDP over gloo on "
                                        "CPUs); batch sizes stay global.", ge=1, le=1024)
    strategy: str = option("multi_gpu", help="With --num-processes: TRL's accelerate config (multi_gpu: DDP; "
                                             "fsdp1, fsdp2; zero1-3: DeepSpeed, GPUs only).", choices=STRATEGIES)
    plugin_args: list[str] = option([], help="The paradigm's own options, as flags.")
    given: set[str] = option(set(), help="The request fields the user set on the command line (they beat a "
                                         "replayed run config).")

    @property
    def resume(self) -> bool:
        return self.mode == "resume"


def parse_languages(values: list[str], registry: Registry) -> list[str]:
    """``["de"]``, ``["en,zh,de"]`` or ``["en", "zh"]`` as a checked list of language codes."""
    langs = [code.strip() for value in values for code in value.split(",") if code.strip()]
    checked_languages(langs, "--lang", registry.languages)
    if not langs:
        raise UserError("--lang needs at least one language")
    return langs


# --- recipes and replayed run configs ------------------------------------------------------------

# Keys of a run's config.yaml that set the request (the rest of a run config is informational).
REQUEST_KEYS = {"plugin": "plugin", "lang": "languages", "model": "model", "data": "data",
                "data_dir": "data_dir", "num_problems": "num_problems", "seed": "seed"}
INFORMATIONAL_KEYS = {"command", "resolved_model", "paradigm_plugin", "harness_version", "paradigm_config_sources"}
REQUEST_TYPES = {"plugin": str | None, "languages": list[str], "model": str, "data": str, "data_dir": str | None,
                 "num_problems": int | None, "seed": int}


def read_recipe(path: Path | None) -> dict:
    if path is None:
        return {}
    from harness.core.files import read_mapping

    return read_mapping(path, "recipe file")


def apply_recipe(req: TrainRequest, recipe: dict, path: Path | None) -> dict:
    """Split ``recipe`` into request fields (set on ``req`` unless given on the command line) and
    paradigm settings (returned). A plain recipe is all settings; a run's config.yaml holds the
    settings under ``paradigm_config`` beside the request."""
    if "paradigm_config" not in recipe:
        return recipe
    for key, value in recipe.items():
        if key == "paradigm_config" or key in INFORMATIONAL_KEYS:
            continue
        if key not in REQUEST_KEYS:
            raise UserError(f"{path}: unknown key {key!r} in a run config"
                            f"{did_you_mean(key, [*REQUEST_KEYS, 'paradigm_config'])}")
        target = REQUEST_KEYS[key]
        if target not in req.given and value is not None:
            where = f"{path}: {key}"
            value = coerce([value] if target == "languages" and isinstance(value, str) else value,
                           REQUEST_TYPES[target], where)
            check_value(TrainRequest.__dataclass_fields__[target], value, where)
            setattr(req, target, value)
    settings = recipe["paradigm_config"] or {}
    if not isinstance(settings, dict):
        raise UserError(f"{path}: paradigm_config must be a mapping of settings")
    return settings


def base_alias(spec: str, registry: Registry, depth: int = 8) -> str:
    """The model alias a run directory was trained from, following runs of runs (``runs/grpo``
    from ``runs/sft`` from ``tiny`` is ``tiny``); ``spec`` itself when it is no run."""
    for _ in range(depth):
        if spec in registry.models:
            return spec
        config = Path(spec).expanduser() / CONFIG
        if not config.is_file():
            return spec
        try:
            parent = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("model")
        except (yaml.YAMLError, UnicodeDecodeError, AttributeError):
            return spec
        if not isinstance(parent, str):
            return spec
        spec = parent  # a run records its --model as given (a relative path: to the cwd it ran in)
    return spec


def model_defaults(registry: Registry, spec: str, config_class: type) -> dict:
    """The model alias's ``train_defaults`` that ``config_class`` has fields for (the embedded
    default sizes its runs for a CPU; real models keep the paradigm's defaults). A run directory
    inherits them from the alias it was trained from."""
    entry = registry.models.get(base_alias(spec, registry)) or {}
    names = {f.name for f in fields(config_class)}
    return {k: v for k, v in (entry.get("train_defaults") or {}).items() if k in names}


def run_config(req: TrainRequest, plugin: str, model: str, config: Any) -> dict:
    """The run's config.yaml: a valid ``--config`` that replays this run."""
    from harness.core.config import config_sources

    return {
        "plugin": req.plugin, "lang": req.languages, "model": req.model, "data": req.data,
        "data_dir": req.data_dir, "num_problems": req.num_problems, "seed": req.seed,
        "paradigm_config": as_dict(config),
        # Where each setting's value comes from (paper, verl default, model alias tiny, user, ...).
        "paradigm_config_sources": config_sources(config),
        "command": "train", "paradigm_plugin": plugin, "resolved_model": model,
    }


def check_resume_settings(run_dir: Path, new: dict) -> None:
    """Refuse a --resume whose settings differ from the run's own in what is trained."""
    old_path = run_dir / CONFIG
    if not old_path.is_file():
        return
    from harness.core.files import read_mapping

    old = read_mapping(old_path, "run config")
    changed = [k for k in ("plugin", "lang", "model", "data", "num_problems", "seed") if old.get(k) != new.get(k)]
    old_settings, new_settings = old.get("paradigm_config") or {}, new["paradigm_config"]
    changed += [k for k in sorted(set(old_settings) | set(new_settings))
                if k not in RESUMABLE_CHANGES and old_settings.get(k) != new_settings.get(k)]
    if changed:
        raise UserError(f"--resume with settings that differ from the run's ({', '.join(changed)}); "
                        f"resume with the same settings (harness train --resume --config {old_path}) "
                        f"or start a new run")


# --- the command ---------------------------------------------------------------------------------


def run_training(req: TrainRequest, *, catalog: Catalog, registry: Registry, console: Console) -> TrainResult:
    """Every check comes before the run directory exists: the request's values, the paradigm's
    settings (their bounds and cross-field rules, in build_config), the reward, the data, the
    paradigm's own checks of them (its ``check`` method, where it has one), the model and the
    lengths it takes; a refused command leaves nothing behind.

    With ``--num-processes N`` the checks count N processes, and the training then runs as N
    processes (:mod:`harness.train.processes`), each of which comes back here."""
    check_fields(req, name=request_flag)
    settings = apply_recipe(req, read_recipe(req.recipe), req.recipe)
    if not req.plugin:
        raise UserError("harness train needs --plugin NAME (see `harness ls paradigms`)")
    plugin, defaults, defaults_where = registry.paradigm_defaults(req.plugin)
    if plugin not in catalog.paradigms:
        raise unknown("plugin", req.plugin, set(catalog.paradigms) | set(registry.paradigms))
    paradigm = catalog.paradigms[plugin]
    languages = parse_languages(req.languages, registry)
    req.languages = languages
    processes = launch_processes.check_processes(req.num_processes, req.strategy, cpu=on_cpu())
    # The model's sizes beat the recipe's paper-scale defaults; a recipe file and flags beat both (and
    # own what they state, so a micro-batch the user gave is never the alias's to fit).
    # build_config checks each value's bounds and the class's cross-field rules (its check()), the
    # batch arithmetic over the processes that will train.
    with common.planned_processes(processes):
        config = build_config(
            paradigm.config_class, defaults, model_defaults(registry, req.model, paradigm.config_class), settings,
            args=req.plugin_args,
            where=[defaults_where, f"train_defaults of model {req.model!r}", str(req.recipe or "")],
        )
    reward = getattr(config, "reward", None)
    if isinstance(reward, str) and catalog.rewards and reward not in catalog.rewards:
        raise unknown("reward", reward, catalog.rewards)
    if req.data_dir and not Path(req.data_dir).expanduser().is_dir():
        raise UserError(f"--data-dir {req.data_dir} is not a directory")
    corpus = find_corpus(req.data, catalog.corpora)
    train = corpus.load(languages, split="train", n=req.num_problems, seed=req.seed, data_dir=req.data_dir)
    heldout = corpus.load(languages, split="test", seed=req.seed, data_dir=req.data_dir) if corpus.held_out else []
    paradigm_check = getattr(paradigm, "check", None)
    if callable(paradigm_check):  # a paradigm's checks of its settings against the data (optional)
        paradigm_check(config, languages=languages, train=train, seed=req.seed, model=req.model,
                       resolve_model=lambda spec: resolve_model(spec, registry))
    if req.resume and req.run_dir is not None:
        # The run's model reference is compared as given, before resolving (which may build a model).
        check_resume_settings(req.run_dir, run_config(req, plugin, "", config))
    if common.is_main_process():  # (the other ranks of a launch would find rank 0's run directory)
        check_reuse(req.run_dir, req.mode)  # before the model is built or loaded
    model = resolve_model(req.model, registry)
    check_lengths(config, model)
    if processes > 1 and common.launched_processes() == 1:
        return _launch(req, processes, registry=registry, console=console)

    if not common.is_main_process():  # a rank of a launch other than 0: it trains, rank 0 records
        _wait_for_rank_zero()
        context = _context(req, catalog, registry, model, languages, train, heldout, Path(req.run_dir), log=None)
        return paradigm.train(context, config)
    with run_lifecycle(
        "train", f"{req.plugin}-{'-'.join(languages)}", path=req.run_dir, mode=req.mode,
        config=run_config(req, plugin, model, config), seed=req.seed,
        data_hashes={"train": hash_records(train), "heldout": hash_records(heldout)},
        language_counts={"train": language_counts(train), "heldout": language_counts(heldout) if heldout else {}},
        # Readings of the study that change what a run is, kept where a reader of runs looks first.
        **{k: getattr(config, k) for k in ("mixture", "sampler_model") if hasattr(config, k)},
        **({"processes": processes, "strategy": req.strategy} if processes > 1 else {}),
    ) as run:
        if processes > 1:
            _wait_for_rank_zero()  # the run directory exists: the other ranks may write checkpoints into it
        context = _context(req, catalog, registry, model, languages, train, heldout, run.path, log=run.append_metrics)
        console.print(f"[bold]train[/] {req.plugin} on {', '.join(languages)} from {_shown(req.model, model)} "
                      f"→ {run.path}" + (f" ({processes} processes)" if processes > 1 else ""),
                      highlight=False, soft_wrap=True)
        log.info("training %s (plugin %s) on %s from %s", req.plugin, plugin, languages, model)
        result = paradigm.train(context, config)
        run.write_json(RESULT, result.to_json(base=run.path))
        _plot_curves(run)
    _print_result(result, console)
    return result


def _context(req: TrainRequest, catalog: Catalog, registry: Registry, model: str, languages: list[str],
             train: list[dict], heldout: list[dict], output_dir: Path, log) -> TrainContext:
    return TrainContext(
        model=model, languages=languages, datasets={"train": train, "eval": heldout},
        output_dir=output_dir, seed=req.seed, log=log or (lambda record: None), resume=req.resume,
        paradigms=catalog.paradigms, registry=registry, rewards=catalog.rewards,
        resolve_model=lambda spec: resolve_model(spec, registry),
    )


def _print_result(result: TrainResult, console: Console) -> None:
    console.print(f"[green]done[/] final model: {result.model_path}", highlight=False, soft_wrap=True)
    if result.metrics:
        console.print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in result.metrics.items()), highlight=False, soft_wrap=True)


def _wait_for_rank_zero() -> None:
    """The barrier where the ranks of a launch meet once rank 0 has opened the run directory (it
    refuses a new run directory that holds anything, such as another rank's first checkpoint).
    It starts the process group as the trainer's Accelerator will find it."""
    from accelerate import PartialState

    PartialState(cpu=on_cpu()).wait_for_everyone()


def worker_flags(req: TrainRequest, run_dir: Path) -> list[str]:
    """The request as ``harness train`` flags, for each process of a launch: every field given
    (the recipe's request keys were applied already), the run directory named."""
    flags = ["--plugin", req.plugin, "--lang", ",".join(req.languages), "--model", req.model, "--data", req.data,
             "--seed", str(req.seed), "--run-dir", str(run_dir), "--num-processes", str(req.num_processes),
             "--strategy", req.strategy]
    flags += ["--data-dir", req.data_dir] if req.data_dir else []
    flags += ["--num-problems", str(req.num_problems)] if req.num_problems is not None else []
    flags += ["--config", str(req.recipe)] if req.recipe else []
    flags += {"resume": ["--resume"], "overwrite": ["--overwrite"]}.get(req.mode, [])
    return [*flags, *req.plugin_args]


def _launch(req: TrainRequest, processes: int, *, registry: Registry, console: Console) -> TrainResult:
    """Run the training as ``processes`` processes and answer for them: the run's result when it
    finished, its error or interruption otherwise (from the manifest rank 0 wrote)."""
    from harness.train.launch import new_run_dir

    run_dir = req.run_dir or new_run_dir(req.plugin, ",".join(req.languages))
    argv, env = launch_processes.launch_command(worker_flags(req, run_dir), processes=processes,
                                                strategy=req.strategy, cpu=on_cpu(), registry=registry.path)
    console.print(f"[bold]launch[/] {processes} processes ({req.strategy}) → {run_dir}", highlight=False,
                  soft_wrap=True)
    log.info("launching: %s", " ".join(argv))
    code, stop = launch_processes.run_launch(argv, env)
    manifest = RunDir(run_dir).manifest() if (run_dir / MANIFEST).is_file() else {}
    status = manifest.get("status")
    if status == "finished":
        return read_result(run_dir)  # rank 0 printed it
    if status == "interrupted" or stop is not None:
        raise Terminated(getattr(signal, manifest.get("signal") or "", None) or stop or signal.SIGTERM)
    error = manifest.get("error") or f"the training processes exited with code {code} before rank 0 opened the run"
    # A refusal inside the training (a UserError, recorded as such) keeps its exit code 2.
    raise ReportedFailure(f"training failed: {error} (run directory {run_dir})",
                          UserError.exit_code if error.startswith(f"{UserError.__name__}:") else code)


def read_result(run_dir: Path) -> TrainResult:
    """The TrainResult a finished run recorded (result.json: paths relative to the run)."""
    from harness.core.files import read_json

    return TrainResult.from_json(read_json(run_dir / RESULT, "run result"), run_dir)


def check_lengths(config: Any, model: str) -> None:
    """The sequences a paradigm's settings make (``sequence_lengths()`` of its config) fit the
    model's context, where its config says it (:func:`harness.inference.models.context_length`)."""
    lengths = getattr(config, "sequence_lengths", None)
    found = context_length(model) if callable(lengths) else None
    if found is None:
        return
    limit, field_name = found
    for flags, length in lengths().items():
        if length > limit:
            raise UserError(f"{flags} ({length} tokens) must be at most the model's context of {limit} tokens "
                            f"({field_name} of {model})")


def _shown(spec: str, resolved: str) -> str:
    return spec if spec == resolved else f"{spec} ({resolved})"


def _plot_curves(run: RunDir) -> None:
    """training_curves.png from the metrics log; a plot is a convenience, never a failure."""
    from harness.trainers.curves import plot_training_curves

    try:
        plot_training_curves(run.path / METRICS, run.path / "training_curves.png")
    except Exception as exc:  # noqa: BLE001 - a broken plot must not lose a finished training
        log.warning("no training curves: %s", exc)
