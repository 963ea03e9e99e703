"""Building a :class:`ProbeContext` from what a user asked for: the settings of an evaluation
(``post_eval``) or the flags of ``harness probe``. Both go through :func:`make_context`."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.config import coerce, option
from harness.core.literals import LITERALS, STUDY_LANGUAGES
from harness.probe import (
    ProbeContext, load_problems, parse_names, problems_from_samples, read_eval_samples,
)
from harness.core.rundir import RunDir


@dataclass
class ProbeOptions:
    """How the probes sample and what they probe with: keys of ``settings["probe_options"]``
    under ``post_eval``, flags of ``harness probe``."""

    num_problems: int = option(250, help="Problems per language in the probe set (MGSM: 250, all of it).",
                               source="harness choice: all of MGSM; CPU demos pass --num-problems 4")
    k: int = option(8, help="Responses sampled per problem (self-similarity needs 2 or more).",
                    source="harness choice: 28 pairs per problem for a stable self-similarity; demos pass --k 2")
    max_new_tokens: int = option(1024, help="Longest sampled response, in tokens.",
                                 source="harness choice: GRPO's max_completion_length")
    temperature: float = option(1.0, help="Sampling temperature (the study's rollouts: 1.0).", source="paper")
    top_p: float = option(1.0, help="Nucleus sampling threshold (the rollouts': verl's 1.0).", source="verl default")
    backend: str = option("hf", help="Sampler: hf (transformers), or vllm when installed.",
                          source="harness choice: runs anywhere; experiments pass vllm on GPUs")
    batch_size: int = option(8, help="Prompts per forward pass or generate call.", source="harness choice: memory only")
    seed: int = option(0, help="Seed of sampling and of the problem selection.", source="harness choice: reproducible")
    drift_basis: str = option("pca", help="Drift scatter basis: pca (centred, as the study) or uncentred "
                                          "(SVD; the origin stays the base model).", source="paper")
    data: str = option("toy", help="Problems when no eval samples are given: 'toy', 'toy_study' or an MGSM mirror folder.",
                       source="harness choice: offline; probes after an eval use its questions")

def options_from(settings: Mapping[str, Any]) -> ProbeOptions:
    """The probe options of an evaluation's ``settings``: its ``probe_options`` mapping only, as
    the evaluation's own keys (``backend``, ``temperature``, ``batch_size``) mean other things."""
    merged = dict(settings.get("probe_options") or {})
    unknown_keys = sorted(set(merged) - {f.name for f in dataclasses.fields(ProbeOptions)})
    if unknown_keys:
        from harness.core.errors import unknown

        raise unknown("probe option", unknown_keys[0], [f.name for f in dataclasses.fields(ProbeOptions)])
    hints = typing.get_type_hints(ProbeOptions)
    values = {f.name: coerce(merged[f.name], hints[f.name], f.name)
              for f in dataclasses.fields(ProbeOptions) if merged.get(f.name) is not None}
    return ProbeOptions(**values)


def make_context(run: RunDir, *, model: str, registry, base: str | None = None, languages: list[str] | None = None,
                 samples_from: Path | None = None, compare: Mapping[str, str] | None = None,
                 label: str | None = None, options: ProbeOptions | None = None) -> ProbeContext:
    """A context for ``model`` (and ``base``), probing with the questions of the eval run in
    ``samples_from`` when it has samples, else with ``options.num_problems`` problems per
    language from ``options.data``."""
    from harness.inference.models import resolve_studied_model

    def resolve(spec: str) -> str:
        return resolve_studied_model(spec, registry)

    options = options or ProbeOptions()
    samples = read_eval_samples(samples_from) if samples_from else {}
    seen = [lang for by_lang in samples.values() for lang in by_lang]
    order = {code: i for i, code in enumerate(LITERALS)}  # the study's languages first, in its order
    languages = parse_names(languages) or sorted(set(seen), key=lambda c: order.get(c, len(order))) \
        or list(STUDY_LANGUAGES)
    _check(languages, options)
    problems = problems_from_samples(samples, languages, options.num_problems)
    missing = [lang for lang in languages if lang not in problems]
    if missing:
        problems.update(load_problems(options.data, missing, options.num_problems, options.seed))
    return ProbeContext(
        model=resolve(model), base_model=resolve(base) if base else None, run=run, languages=languages,
        problems=problems, samples=samples, compare={k: resolve(v) for k, v in (compare or {}).items()},
        label=label or _label(model), k=options.k, max_new_tokens=options.max_new_tokens,
        temperature=options.temperature, top_p=options.top_p, seed=options.seed, backend=options.backend,
        batch_size=options.batch_size,
        # Probe-specific settings (drift_basis, ...) for the probes that read them.
        cache={"probe_options": dataclasses.asdict(options)},
    )


def _check(languages: list[str], options: ProbeOptions) -> None:
    from harness.core.errors import UserError, unknown
    from harness.core.literals import LITERALS
    from harness.inference import ACCEPTED

    for code in languages:
        if code not in LITERALS:
            raise unknown("language", code, LITERALS)
    if options.backend not in ACCEPTED:
        raise unknown("sampling backend", options.backend, ACCEPTED)
    if options.num_problems < 1 or options.k < 1 or options.max_new_tokens < 1:
        raise UserError("--num-problems, --k and --max-new-tokens must be at least 1")


def context_from_settings(run: RunDir, settings: Mapping[str, Any], registry) -> ProbeContext:
    """The context of ``post_eval``: the evaluated model, the eval run's samples and questions."""
    from harness.core.errors import UserError

    model = settings.get("model_path") or settings.get("resolved_model") or settings.get("model")
    if not model:
        raise UserError("probes after evaluation need the evaluated model in settings['model']")
    return make_context(
        run, model=str(model), registry=registry, base=settings.get("base"), languages=settings.get("languages"),
        samples_from=run.path, compare=settings.get("compare"), label=settings.get("label"),
        options=options_from(settings),
    )


def _label(spec: str) -> str:
    """A short name for a model in tables and plots: ``run-dir/model`` -> ``run-dir``."""
    path = Path(str(spec).rstrip("/"))
    if path.name in {"model", "final", "checkpoint"} and path.parent.name:
        return path.parent.name
    return path.name or str(spec)


def run_standalone(names: list[str], *, model: str, base: str | None, languages: list[str] | None,
                   samples_from: Path | None, compare: Mapping[str, str], label: str | None,
                   options: ProbeOptions, run_dir: Path | None, probes: Mapping[str, Any], registry,
                   mode: str = "new") -> tuple[RunDir, dict]:
    """``harness probe``: a run directory of its own, with config, manifest, probes.json and plots."""
    from harness.core.probes import check_probes
    from harness.core.rundir import hash_records
    from harness.probe import run_probes

    check_probes(names, probes, dataclasses.asdict(options))  # before anything is loaded or written
    _check(parse_names(languages), options)
    from harness.core.rundir import check_reuse, run_lifecycle

    check_reuse(run_dir, mode)
    # The context (problems, models) is made before the run directory, so that a bad input
    # leaves nothing behind; its run is set once the directory exists.
    context = make_context(RunDir(run_dir or "."), model=model, registry=registry, base=base, languages=languages,
                           samples_from=samples_from, compare=compare, label=label, options=options)
    problems = [p for lang in context.languages for p in context.problems.get(lang, [])]
    config = {
        "command": "probe", "probes": names, "model": model, "resolved_model": context.model, "base": base,
        "resolved_base": context.base_model, "compare": context.compare, "languages": context.languages,
        "samples_from": str(samples_from) if samples_from else None, **dataclasses.asdict(options),
    }
    with run_lifecycle("probe", f"{'+'.join(names)}-{_label(model)}", path=run_dir, mode=mode, config=config,
                       seed=options.seed, data_hashes={"problems": hash_records(problems)}) as run:
        context.run = run
        results = run_probes(names, context, probes)
    return run, results
