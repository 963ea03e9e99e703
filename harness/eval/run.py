"""``harness eval``: run lm-eval on the harness's task families and keep everything in a run dir.

One model is built once (transformers or vLLM) and evaluated ``num_repeats`` times: one greedy run
by default; with ``num_repeats > 1``, sampling runs with different seeds, reported as mean and
spread (sample standard deviation) per task and language, as the study reports MGSM (mean of 6).

The run directory holds::

    config.yaml, manifest.json     resolved options, versions, data hashes
    results.json                   lm-eval's layout; each metric is the mean over runs, with
                                   "<metric>_std,<filter>" and "<metric>_runs,<filter>" beside it;
                                   and what post-eval hooks added ("gen", "probes")
    runs/run<i>.json               each run's own lm-eval results
    samples_<task>[_run<i>].jsonl  per-document prompts, responses, metrics, extracted answers
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UserError, unknown
from harness.core.hookspecs import EvalContext
from harness.core.plugins import fire_eval_hook
from harness.core.rundir import RunDir, hash_records
from harness.eval.lm import BACKENDS, build_lm
from harness.eval.results import combine_runs, write_samples

log = logging.getLogger("harness.eval.run")


@dataclass
class EvalRequest:
    model: str = "tiny"
    tasks: list[str] = field(default_factory=lambda: ["mgsm_xling"])
    backend: str = "hf"
    limit: int | None = None
    data_dir: str | None = None
    num_repeats: int = 1
    max_gen_toks: int | None = None
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int = 0
    batch_size: str = "64"
    max_model_len: int | None = None
    consistency: bool = False
    base: str | None = None
    """The base model's evaluation, for Gen (the Gen plugin's ``post_eval``)."""
    run_dir: Path | None = None
    gen_kwargs: str | None = None
    """Extra lm-eval generation kwargs, ``key=value,...`` (applied last)."""
    probes: str | None = None
    """Probes to run after the evaluation (the probes plugin's ``post_eval``), ``a,b``."""
    probe_options: dict[str, Any] = field(default_factory=dict)
    """Settings of those probes (``num_generations``, ``max_new_tokens``, ``num_problems``, ...)."""
    mode: str = "new"
    """How to treat an existing --run-dir: new (refuse), resume (keep finished repeats) or overwrite."""
    tensor_parallel_size: int = 1
    """vLLM: GPUs one model is split over."""
    data_parallel_size: int = 1
    """vLLM: model replicas (data-parallel engines)."""
    model_args: str | None = None
    """lm-eval-style ``key=value,...`` passed to the backend over the harness's own arguments."""


# --- tasks ---------------------------------------------------------------------------------------


def resolve_task_names(names: Sequence[str], families: Sequence[str]) -> list[str]:
    """Task families, or single ``<family>_<lang>`` tasks of a family; unknown names are errors."""
    from harness.eval.tasks import tasks_dir

    root, resolved = tasks_dir(), []
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or ".." in name:
            # Names, not paths: a user's own task folder comes in through lm-eval's --include_path.
            raise UserError(f"--tasks takes task names (see `harness ls tasks`), got {name!r}")
        if name in families or any((root / f / f"{name}.yaml").is_file() for f in families):
            resolved.append(name)
        else:
            raise unknown("task", name, families)
    return resolved


def task_manager(data_dir: str | None, consistency: bool):
    """lm-eval's TaskManager over our task folders only (its own thousands of YAMLs take ~30 s)."""
    from lm_eval.tasks import TaskManager

    from harness.eval.tasks import tasks_dir

    metadata: dict[str, Any] = {"consistency": consistency}
    if data_dir:
        metadata["data_dir"] = str(Path(data_dir).expanduser().resolve())
    return TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata=metadata)


def data_hashes(manager, names: Sequence[str]) -> dict[str, str]:
    """A hash of every task's documents (provenance in the manifest)."""
    loaded = manager.load(list(names))
    return {name: hash_records(dict(doc) for doc in task.eval_docs) for name, task in sorted(loaded["tasks"].items())}


# --- running -------------------------------------------------------------------------------------


def generation_overrides(request: EvalRequest) -> dict[str, Any]:
    """Generation kwargs laid over every task's own: sampling for repeats, the token budget, extras."""
    from lm_eval.utils import simple_parse_args_string

    gen: dict[str, Any] = {}
    if request.num_repeats > 1:
        gen.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
    if request.max_gen_toks is not None:
        gen["max_gen_toks"] = int(request.max_gen_toks)
    if request.gen_kwargs:
        gen.update(simple_parse_args_string(request.gen_kwargs))
    return gen


class _DropNoise(logging.Filter):
    """lm-eval warns once per task that custom datasets take --metadata; we pass it ourselves."""

    # What lm-eval says about choices the harness made on purpose (custom loaders, gen kwargs).
    MESSAGES = ("Custom kwargs can be passed", "specified through cli, these settings will update")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(m in message for m in self.MESSAGES)


_NOISE = _DropNoise()


def _quiet_lm_eval() -> None:
    from harness.core.quiet import quiet_git_hash, without_task_bars

    quiet_git_hash()
    without_task_bars()
    for name in ("lm_eval", "lm_eval.api.task", "lm_eval.evaluator"):
        logger = logging.getLogger(name)
        if _NOISE not in logger.filters:
            logger.addFilter(_NOISE)


def run_once(lm, manager, names: Sequence[str], request: EvalRequest, run: int) -> dict:
    """One lm-eval pass over the tasks; seeds differ per run. (vLLM takes its seed once, when the
    engine starts; its sampler's state runs on from one run to the next, so runs differ there too.)"""
    import lm_eval

    seed = request.seed + run
    return lm_eval.simple_evaluate(
        model=lm, tasks=list(names), task_manager=manager, limit=request.limit,
        gen_kwargs=generation_overrides(request) or None, apply_chat_template=True, fewshot_as_multiturn=True,
        log_samples=True, bootstrap_iters=1000, random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
        fewshot_random_seed=request.seed,
    )


def run_eval(request: EvalRequest, registry, catalog, *,
             on_run: Callable[[int, int], None] | None = None) -> tuple[RunDir, dict]:
    """Evaluate ``request.model`` on ``request.tasks``; returns the run dir and its results.

    Everything a user can get wrong (names, paths, data) fails before the run directory exists.
    """
    from harness.data.sources import data_dir as resolve_data_dir
    from harness.inference.models import resolve_model, trained_with_consistency_prompt

    if request.backend not in BACKENDS:
        raise unknown("backend", request.backend, BACKENDS)
    if request.num_repeats < 1:
        raise UserError("--num-repeats must be at least 1")
    names = resolve_task_names(request.tasks, list(registry.tasks))
    model_path = resolve_model(request.model, registry)
    data_dir = resolve_data_dir(request.data_dir)
    request.data_dir = str(data_dir) if data_dir else None
    if not request.consistency and trained_with_consistency_prompt(request.model):
        log.warning("%s was trained with the consistency prompt: evaluating with it too", request.model)
        request.consistency = True
    hooks = EvalContext(settings={**asdict(request), "model_path": model_path, "tasks": names},
                        catalog=catalog, registry=registry)
    fire_eval_hook("validate_eval", hooks)  # plugins refuse what they cannot work with (--base, --probes)
    _quiet_lm_eval()  # before the tasks load: they warn as they load
    manager = task_manager(request.data_dir, request.consistency)
    hashes = data_hashes(manager, names)

    from harness.core.rundir import check_reuse, run_lifecycle

    check_reuse(request.run_dir, request.mode)
    with run_lifecycle("eval", f"{Path(request.model).name}-{'+'.join(names)}", path=request.run_dir,
                       mode=request.mode, config=eval_config(request, model_path, names), seed=request.seed,
                       data_hashes=hashes, model=request.model, model_path=model_path) as run:
        summary = _evaluate(run, manager, names, model_path, request, on_run)
        run.write_json("results.json", summary)
        _post_eval(dataclasses.replace(hooks, run=run, results=summary))
    return run, summary


# Keys of an eval run's config.yaml that are records, not settings (ignored on replay).
INFORMATIONAL_KEYS = {"command", "model_path", "run_dir", "mode"}


def eval_config(request: EvalRequest, model_path: str, names: Sequence[str]) -> dict:
    """The run's config.yaml: a valid ``harness eval --config`` that replays the evaluation."""
    config = {k: v for k, v in asdict(request).items() if k not in INFORMATIONAL_KEYS}
    return {**config, "tasks": list(names), "command": "eval", "model_path": model_path}


def request_from_config(path: Path, overrides: dict[str, Any]) -> EvalRequest:
    """An EvalRequest from a run's config.yaml (or any mapping of its fields), then ``overrides``."""
    from harness.core.files import read_mapping

    data = read_mapping(path, "config file")
    names = {f for f in EvalRequest.__dataclass_fields__}
    values = {}
    for key, value in data.items():
        if key in INFORMATIONAL_KEYS:
            continue
        if key not in names:
            from harness.core.errors import did_you_mean

            raise UserError(f"{path}: unknown eval setting {key!r}{did_you_mean(key, names)}")
        values[key] = value
    if isinstance(values.get("tasks"), str):
        values["tasks"] = [t.strip() for t in values["tasks"].split(",") if t.strip()]
    values.update(overrides)
    return EvalRequest(**values)


def _post_eval(context: EvalContext) -> None:
    """Fire ``post_eval`` (Gen, probes, third-party steps); each plugin's answer is stored under
    ``post_eval``, then results.json is rewritten when a hook added anything."""
    answers = fire_eval_hook("post_eval", context)
    if answers:
        context.results["post_eval"] = answers
    if answers or context.added:
        context.run.write_json("results.json", context.results)


def _evaluate(run: RunDir, manager, names: Sequence[str], model_path: str, request: EvalRequest,
              on_run: Callable[[int, int], None] | None) -> dict:
    """Build the model once, run lm-eval ``num_repeats`` times, keep each run, combine them."""
    log.info("eval %s (%s) on %s with %s, %d run(s)", request.model, model_path, ",".join(names),
             request.backend, request.num_repeats)
    lm, load_seconds, per_run, run_seconds = None, 0.0, [], []
    for i in range(request.num_repeats):
        if on_run:
            on_run(i, request.num_repeats)
        done = run / f"runs/run{i}.json"
        if request.mode == "resume" and done.is_file():  # written after its samples: this repeat is whole
            log.info("run %d/%d kept from before the resume", i + 1, request.num_repeats)
            per_run.append(json.loads(done.read_text(encoding="utf-8")))
            run_seconds.append(0.0)
            continue
        if lm is None:
            started = time.perf_counter()
            from harness.core.quiet import without_request_bars

            lm = without_request_bars(build_lm(request.backend, model_path, request))
            load_seconds = time.perf_counter() - started
        began = time.perf_counter()
        results = run_once(lm, manager, names, request, i)
        run_seconds.append(time.perf_counter() - began)
        log.info("run %d/%d done in %.1f s", i + 1, request.num_repeats, run_seconds[-1])
        write_samples(run, results.pop("samples", {}), i if request.num_repeats > 1 else None)
        run.write_json(f"runs/run{i}.json", results)
        per_run.append(results)
    summary = combine_runs(per_run)
    summary["harness"] = {"model": request.model, "model_path": model_path, "backend": request.backend,
                          "num_repeats": request.num_repeats, "limit": request.limit,
                          "gen_kwargs": generation_overrides(request), "load_seconds": load_seconds,
                          "run_seconds": run_seconds}
    return summary
