"""``harness pick-lang``: rank candidate training languages before any training.

The study leaves open how to choose the source language beforehand; its probes point at the base
model's uncertainty: German, the best training language, had the highest perplexity and the lowest
self-similarity of sampled solutions. For each candidate language this measures, on the base
model, with the perplexity and self_similarity probes (their own code, through ``run_standalone``):

- ``problem_ppl``: per-token perplexity of the problems (higher = less familiar; ranked high first);
- ``self_bleu``: mean pairwise BLEU among k sampled solutions (lower = less sure; ranked low first);
- ``headroom`` (with ``--base-eval``): 1 - the base's accuracy in that language (higher first).

Each signal ranks the candidates; a candidate's score is the mean over signals of its normalised
rank (1 = the most uncertain on that signal, 0 = the least), and the ranking sorts by score.
``response_ppl`` (perplexity of its own samples) is shown but not scored. This is a heuristic read
off the study, not a validated predictor: ``harness report`` on a finished experiment prints the
rank correlation between this ranking and the realized Avg and Gen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.core.config import SEED_MAX, check_fields, option
from harness.core.errors import UserError
from harness.core.rundir import RunDir

SIGNALS = {"problem_ppl": True, "self_bleu": False, "headroom": True}
"""Scored signals and whether a higher value means a better candidate (more uncertainty)."""
TIE = 1e-9
"""Scores closer than this are equal (a mean of normalised ranks, up to float rounding)."""


@dataclass
class PickLangRequest:
    """The settings of ``harness pick-lang`` (its flags), with the values each accepts;
    :func:`run_pick_lang` checks them all (``check_fields``) before anything loads."""

    model: str = option("tiny", help="The base model: alias, path or hub id.",
                        source="harness choice: the offline tiny model runs anywhere", nonempty=True)
    candidates: list[str] = option(["en", "zh", "de"], help="Candidate training languages, a,b,c (two or more).",
                                   source="harness choice: the study's training languages En, Zh and De",
                                   nonempty=True)
    base_eval: Path | None = option(None, help="The base model's eval run: adds accuracy headroom as a signal.",
                                    source="harness choice: the probes' signals only")
    num_problems: int = option(8, help="Problems per language (more on a GPU: 32-64).",
                               source="harness choice: a CPU minute on the tiny model", ge=1)
    num_generations: int = option(4, help="Solutions sampled per problem (self-similarity compares pairs: 2 or more).",
                                  source="harness choice: 6 pairs per problem", ge=2)
    max_new_tokens: int = option(96, help="Longest sampled solution, in tokens (on a GPU: the eval budget).",
                                 source="harness choice: a toy solution's length", ge=1)
    data: str = option("toy", help="Problems: 'toy', 'toy_study' or an MGSM mirror folder.",
                       source="harness choice: offline", nonempty=True)
    backend: str = option("hf", help="Sampler: hf (transformers), or vllm when installed.",
                          source="harness choice: runs anywhere", choices=("hf", "vllm"))
    seed: int = option(0, help="Seed of sampling and problem selection.", source="harness choice: reproducible",
                       ge=0, le=SEED_MAX)
    run_dir: Path | None = option(None, help="Run directory (default: a new one under runs/).",
                                  source="harness choice: a new directory under runs/")
    mode: str = option("new", help="An existing --run-dir: refuse (new) or start it again (overwrite).",
                       source="harness choice: never overwrite silently", choices=("new", "overwrite"))
    """An existing --run-dir: refuse (new) or start it again (overwrite)."""

    def check(self) -> None:
        """Two or more known candidate languages, each once."""
        from harness.core.literals import LITERALS, checked_languages

        candidates = self.candidates or []
        if len(candidates) < 2:
            raise UserError("--candidates needs at least two languages to rank, e.g. en,zh,de")
        checked_languages(candidates, "--candidates", LITERALS)


def headroom(base_eval: Path, candidates: list[str]) -> dict[str, float]:
    """1 - the base's accuracy per candidate language, from the first family of its eval run that
    has every candidate."""
    from harness.plugins.gen import family_accuracies, load_results

    for _family, (_metric, accs) in family_accuracies(load_results(base_eval)).items():
        if all(lang in accs for lang in candidates):
            return {lang: 1.0 - accs[lang] for lang in candidates}
    raise UserError(f"{base_eval} has no task family evaluated in all of {', '.join(candidates)}")


def rank_candidates(signals: dict[str, dict[str, float | None]]) -> list[dict]:
    """Rows sorted best first: lang, score, rank and every signal with its normalised rank."""
    import numpy as np

    from harness.report.stats import ranks

    langs = list(signals)
    scored = [s for s in SIGNALS if all(signals[l].get(s) is not None for l in langs)]
    if not scored:
        raise UserError("no signal could be measured for every candidate language")
    rows = {lang: {"lang": lang, **signals[lang]} for lang in langs}
    for name in scored:
        values = np.array([signals[l][name] for l in langs], dtype=float)
        r = ranks(values if SIGNALS[name] else -values)
        normalised = (r - 1) / (len(langs) - 1) if len(langs) > 1 else np.ones_like(r)
        for lang, value in zip(langs, normalised):
            rows[lang][f"{name}_rank"] = float(value)
    for row in rows.values():
        row["score"] = float(np.mean([row[f"{s}_rank"] for s in scored]))
    ordered = sorted(rows.values(), key=lambda row: -row["score"])
    for i, row in enumerate(ordered):  # competition ranks: equal scores share the better rank
        same = i > 0 and _same_score(row, ordered[i - 1])
        row["rank"] = ordered[i - 1]["rank"] if same else i + 1
    for row in ordered:
        row["tied"] = sum(other["rank"] == row["rank"] for other in ordered) > 1
    return ordered


def _same_score(a: Mapping, b: Mapping) -> bool:
    return abs(a["score"] - b["score"]) < TIE


def first_place(ranking: list[Mapping]) -> list[str]:
    """The first language of ``ranking`` (best first) and those tied with it on score (read off
    the scores, so picklang.json files written before ties were marked work too)."""
    return [row["lang"] for row in ranking if _same_score(row, ranking[0])]


def recommendation(ranking: list[Mapping]) -> str:
    """The line under the ranking: the first choice, or that the first place is tied."""
    first = first_place(ranking)
    score = next(row["score"] for row in ranking if row["lang"] == first[0])
    if len(first) == 1:
        return f"recommended training language: {first[0]} (score {score:.2f})"
    return (f"first place is tied: {' and '.join(first)} (score {score:.2f} each); the signals do not "
            f"tell them apart, so no single language is recommended (more --num-problems may separate them)")


def run_pick_lang(request: PickLangRequest, probes: Mapping[str, Any], registry) -> tuple[RunDir, dict]:
    """Rank ``request.candidates`` with the registered ``probes`` (the catalog's); model aliases
    resolve through ``registry``."""
    from harness.core.hookspecs import ProbeOptions
    from harness.plugins.probes.runner import run_standalone

    check_fields(request)  # every setting within its bounds, two or more known candidates
    candidates = list(request.candidates or [])
    extra = headroom(request.base_eval, candidates) if request.base_eval else {}
    options = ProbeOptions(num_problems=request.num_problems, num_generations=request.num_generations, max_new_tokens=request.max_new_tokens,
                           backend=request.backend, seed=request.seed, data=request.data)
    run, probes = run_standalone(["perplexity", "self_similarity"], model=request.model, base=None,
                                 languages=candidates, samples_from=None, compare={}, label=None, options=options,
                                 run_dir=request.run_dir, probes=probes, registry=registry, mode=request.mode)
    ppl, bleu = probes["perplexity"]["per_language"], probes["self_similarity"]["per_language"]
    signals = {lang: {"problem_ppl": ppl[lang]["problem_ppl"], "self_bleu": bleu[lang]["self_bleu"],
                      "response_ppl": ppl[lang]["response_ppl"], "headroom": extra.get(lang)}
               for lang in candidates}
    result = {
        "model": request.model, "candidates": candidates, "ranking": rank_candidates(signals),
        "scored_signals": [s for s in SIGNALS if all(signals[l].get(s) is not None for l in candidates)],
        "definition": __doc__.split("\n\n", 2)[2].strip(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(request).items()},
    }
    run.write_json("picklang.json", result)
    return run, result


def print_ranking(console, result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"Candidate training languages for {result['model']} (best first)", title_justify="left")
    columns = ["rank", "lang", "score", "problem_ppl", "self_bleu", "headroom", "response_ppl"]
    for column in columns:
        table.add_column(column + (" (not scored)" if column == "response_ppl" else ""))
    for row in result["ranking"]:
        table.add_row(*[_fmt(row, c) for c in columns])
    console.print(table)
    console.print(recommendation(result["ranking"]), highlight=False)
    console.print(f"[dim]scored: {', '.join(result['scored_signals'])}; score = mean normalised rank "
                  "(1 = the most uncertain on a signal)[/]", highlight=False)


def _fmt(row: dict, column: str) -> str:
    value = row.get(column)
    if column == "rank" and row.get("tied"):
        return f"{value}="  # tied: "1=" as in a sports table
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:.4g}"
        rank = row.get(f"{column}_rank")
        return text + (f" ({rank:.2f})" if rank is not None else "")
    return str(value)
