"""Assembling a report: runs -> aligned per-problem scores -> bootstrap replicates -> tables.

The mismatch rule lives here: runs that differ in task version, problems, generation budget or
prompt variant are refused (one sentence) unless ``allow_mismatch``; then every setup that differs
from the base (or from the first run) is marked with a dagger and the difference is noted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import UserError
from harness.report import layouts, stats
from harness.report.collect import (
    ProblemTable, Run, families_of, family_scores, load_runs, pick_base, settings_summary,
)

MARK = "†"


@dataclass
class ReportOptions:
    iterations: int = stats.DEFAULT_ITERATIONS
    seed: int = 0
    base: str | None = None
    reference: str | None = None
    metric: str | None = None
    tasks: list[str] | None = None
    allow_mismatch: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    langid: bool = True
    """Compute language consistency from the responses where no consistency probe ran."""


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    paths: dict[str, Path] = field(default_factory=dict)
    png: bytes = b""


@dataclass
class Report:
    runs: list[Run]
    base: Run | None
    results: list[layouts.FamilyResult]
    tables: list[layouts.Table]
    basis: list[str]
    mismatch: list[str]
    problems: ProblemTable
    options: ReportOptions
    figures: list[Figure] = field(default_factory=list)

    @property
    def evals(self) -> list[Run]:
        return [r for r in self.runs if r.is_eval]


def build_report(specs: Sequence[str | Path], options: ReportOptions) -> Report:
    runs = load_runs(specs, options.labels)
    evals = [r for r in runs if r.is_eval]
    if not evals:
        raise UserError("no evaluation runs among the inputs (a report needs at least one results.json)")
    base = pick_base(runs, options.base)
    families = [f for f in families_of(evals) if not options.tasks or f in options.tasks]
    if not families:
        raise UserError(f"the runs hold none of the task families {', '.join(options.tasks or [])}")
    mismatch, marks = check_mismatch(evals, base, families, options.allow_mismatch)
    problems, results, basis = ProblemTable(), [], []
    for family in families:
        data = family_scores(evals, family, options.metric, problems, options.allow_mismatch)
        if data is None:
            continue
        family_base = base.label if base and base.label in data.scores.values else None
        reps = stats.bootstrap(data.scores, family_base, options.iterations, options.seed)
        results.append(layouts.FamilyResult(family, data, reps, family_base))
        mismatch += data.notes
        basis.append(describe_basis(family, data, [r for r in evals if r.label in data.scores.values], options))
    if not results:
        raise UserError("the runs share no task family with per-problem samples (samples_<task>.jsonl)")
    report = Report(runs, base, results, [], basis, mismatch, problems, options)
    report.tables = make_tables(report, marks)
    return report


def check_mismatch(evals: Sequence[Run], base: Run | None, families: list[str],
                   allow: bool) -> tuple[list[str], dict[str, str]]:
    """Notes on what differs (refused unless ``allow``) and the dagger marks of the setups that
    differ from the base (else from the first run)."""
    from harness.plugins.gen import check_comparable, mismatches

    named = {r.name: r.results for r in evals}
    label_of = {r.name: r.label for r in evals}
    protocol = {r.name for r in evals if (r.training.get("paradigm_config") or {}).get("consistency_prompt")}
    notes = check_comparable(named, allow or _only_protocol_prompts(named, families, protocol), families) \
        if len(named) > 1 else []
    reference = base.name if base else evals[0].name
    marks = {}
    for _family, _setting, values in mismatches(named, families):
        for name, value in values.items():
            if value != values.get(reference, value):
                marks[label_of[name]] = MARK
    return notes, marks


def _only_protocol_prompts(named: dict, families: list[str], protocol: set[str]) -> bool:
    """True when the runs differ only in the prompt, and only because models trained with the
    consistency prompt were evaluated with it: the study's protocol for that ablation (the prompt
    is used in training and evaluation), so they stand beside the rest, marked with a dagger."""
    from harness.plugins.gen import mismatches

    found = mismatches(named, families)
    return bool(found) and all(
        setting == "prompt" and all(("consistency prompt" in value) == (name in protocol) for name, value in values.items())
        for _family, setting, values in found)


def describe_basis(family: str, data, runs: Sequence[Run], options: ReportOptions) -> str:
    """One line: what a family's numbers rest on."""
    settings = [settings_summary(r, family) for r in runs]

    def one(key: str) -> str:
        values = list(dict.fromkeys(str(s[key]) for s in settings))
        return values[0] if len(values) == 1 else "varies (" + ", ".join(
            f"{r.name}: {s[key]}" for r, s in zip(runs, settings)) + ")"

    counts = sorted(set(data.problems.values()))
    per_lang = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    repeats = ", ".join(f"{r.name}: {s['repeats']}" for r, s in zip(runs, settings))
    seeds = {label: data.scores.seeds(label) for label in data.scores.setups if data.scores.seeds(label) > 1}
    seed_text = ("; training seeds " + ", ".join(f"{k}: {v}" for k, v in seeds.items())
                 + " (two-level bootstrap: seeds, then problems)") if seeds else ""
    return (f"{family} ({data.metric}): {per_lang} problems per language in {len(data.scores.languages)} "
            f"languages; sampling repeats {repeats} (averaged per problem){seed_text}; generation budget {one('generation budget')} tokens; prompt "
            f"{one('prompt')}; task version {one('task version')}; {options.iterations:,} paired bootstrap "
            f"replicates (seed {options.seed})" + ("" if data.scores.shared_problems else
                                                  "; languages resampled separately (their problems differ)"))


def make_tables(report: Report, marks: dict[str, str]) -> list[layouts.Table]:
    opts = report.options
    tables = [layouts.main_table(result, marks) for result in report.results]
    for result in report.results:
        if len(result.setups) < 2:
            continue
        reference = opts.reference or result.base or result.setups[0]
        if reference not in result.setups:
            raise UserError(f"--reference {reference!r} names no setup of {result.family} "
                            f"({', '.join(result.setups)})")
        pvalues = stats.permutation_pvalues_against(result.data.scores, [s for s in result.setups if s != reference],
                                                    reference, result.base, opts.iterations, opts.seed)
        tables.append(layouts.ablation_table(result, reference, marks, pvalues))
    tables += consistency_tables(report)
    language_source = next((r for r in report.runs if r.picklang is not None), None) or \
        next((r for r in report.runs if not r.trained and "perplexity" in r.probes), None)
    extra = [layouts.language_probe_table(language_source) if language_source else None,
             layouts.drift_table(report.runs)]
    picklang = next((r.picklang for r in report.runs if r.picklang), None)
    if picklang:
        extra.append(layouts.ranking_table(picklang, report.results, report.runs))
    return tables + [t for t in extra if t is not None]


def consistency_tables(report: Report) -> list[layouts.Table]:
    tables = []
    for result in report.results:
        per_setup = {}
        for run in report.evals:
            if run.label not in result.setups:
                continue
            found = consistency_of(run, result.family, report.options.langid) if run.label not in per_setup else None
            if found:
                per_setup[run.label] = found
        if per_setup:
            tables.append(layouts.consistency_table(result.family, per_setup, result.reps.languages))
    return tables


def consistency_of(run: Run, family: str, compute: bool) -> dict[str, dict]:
    """lang -> {consistency, main_languages}: the consistency probe's figures when it ran on this
    run, else (``compute``) the same measure applied to the run's responses."""
    per_task = ((run.probes.get("consistency") or {}).get("per_task") or {}).get(family)
    if per_task or not compute:
        return per_task or {}
    from harness.core.literals import STUDY_LANGUAGES
    from harness.plugins.probes.consistency import measure
    from harness.plugins.probes.inputs import read_eval_samples

    by_lang = read_eval_samples(run.path).get(family) or {}
    candidates = list(dict.fromkeys([*STUDY_LANGUAGES, *by_lang]))
    return {lang: measure([r for rec in records for r in rec["responses"]], lang, candidates)
            for lang, records in by_lang.items()}


# --- compare -------------------------------------------------------------------------------------


@dataclass
class Comparison:
    family: str
    a: str
    b: str
    base: str | None
    metric: str
    problems: dict[str, int]
    differences: list[stats.Difference]


def compare_runs(a: str | Path, b: str | Path, options: ReportOptions, p_value: str = "permutation") -> tuple[list[Comparison], list[str]]:
    """Paired differences A - B per family (languages, Avg, and Gen when a base is known: --base,
    else whichever of A and B is an untrained model), and the mismatch notes."""
    specs = [a, b] + ([options.base] if options.base else [])
    runs = load_runs(specs, options.labels, merge_seeds=False)
    evals = [r for r in runs if r.is_eval]
    if len(evals) < 2:
        raise UserError("harness compare needs two evaluation runs (directories with results.json)")
    run_a, run_b = evals[0], evals[1]
    base = pick_base(evals, options.base)
    families = [f for f in families_of([run_a]) if f in families_of([run_b]) and (not options.tasks or f in options.tasks)]
    if not families:
        raise UserError(f"{run_a.label} and {run_b.label} share no task family")
    notes, _ = check_mismatch(evals, base, families, options.allow_mismatch)
    out = []
    for family in families:
        data = family_scores(evals, family, options.metric, ProblemTable(), options.allow_mismatch)
        if data is None:
            continue
        base_label = base.label if base and base.label in data.scores.values else None
        reps = stats.bootstrap(data.scores, base_label, options.iterations, options.seed)
        pvalues = (stats.permutation_pvalues(data.scores, run_a.label, run_b.label, base_label, options.iterations,
                                             options.seed) if p_value == "permutation" else None)
        out.append(Comparison(family, run_a.label, run_b.label, base_label, data.metric, data.problems,
                              stats.differences(reps, run_a.label, run_b.label, pvalues)))
        notes += data.notes
    return out, notes
