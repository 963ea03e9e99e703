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

from harness.core.config import SEED_MAX, check_fields, option
from harness.core.errors import UserError, unknown
from harness.core.hookspecs import EvalContext
from harness.core.plugins import fire_eval_hook
from harness.core.rundir import RunDir, hash_records
from harness.eval.arguments import (
    BUDGET_KEYS, check_gen_kwargs, check_model_args, check_parallel, parse_gen_kwargs, parse_model_args,
)
from harness.eval.lm import BACKENDS, build_lm
from harness.eval.results import combine_runs, write_samples

log = logging.getLogger("harness.eval.run")


MODES = ("new", "resume", "overwrite")
"""How an evaluation treats an existing --run-dir: refuse it, keep its finished repeats, or start again."""


@dataclass
class EvalRequest:
    """The settings of ``harness eval`` (its flags; the keys of an eval run's config.yaml), with the
    values each accepts; :func:`run_eval` checks them all (``check_fields``) before anything loads."""

    model: str = option("tiny", help="Model alias, run directory, path or hub id.",
                        source="harness choice: the offline tiny model runs anywhere", nonempty=True)
    tasks: list[str] = option(["mgsm_xling"], help="Task families or single tasks (mgsm_xling, mgsm_xling_de).",
                              source="harness choice: the study's main benchmark", nonempty=True)
    backend: str = option("hf", help="Inference backend: hf (transformers) or vllm.",
                          source="harness choice: runs anywhere; GPUs pass vllm", choices=BACKENDS)
    limit: int | None = option(None, help="Evaluate only the first N problems of each task.",
                               source="harness choice: every problem", ge=1)
    data_dir: str | None = option(None, help="Local data mirror (default: $HARNESS_DATA_DIR, else the HF hub).",
                                  source="harness choice: the environment's mirror, else the hub", nonempty=True)
    num_repeats: int = option(1, help="Sampling runs with different seeds (1: one greedy run).",
                              source="harness choice: one greedy run; the study's MGSM is a mean of 6 (-k 6)", ge=1)
    max_gen_toks: int | None = option(
        None, help="Token budget per response (default: each task's own). It must leave room for the prompt in "
                   "the model's context (--max-model-len, else its config's max_position_embeddings): a larger "
                   "budget is refused before anything loads, with either backend.",
        source="harness choice: the task's own budget", ge=1)
    temperature: float = option(0.6, help="Sampling temperature when --num-repeats > 1 (then above 0).",
                                source="harness choice: a moderate sampling temperature for repeated runs", ge=0)
    top_p: float = option(0.95, help="Nucleus sampling when --num-repeats > 1.",
                          source="harness choice: with temperature 0.6, a common sampling setting", gt=0, le=1)
    seed: int = option(0, help="Seed of the first run (run i uses seed + i).", source="harness choice: reproducible",
                       ge=0, le=SEED_MAX)
    batch_size: str = option("64", help="hf backend: prompts generated together (an integer or 'auto'; 64 is "
                                        "about twice as fast as 8 for small models on a CPU: bench/bench_eval.py).",
                             source="harness choice: bench/bench_eval.py", nonempty=True)
    max_model_len: int | None = option(None, help="Context length (prompt + response) to allocate.",
                                       source="harness choice: the model's own context length", ge=1)
    consistency: bool = option(False, help="Add the reason-in-the-question's-language instruction.",
                               source="harness choice: the study's plain prompt; on for models trained with it")
    base: str | None = option(None, help="Base model's eval run or results file: adds Gen to the results.",
                              source="harness choice: Gen only when asked", nonempty=True)
    """The base model's evaluation, for Gen (the Gen plugin's ``post_eval``)."""
    run_dir: Path | None = option(None, help="Run directory (default: a new one under runs/).",
                                  source="harness choice: a new directory under runs/")
    gen_kwargs: str | None = option(None, help="Extra generation kwargs, key=value,... (lm-eval's; applied last): "
                                               "temperature, top_p, top_k, min_p, do_sample, max_gen_toks, until, ...",
                                    source="harness choice: the tasks' own")
    """Extra lm-eval generation kwargs, ``key=value,...`` (applied last)."""
    probes: str | None = option(None, help="Probes to run afterwards, a,b (see `harness ls probes`).",
                                source="harness choice: none unless asked", nonempty=True)
    """Probes to run after the evaluation (the probes plugin's ``post_eval``), ``a,b``."""
    probe_options: dict[str, Any] = option({}, help="Probe settings, key=value,... (num_generations, "
                                                    "max_new_tokens, num_problems, ...).",
                                           source="harness choice: the probes' own defaults")
    """Settings of those probes (``num_generations``, ``max_new_tokens``, ``num_problems``, ...)."""
    mode: str = option("new", help="An existing --run-dir: refuse it (new), keep its finished repeats (resume) or "
                                   "start it again (overwrite).", source="harness choice: never overwrite silently",
                       choices=MODES)
    """How to treat an existing --run-dir: new (refuse), resume (keep finished repeats) or overwrite."""
    tensor_parallel_size: int = option(1, help="vLLM: GPUs one model is split over.",
                                       source="harness choice: one GPU", ge=1)
    """vLLM: GPUs one model is split over."""
    data_parallel_size: int = option(1, help="vLLM: model replicas, one per GPU group.",
                                     source="harness choice: one replica", ge=1)
    """vLLM: model replicas (data-parallel engines)."""
    model_args: str | None = option(None, help="Backend arguments, lm-eval style: dtype=bfloat16,revision=main,"
                                               "gpu_memory_utilization=0.9,max_model_len=4096.",
                                    source="harness choice: the harness's own arguments")
    """lm-eval-style ``key=value,...`` passed to the backend over the harness's own arguments."""

    def check(self) -> None:
        """The rules between settings (``check_fields`` checks each setting's own bounds first)."""
        if not self.tasks:
            raise UserError("--tasks needs at least one task family")
        size = str(self.batch_size).strip()
        if not (size == "auto" or size.isdigit() and int(size) >= 1):
            raise UserError(f"--batch-size must be a positive integer or 'auto', got {self.batch_size!r}")
        if self.num_repeats > 1 and self.temperature == 0:
            raise UserError("--num-repeats above 1 samples: --temperature must be above 0 "
                            "(at 0 every run is the same greedy run)")
        if self.seed + self.num_repeats - 1 > SEED_MAX:
            raise UserError(f"--seed {self.seed} with --num-repeats {self.num_repeats}: run i uses seed + i, "
                            f"which must stay at most {SEED_MAX}")
        check_parallel(self.backend, self.tensor_parallel_size, self.data_parallel_size)
        parse_gen_kwargs(self.gen_kwargs)
        parse_model_args(self.model_args)


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


def load_tasks(manager, names: Sequence[str]) -> dict[str, Any]:
    """lm-eval's task objects, by name (loading reads their documents: a missing file fails here)."""
    return dict(sorted(manager.load(list(names))["tasks"].items()))


def data_hashes(manager, names: Sequence[str], tasks: dict[str, Any] | None = None) -> dict[str, str]:
    """A hash of every task's documents (provenance in the manifest)."""
    loaded = tasks if tasks is not None else load_tasks(manager, names)
    return {name: hash_records(dict(doc) for doc in task.eval_docs) for name, task in sorted(loaded.items())}


# --- running -------------------------------------------------------------------------------------


def generation_overrides(request: EvalRequest) -> dict[str, Any]:
    """Generation kwargs laid over every task's own: sampling for repeats, the token budget, extras."""
    gen: dict[str, Any] = {}
    if request.num_repeats > 1:
        gen.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
    if request.max_gen_toks is not None:
        gen["max_gen_toks"] = int(request.max_gen_toks)
    if request.gen_kwargs:
        gen.update(parse_gen_kwargs(request.gen_kwargs))
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

    check_fields(request)  # every setting within its bounds, and the rules between them
    names = resolve_task_names(request.tasks, list(registry.tasks))
    model_path = resolve_model(request.model, registry)
    check_model_args(request.backend, request.model_args)
    check_gen_kwargs(request.backend, request.gen_kwargs)
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
    tasks = load_tasks(manager, names)
    hashes = data_hashes(manager, names, tasks)
    budgets = generation_budgets(tasks, request)
    check_context(budgets, context_limit(request, model_path), request)

    from harness.core.rundir import check_reuse, run_lifecycle

    check_reuse(request.run_dir, request.mode)
    # The model loads before the run directory exists: a model or tokenizer the library cannot
    # load, or a context it reports too short, leaves nothing behind.
    lm, load_seconds = None, 0.0
    if _runs_left(request):
        lm, load_seconds = load_model(request, model_path)
        check_context(budgets, loaded_context(lm), request)
    with run_lifecycle("eval", f"{Path(request.model).name}-{'+'.join(names)}", path=request.run_dir,
                       mode=request.mode, config=eval_config(request, model_path, names), seed=request.seed,
                       data_hashes=hashes, model=request.model, model_path=model_path) as run:
        summary = _evaluate(run, manager, names, model_path, request, on_run, lm, load_seconds)
        run.write_json("results.json", summary)
        _post_eval(dataclasses.replace(hooks, run=run, results=summary))
    return run, summary


# --- the generation budget against the model's context ---------------------------------------------

DEFAULT_BUDGET = 256
"""lm-eval's budget for a task that names none (HFLM's and VLLM's ``max_gen_toks``)."""


def generation_budgets(tasks: dict[str, Any], request: EvalRequest) -> dict[str, tuple[int, str]]:
    """Per generating task, the tokens it may generate and what set them (``--max-gen-toks``,
    ``--gen-kwargs max_new_tokens``, the task's own): lm-eval lays the overrides over the task's
    generation kwargs and takes the first of :data:`BUDGET_KEYS` present."""
    overrides = generation_overrides(request)
    extra = parse_gen_kwargs(request.gen_kwargs)
    budgets = {}
    for name, task in tasks.items():
        config = getattr(task, "config", None)
        if getattr(config, "output_type", "generate_until") != "generate_until":
            continue
        own = dict(getattr(config, "generation_kwargs", None) or {})
        merged = {**own, **overrides}
        key = next((k for k in BUDGET_KEYS if merged.get(k) is not None), None)
        if key is None:
            budgets[name] = (DEFAULT_BUDGET, f"lm-eval's default budget for task {name}")
        elif key in extra:
            budgets[name] = (int(merged[key]), f"--gen-kwargs {key}={merged[key]}")
        elif key in overrides:
            budgets[name] = (int(merged[key]), f"--max-gen-toks {merged[key]}")
        else:
            budgets[name] = (int(merged[key]), f"task {name}'s budget of {merged[key]} tokens")
    return budgets


def context_limit(request: EvalRequest, model_path: str) -> tuple[int, str] | None:
    """The context the backend will give the model, and where it comes from, as far as known
    before loading: ``--model-args`` (hf: max_length; vllm: max_model_len), ``--max-model-len``,
    else the model's config (:func:`harness.inference.models.context_length`)."""
    from harness.inference.models import context_length

    extra = parse_model_args(request.model_args)
    keys = ("max_length",) if request.backend == "hf" else ("max_model_len", "max_length")
    for key in keys:
        if extra.get(key) is not None:
            return int(extra[key]), f"--model-args {key}"
    if request.max_model_len is not None:
        return request.max_model_len, "--max-model-len"
    found = context_length(model_path)
    return (found[0], f"{found[1]} in its config.json") if found else None


def loaded_context(lm) -> tuple[int, str] | None:
    """The context the loaded model reports (lm-eval's HFLM and VLLM ``max_length``), or None."""
    try:
        value = getattr(lm, "max_length", None)
    except Exception:  # noqa: BLE001 - a property of a model we did not write
        return None
    return (value, "as the loaded model reports it") if isinstance(value, int) and value > 0 else None


def check_context(budgets: dict[str, tuple[int, str]], limit: tuple[int, str] | None, request: EvalRequest) -> None:
    """Refuse a generation budget that leaves no room for the prompt: lm-eval (with either backend)
    keeps ``context - budget`` tokens of the prompt and stops on an AssertionError below 1. The
    budget is not capped: it is a setting of the measurement (Gen compares runs by it)."""
    if limit is None:
        return
    context, where = limit
    for _name, (budget, source) in budgets.items():
        if budget >= context:
            longer = " or a longer --max-model-len" if where in ("--max-model-len", "--model-args max_length",
                                                                  "--model-args max_model_len") else ""
            raise UserError(f"{source} leaves no room for the prompt in the context of {request.model} "
                            f"({context} tokens, {where}): give --max-gen-toks below {context}{longer}")


# --- loading the model ---------------------------------------------------------------------------


def _runs_left(request: EvalRequest) -> bool:
    """Whether a repeat still has to run (a resumed evaluation keeps its finished ones)."""
    if request.mode != "resume" or request.run_dir is None:
        return True
    return any(not (Path(request.run_dir) / f"runs/run{i}.json").is_file() for i in range(request.num_repeats))


def load_model(request: EvalRequest, model_path: str):
    """The lm-eval model (:func:`harness.eval.lm.build_lm`) and its load time; what the library
    raises while loading (a tokenizer that fails, an argument it refuses) is one sentence naming
    the model (``--debug`` shows the traceback)."""
    from harness.core.quiet import without_request_bars

    started = time.perf_counter()
    try:
        lm = build_lm(request.backend, model_path, request)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers, vLLM and torch raise many kinds
        from harness.core.errors import machine_says_no

        if machine_says_no(exc):
            raise  # a full disk or a forbidden folder: the CLI says so itself
        reason = " ".join(str(exc).split())
        reason = f"{type(exc).__name__}: {reason[:300]}{'...' if len(reason) > 300 else ''}" if reason \
            else type(exc).__name__
        raise UserError(f"--backend {request.backend} cannot load model {request.model} ({model_path}): {reason}"
                        + (f" (check --model-args {request.model_args})" if request.model_args else "")) from exc
    return without_request_bars(lm), time.perf_counter() - started


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
    import typing

    from harness.core.config import coerce

    hints = typing.get_type_hints(EvalRequest)
    for key, value in values.items():  # the file's values as the flags' types ("limit: abc" is an error)
        if key != "probe_options":
            values[key] = coerce(value, hints[key], f"{path}: {key}")
    if not isinstance(values.get("probe_options", {}), dict):
        raise UserError(f"{path}: probe_options must be a mapping, got {values['probe_options']!r}")
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
              on_run: Callable[[int, int], None] | None, lm=None, load_seconds: float = 0.0) -> dict:
    """Run lm-eval ``num_repeats`` times with the model (``lm``, built here if not given), keep
    each run, combine them."""
    log.info("eval %s (%s) on %s with %s, %d run(s)", request.model, model_path, ",".join(names),
             request.backend, request.num_repeats)
    per_run, run_seconds = [], []
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
            lm, load_seconds = load_model(request, model_path)
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
