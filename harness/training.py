"""What ``harness train`` does between parsing flags and calling a paradigm: resolve the
paradigm, its config, the model and the data; open the run directory; record what happened."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console

from harness.config import as_dict, build_config
from harness.corpora import language_counts, load_corpus
from harness.errors import UserError, unknown
from harness.models import resolve_model
from harness.paradigm import TrainContext, TrainResult
from harness.plugin_manager import Catalog
from harness.registry import Registry
from harness.rundir import RunDir, hash_records

log = logging.getLogger("harness.train")


@dataclass
class TrainRequest:
    plugin: str
    languages: list[str]
    model: str = "tiny"
    data: str = "toy"
    num_problems: int | None = None
    recipe: Path | None = None
    seed: int = 0
    run_dir: Path | None = None
    resume: bool = False
    plugin_args: list[str] = field(default_factory=list)


def parse_languages(values: list[str], registry: Registry) -> list[str]:
    """``["de"]``, ``["en,zh,de"]`` or ``["en", "zh"]`` as a checked list of language codes."""
    langs = [code.strip() for value in values for code in value.split(",") if code.strip()]
    for code in langs:
        if code not in registry.languages:
            raise unknown("language", code, registry.languages)
    if len(set(langs)) != len(langs):
        raise UserError(f"--lang lists a language twice: {', '.join(langs)}")
    if not langs:
        raise UserError("--lang needs at least one language")
    return langs


def _read_recipe(path: Path | None) -> dict:
    if path is None:
        return {}
    if not path.is_file():
        raise UserError(f"recipe file {path} does not exist")
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(recipe, dict):
        raise UserError(f"{path}: a recipe must be a mapping of settings")
    return recipe


def run_training(req: TrainRequest, *, catalog: Catalog, registry: Registry, console: Console) -> TrainResult:
    plugin, defaults, defaults_where = registry.paradigm_defaults(req.plugin)
    if plugin not in catalog.paradigms:
        raise unknown("plugin", req.plugin, set(catalog.paradigms) | set(registry.paradigms))
    paradigm = catalog.paradigms[plugin]
    languages = parse_languages(req.languages, registry)
    config = build_config(
        paradigm.config_class, defaults, _read_recipe(req.recipe), args=req.plugin_args,
        where=[defaults_where, str(req.recipe or "")],
    )
    model = resolve_model(req.model, registry)
    train = load_corpus(req.data, languages, split="train", n=req.num_problems, seed=req.seed)
    has_heldout = req.data in {"toy", "toy_easy"}
    heldout = load_corpus(req.data, languages, split="test", n=None, seed=req.seed) if has_heldout else []

    if req.resume and not (req.run_dir and (req.run_dir / "manifest.json").exists()):
        raise UserError(f"--resume: {req.run_dir} is not a run directory")
    run = RunDir(req.run_dir) if req.resume else RunDir.create(
        "train", f"{req.plugin}-{'-'.join(languages)}", path=req.run_dir)
    (run.path / "logs").mkdir(parents=True, exist_ok=True)
    run.attach_log()
    run.write_config({
        "command": "train", "paradigm": req.plugin, "plugin": plugin, "languages": languages,
        "model": req.model, "resolved_model": model, "data": req.data, "seed": req.seed,
        "paradigm_config": as_dict(config),
    })
    if not req.resume:
        run.write_manifest(
            command="train", seed=req.seed,
            data_hashes={"train": hash_records(train), "heldout": hash_records(heldout)},
            language_counts={"train": language_counts(train), "heldout": language_counts(heldout) if heldout else {}},
        )
    context = TrainContext(
        model=model, languages=languages, datasets={"train": train, "eval": heldout},
        output_dir=run.path, seed=req.seed, log=run.append_metrics, resume=req.resume,
        paradigms=catalog.paradigms,
    )
    console.print(f"[bold]train[/] {req.plugin} on {', '.join(languages)} from {model} → {run.path}", highlight=False)
    log.info("training %s (plugin %s) on %s from %s", req.plugin, plugin, languages, model)
    try:
        result = paradigm.train(context, config)
    except KeyboardInterrupt:
        run.finish("interrupted")
        raise
    except BaseException as exc:
        run.finish("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    run.write_json("result.json", result.to_json())
    run.finish("finished", model_path=str(result.model_path))
    console.print(f"[green]done[/] final model: {result.model_path}", highlight=False)
    if result.metrics:
        console.print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.metrics.items()))
    return result
