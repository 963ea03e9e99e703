"""The study's table layouts, as data: each table a list of rows of cells that carry a value and,
where there is one, its 95% interval and p-value. Rendering (Markdown, LaTeX, CSV, HTML) is
:mod:`harness.report.render`; the numbers come from :mod:`harness.report.stats`.

- main table per task family: setups x (languages, Avg, Gen), accuracy in percent;
- ablation table: each setup's Avg and its paired difference from a reference setup;
- language consistency: share of responses in the question's language, and the dominant language;
- probes: per language the base model's problem perplexity and self-similarity; per setup the
  drift spread; with a pick-lang run, the rank correlation of its ranking with the realized gains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.report import stats
from harness.report.collect import FamilyScores, Run


@dataclass
class Cell:
    value: float | None = None
    low: float | None = None
    high: float | None = None
    text: str | None = None
    """A non-numeric cell (a language code, a note)."""
    p: float | None = None

    @property
    def covers_zero(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= 0.0 <= self.high


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    family: str | None = None
    best: bool = True
    """Mark the best value per column (LaTeX bold): accuracy-like tables only."""


@dataclass
class FamilyResult:
    """One family's scores and bootstrap replicates, ready for the tables and figures."""

    family: str
    data: FamilyScores
    reps: stats.Replicates
    base: str | None

    @property
    def setups(self) -> list[str]:
        return self.data.scores.setups


def _pct(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else 100.0 * value


def _cell(point: float, samples: np.ndarray, p: float | None = None) -> Cell:
    low, high = stats.interval(samples)
    return Cell(_pct(point), _pct(low), _pct(high), p=p)


def main_table(result: FamilyResult, marks: dict[str, str]) -> Table:
    """Rows = setups; columns = each language's accuracy, Avg, Gen (percent, 95% intervals)."""
    reps, langs = result.reps, result.reps.languages
    columns = langs + ["Avg"] + (["Gen"] if result.base else [])
    table = Table(f"main_{result.family}", f"{result.family}: accuracy (%) with 95% paired-bootstrap intervals",
                  columns, family=result.family)
    for setup in result.setups:
        cells = [_cell(*reps.samples(setup, lang)) for lang in langs] + [_cell(*reps.samples(setup, "avg"))]
        if result.base:
            cells.append(_cell(*reps.samples(setup, "gen")))
        table.rows.append((setup + marks.get(setup, ""), cells))
    if result.base:
        table.notes.append(f"Gen relative to {result.base}; languages where {result.base} scores 100% "
                           "are left out, in every bootstrap replicate as in the estimate.")
    return table


def ablation_table(result: FamilyResult, reference: str, marks: dict[str, str],
                   pvalues: dict[str, dict[str, float]]) -> Table:
    """Each setup's Avg and its paired difference from ``reference`` (interval, p-value)."""
    reps = result.reps
    table = Table(f"ablation_{result.family}", f"{result.family}: Avg and difference from {reference}",
                  ["Avg", f"Δ vs {reference}", "p"], family=result.family, best=False)
    for setup in result.setups:
        point, samples = reps.samples(setup, "avg")
        avg = _cell(point, samples)
        if setup == reference:
            table.rows.append((setup + marks.get(setup, ""), [avg, Cell(text="(reference)"), Cell(text="")]))
            continue
        diff = next(d for d in stats.differences(reps, setup, reference, pvalues.get(setup)) if d.metric == "avg")
        delta = Cell(_pct(diff.diff), _pct(diff.low), _pct(diff.high), p=diff.p)
        table.rows.append((setup + marks.get(setup, ""), [avg, delta, Cell(diff.p)]))
    table.notes.append("p: paired permutation test over problems; an interval that covers 0 means "
                       "not distinguishable at 95%.")
    return table


def consistency_table(family: str, per_setup: dict[str, dict[str, dict]], languages: Sequence[str]) -> Table:
    """Rows = setups; per question language the share of responses in that language and the
    language most responses were written in."""
    table = Table(f"consistency_{family}", f"{family}: responses in the question's language (%) · dominant language",
                  list(languages), family=family, best=False)
    for setup, by_lang in per_setup.items():
        cells = []
        for lang in languages:
            row = by_lang.get(lang)
            if not row:
                cells.append(Cell(text="–"))
                continue
            mains = row.get("main_languages") or {}
            dominant = max(mains, key=mains.get) if mains else "–"
            cells.append(Cell(_pct(row.get("consistency")), text=dominant))
        table.rows.append((setup, cells))
    return table


def language_probe_table(run: Run) -> Table | None:
    """The base model's uncertainty per language (perplexity and self-similarity probes)."""
    ppl = (run.probes.get("perplexity") or {}).get("per_language") or {}
    bleu = (run.probes.get("self_similarity") or {}).get("per_language") or {}
    langs = list(dict.fromkeys([*ppl, *bleu]))
    if not langs:
        return None
    table = Table("probes_languages", f"Probes of {run.label} per language",
                  ["problem PPL", "response PPL", "self-BLEU"], best=False)
    for lang in langs:
        table.rows.append((lang, [Cell(ppl.get(lang, {}).get("problem_ppl")), Cell(ppl.get(lang, {}).get("response_ppl")),
                                  Cell(bleu.get(lang, {}).get("self_bleu"))]))
    table.notes.append("problem PPL: per-token perplexity of the questions; self-BLEU: mean pairwise BLEU "
                       "(0-100) of sampled solutions (docs/probes.md).")
    return table


def drift_of(run: Run) -> dict | None:
    per_run = (run.probes.get("drift") or {}).get("per_run") or {}
    return next(iter(per_run.values()), None)


def drift_runs(runs: Sequence[Run]) -> dict[str, Run]:
    """Name -> the run holding that setup's drift: an eval run with the drift probe, else a probe
    run of the same trained model (as an experiment's probe cells are)."""
    found: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: not r.is_eval):
        if drift_of(run) and run.trained:
            found.setdefault(run.name, run)
    return found


def drift_table(runs: Sequence[Run]) -> Table | None:
    rows = [(name, drift_of(run)) for name, run in drift_runs(runs).items()]
    if not rows:
        return None
    table = Table("probes_drift", "Representation drift from the base, per setup",
                  ["spread", "mean norm", "coherence"], best=False)
    for label, drift in rows:
        table.rows.append((label, [Cell(drift.get("spread")), Cell(drift.get("mean_norm")), Cell(drift.get("coherence"))]))
    table.notes.append("spread = mean distance of the per-problem drift vectors to their centroid (smaller, "
                       "more concentrated drift went with better transfer in the study).")
    return table


def ranking_table(picklang: dict, results: Sequence[FamilyResult], runs: Sequence[Run]) -> Table | None:
    """Spearman's rho between pick-lang's predicted ranking and the realized Avg and Gen per
    training language, per paradigm and family, with bootstrap intervals from the replicates."""
    scores = {row["lang"]: row["score"] for row in picklang.get("ranking", [])}
    table = Table("ranking", "pick-lang's ranking against the realized results (Spearman's ρ)",
                  ["languages", "ρ Avg", "ρ Gen"], best=False)
    by_label = {r.label: r for r in runs}
    for result in results:
        paradigms: dict[str, dict[str, str]] = {}
        for setup in result.setups:
            run = by_label.get(setup)
            if run and run.trained and len(run.train_languages) == 1 and run.train_languages[0] in scores:
                paradigms.setdefault(run.paradigm, {}).setdefault(run.train_languages[0], setup)
        for paradigm, by_lang in paradigms.items():
            if len(by_lang) < 3:  # fewer than three points carry no rank information worth a row
                continue
            langs = list(by_lang)
            table.notes.append(_first_choice_note(picklang, result, paradigm, by_lang))
            predicted = [scores[l] for l in langs]
            cells = [Cell(text=",".join(langs))]
            for metric in ("avg", "gen"):
                if metric == "gen" and not result.base:
                    cells.append(Cell(text="–"))
                    continue
                point = stats.spearman(predicted, np.array([result.reps.samples(by_lang[l], metric)[0] for l in langs]))
                samples = stats.spearman(predicted, np.stack([result.reps.samples(by_lang[l], metric)[1] for l in langs], axis=1))
                low, high = stats.interval(samples)
                cells.append(Cell(float(point), low, high))
            table.rows.append((f"{result.family} · {paradigm}", cells))
    if not table.rows:
        return None
    table.notes.append("ρ = 1: the training language pick-lang ranked first gave the highest score.")
    return table


def _first_choice_note(picklang: dict, result: FamilyResult, paradigm: str, by_lang: dict[str, str]) -> str:
    """Whether pick-lang's first choice is the training language whose cell reached the best Gen
    (Avg without a base), and whether the best is distinguishable from the first choice at 95%."""
    from harness.report.picklang import first_place

    firsts = first_place([row for row in picklang.get("ranking", []) if row["lang"] in by_lang])
    metric = "gen" if result.base else "avg"
    points = {lang: result.reps.samples(setup, metric)[0] for lang, setup in by_lang.items()}
    best = max(points, key=points.get)
    first = max(firsts, key=points.get)  # of tied first choices, the one that did best
    choice = f"first choice is {first}" if len(firsts) == 1 else f"first place is tied ({' = '.join(firsts)})"
    head = (f"{result.family} · {paradigm}: pick-lang's {choice}; the best {metric.title()} "
            f"came from training in {best} ({100 * points[best]:.1f})")
    if first == best:
        return head + (": the ranking picked it." if len(firsts) == 1 else ": one of the tied first choices.")
    diff = result.reps.samples(by_lang[best], metric)[1] - result.reps.samples(by_lang[first], metric)[1]
    low, high = stats.interval(diff)
    verdict = "distinguishable" if low > 0 or high < 0 else "not distinguishable at 95%"
    return (head + f", {100 * (points[best] - points[first]):.1f} points above {first} "
            f"[{100 * low:.1f}, {100 * high:.1f}]: {verdict}.")
