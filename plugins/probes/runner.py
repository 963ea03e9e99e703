"""Running probes: after an evaluation (this module is the default plugin whose ``validate_eval``
and ``post_eval`` hooks serve ``harness eval --probes``) and alone (``harness probe``,
:func:`run_standalone`). Both build their :class:`ProbeContext` through :func:`make_context`;
:func:`run_probes` runs the named probes and writes ``probes.json`` of the run.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.core.config import check_fields
from harness.core.errors import UserError, unknown
from harness.core.files import read_json
from harness.core.hookspecs import ProbeContext, ProbeOptions, check_probe, hookimpl
from harness.core.rundir import RunDir

PROBES_FILE = "probes.json"


def parse_names(names: str | Iterable[str] | None) -> list[str]:
    """``"a,b"``, ``["a", "b"]`` or ``["a,b"]`` as a list of names, in order, without repeats."""
    if names is None:
        return []
    items = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for item in items:
        for name in str(item).split(","):
            if name.strip() and name.strip() not in out:
                out.append(name.strip())
    return out


def check_probes(names: Iterable[str], probes: Mapping[str, Any], options: ProbeOptions,
                 spell: Callable[[str], str] | None = None) -> None:
    """Before anything loads: every name is a registered probe (else a UserError suggesting the
    closest), every option within its declared bounds (``check_fields``; ``spell`` names an
    option in the message: its flag by default), and each probe that has a ``check(options)``
    accepts them."""
    names = list(names)
    for probe in names:
        if probe not in probes:
            raise unknown("probe", probe, probes)
    check_fields(options, spell)
    for name in names:
        check = getattr(probes[name], "check", None)
        if callable(check):
            check(dataclasses.asdict(options))


def run_probes(names: str | Iterable[str], context: ProbeContext,
               probes: Mapping[str, Any]) -> dict[str, dict]:
    """Run the named probes on ``context`` and write their results to ``<run>/probes.json``.

    ``probes`` maps names to probes (the catalog's, from whoever loaded the plugins). An unknown
    name is a :class:`UserError` suggesting the closest one, raised before any probe runs.
    """
    wanted = parse_names(names)
    for name in wanted:
        if name not in probes:
            raise unknown("probe", name, probes)
    results: dict[str, dict] = {}
    for name in wanted:
        check_probe(probes[name])
        results[name] = probes[name].run(context) or {}
    write_results(context.run, results)
    return results


def write_results(run: RunDir, results: Mapping[str, dict]) -> Path:
    """Merge ``results`` into ``probes.json`` (probes run earlier in this run keep theirs)."""
    path = run.path / PROBES_FILE
    merged = read_json(path, "probes file") if path.exists() else {}
    merged.update(results)
    return run.write_json(PROBES_FILE, merged)


def options_from(settings: Mapping[str, Any]) -> ProbeOptions:
    """The probe options of an evaluation's ``settings``: its ``probe_options`` mapping only, as
    the evaluation's own keys (``backend``, ``temperature``, ``batch_size``) mean other things."""
    from harness.core.config import coerce

    merged = dict(settings.get("probe_options") or {})
    fields = [f.name for f in dataclasses.fields(ProbeOptions)]
    unknown_keys = sorted(set(merged) - set(fields))
    if unknown_keys:
        raise unknown("probe option", unknown_keys[0], fields)
    hints = typing.get_type_hints(ProbeOptions)
    return ProbeOptions(**{name: coerce(merged[name], hints[name], f"--probe-options {name}")
                           for name in fields if merged.get(name) is not None})


def make_context(run: RunDir, *, model: str, registry, base: str | None = None, languages: list[str] | None = None,
                 samples_from: Path | None = None, compare: Mapping[str, str] | None = None,
                 label: str | None = None, options: ProbeOptions | None = None) -> ProbeContext:
    """A context for ``model`` (and ``base``), probing with the questions of the eval run in
    ``samples_from`` when it has samples, else with ``options.num_problems`` problems per
    language from ``options.data``."""
    from harness.core.literals import LITERALS, STUDY_LANGUAGES
    from harness.inference.models import resolve_studied_model
    from harness.plugins.probes.inputs import load_problems, problems_from_samples, read_eval_samples

    def resolve(spec: str) -> str:
        return resolve_studied_model(spec, registry)

    options = options or ProbeOptions()
    samples = read_eval_samples(samples_from) if samples_from else {}
    seen = [lang for by_lang in samples.values() for lang in by_lang]
    order = {code: i for i, code in enumerate(LITERALS)}  # the study's languages first, in its order
    languages = parse_names(languages) or sorted(set(seen), key=lambda c: order.get(c, len(order))) \
        or list(STUDY_LANGUAGES)
    check_languages(languages)
    problems = problems_from_samples(samples, languages, options.num_problems)
    missing = [lang for lang in languages if lang not in problems]
    if missing:
        problems.update(load_problems(options.data, missing, options.num_problems, options.seed))
    return ProbeContext(
        model=resolve(model), base_model=resolve(base) if base else None, run=run, languages=languages,
        problems=problems, samples=samples, compare={k: resolve(v) for k, v in (compare or {}).items()},
        label=label or _label(model), options=options,
    )


def check_languages(languages: Iterable[str]) -> None:
    from harness.core.literals import LITERALS

    for code in languages:
        if code not in LITERALS:
            raise unknown("language", code, LITERALS)


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
    from harness.core.rundir import check_reuse, hash_records, run_lifecycle

    check_probes(names, probes, options)  # before anything is loaded or written
    check_languages(parse_names(languages))
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


# --- the default plugin: probes after ``harness eval --probes`` ----------------------------------


@hookimpl
def validate_eval(context):
    """``--probes`` names registered probes, and ``--probe-options`` are options they take."""
    names = parse_names(context.settings.get("probes"))
    if names:
        check_probes(names, context.catalog.probes, options_from(context.settings), lambda n: f"--probe-options {n}")


@hookimpl
def post_eval(context):
    """Run the probes named in ``settings["probes"]`` on the evaluated model, with the eval run's
    responses and questions; their figures go to ``results["probes"]`` and ``<run>/probes.json``."""
    settings = context.settings
    names = parse_names(settings.get("probes"))
    if not names:
        return None
    model = settings.get("model_path") or settings.get("model")
    if not model:
        raise UserError("probes after evaluation need the evaluated model in settings['model']")
    probe_context = make_context(
        context.run, model=str(model), registry=context.registry, base=settings.get("base"),
        languages=settings.get("languages"), samples_from=context.run.path, compare=settings.get("compare"),
        label=settings.get("label"), options=options_from(settings))
    context.add_results("probes", run_probes(names, probe_context, context.catalog.probes))
    return {"file": PROBES_FILE}
