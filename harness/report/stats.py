"""Paired bootstrap intervals and paired p-values over problems, vectorised with numpy.

Every setup of a comparison answers the same problems, so one replicate resamples the problem set
once (with replacement) and scores every setup on that same resample: differences between setups
are paired, and the problem-to-problem variation they share cancels. Where a task family's
problems are translations of each other (one document id in every language, as in MGSM and the
toy task), a replicate draws the same problems in every language; otherwise each language is
resampled on its own.

Sampling repeats of one evaluation (``--num-repeats``) are averaged per problem before
resampling: the problems are resampled with all their repeats (the second stage of a two-stage
sample is not resampled, Davison & Hinkley 1997, 3.8); resampling the repeats too would count
their noise twice (measured: 99.5% coverage of a nominal 95% interval). Several training seeds
of one setup (separate runs) share an effect across all problems, which resampling problems
alone misses (measured: 67% coverage); there the bootstrap has two levels: each setup's seeds
are resampled first (independently per setup: the seeds of two setups are not paired), then the
problems. That interval errs wide (it counts problem-level noise in the seed means again: 96-98%
coverage measured with 4 seeds) and no bootstrap can know much about a seed effect from 3 or 4
seeds; tests/test_report_stats.py measures the coverage of each case. Avg (the mean over languages) and Gen are computed in every replicate from the same
resampled accuracies, so their intervals are bootstrapped, never propagated; in a replicate
where the base scores 100% in a language, that language is left out of Gen, as in the
definition (harness.plugins.gen).

Intervals are percentile intervals (95% by default, 10,000 replicates, seeded). p-values are
two-sided: a paired permutation test (each problem's two answers swapped between the setups
with probability 1/2) or, on request, the bootstrap p-value (twice the smaller share of
replicate differences on either side of zero).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.report.requests import DEFAULT_ITERATIONS  # noqa: F401  (declared with the options)

LEVEL = 0.95


@dataclass
class Scores:
    """One task family's per-problem scores: setup -> language -> (seeds, problems) array, a row
    per training seed holding that run's per-problem mean over its sampling repeats."""

    family: str
    languages: list[str]
    values: dict[str, dict[str, np.ndarray]]
    shared_problems: bool = True
    """The languages' problems are the same problems, translated, in the same order."""

    @property
    def setups(self) -> list[str]:
        return list(self.values)

    def problems(self, lang: str) -> int:
        return next(iter(self.values.values()))[lang].shape[1]

    def seeds(self, setup: str) -> int:
        return next(iter(self.values[setup].values())).shape[0]


@dataclass
class Replicates:
    """Point estimates and bootstrap replicates of every setup's accuracies, Avg and Gen."""

    languages: list[str]
    point_acc: dict[str, np.ndarray]
    """setup -> (languages,)"""
    acc: dict[str, np.ndarray]
    """setup -> (replicates, languages)"""
    base: str | None = None
    point_avg: dict[str, float] = field(default_factory=dict)
    avg: dict[str, np.ndarray] = field(default_factory=dict)
    point_gen: dict[str, float] = field(default_factory=dict)
    gen: dict[str, np.ndarray] = field(default_factory=dict)

    def samples(self, setup: str, metric: str) -> tuple[float, np.ndarray]:
        """(point estimate, replicates) of ``metric``: a language code, ``avg`` or ``gen``."""
        if metric == "avg":
            return self.point_avg[setup], self.avg[setup]
        if metric == "gen":
            return self.point_gen[setup], self.gen[setup]
        i = self.languages.index(metric)
        return float(self.point_acc[setup][i]), self.acc[setup][:, i]


# --- resampling ----------------------------------------------------------------------------------


def resample_counts(rng: np.random.Generator, n: int, iterations: int) -> np.ndarray:
    """(iterations, n) counts: how often each of n items is drawn in each replicate."""
    draws = rng.integers(0, n, size=(iterations, n))
    offsets = (np.arange(iterations) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=iterations * n).reshape(iterations, n).astype(float)


def resampled_means(per_seed: np.ndarray, problems: int, seed_counts: np.ndarray | None) -> np.ndarray:
    """The mean in every replicate, (replicates,), from ``per_seed`` (replicates, seeds): each
    seed's sum over the resampled problems. With ``seed_counts`` the seeds are resampled too (two
    levels: seeds, then problems)."""
    seeds = per_seed.shape[1]
    if seed_counts is None:
        return per_seed.mean(axis=1) / problems
    return (per_seed * seed_counts).sum(axis=1) / (seeds * problems)


def gen_values(acc: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Gen over the last axis (languages); a language where the base is at 100% is left out and
    an all-left-out row is NaN."""
    headroom = 1.0 - base
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        terms = np.where(headroom > 0, (acc - base) / np.where(headroom > 0, headroom, 1.0), np.nan)
        return np.nanmean(terms, axis=-1)


def _problem_counts(scores: Scores, rng: np.random.Generator, iterations: int) -> dict[str, np.ndarray]:
    if scores.shared_problems:
        counts = resample_counts(rng, scores.problems(scores.languages[0]), iterations)
        return {lang: counts for lang in scores.languages}
    return {lang: resample_counts(rng, scores.problems(lang), iterations) for lang in scores.languages}


def bootstrap(scores: Scores, base: str | None = None, iterations: int = DEFAULT_ITERATIONS,
              seed: int = 0) -> Replicates:
    """Paired (two-level with repeats) bootstrap replicates of every setup of ``scores``."""
    rng = np.random.default_rng(seed)
    counts = _problem_counts(scores, rng, iterations)
    out = Replicates(languages=list(scores.languages), point_acc={}, acc={}, base=base)
    # one matrix product per language for all setups' seeds: (replicates, problems) @ (problems, rows)
    # (a C-ordered right operand: OpenBLAS takes a far slower path on the transposed view)
    sums = {lang: counts[lang] @ np.ascontiguousarray(np.vstack([scores.values[s][lang] for s in scores.setups]).T)
            for lang in scores.languages}
    first_row = 0
    for setup, by_lang in scores.values.items():
        seeds = scores.seeds(setup)
        seed_counts = resample_counts(rng, seeds, iterations) if seeds > 1 else None
        rows = slice(first_row, first_row + seeds)
        first_row += seeds
        out.point_acc[setup] = np.array([by_lang[lang].mean() for lang in scores.languages])
        out.acc[setup] = np.stack([resampled_means(sums[lang][:, rows], scores.problems(lang), seed_counts)
                                   for lang in scores.languages], axis=1)
        out.point_avg[setup] = float(out.point_acc[setup].mean())
        out.avg[setup] = out.acc[setup].mean(axis=1)
    if base is not None:
        for setup in scores.values:
            out.point_gen[setup] = float(gen_values(out.point_acc[setup], out.point_acc[base]))
            out.gen[setup] = gen_values(out.acc[setup], out.acc[base])
    return out


# --- summaries -----------------------------------------------------------------------------------


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite replicates (NaN, NaN when none is finite)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_pvalue(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference": twice the smaller tail share at zero."""
    finite = differences[np.isfinite(differences)]
    if finite.size == 0:
        return float("nan")
    below, above = (finite <= 0).mean(), (finite >= 0).mean()
    return float(min(1.0, 2 * min(below, above)))


@dataclass
class Difference:
    """A paired difference ``a - b`` of one metric, its interval and p-value."""

    metric: str
    a: float
    b: float
    diff: float
    low: float
    high: float
    p: float

    @property
    def distinguishable(self) -> bool:
        """False when the interval covers zero ("not distinguishable at 95%")."""
        return not (self.low <= 0.0 <= self.high)


def differences(reps: Replicates, a: str, b: str, pvalues: Mapping[str, float] | None = None,
                level: float = LEVEL) -> list[Difference]:
    """Per language, Avg and (with a base) Gen: a - b with its paired interval and p-value
    (``pvalues`` per metric, else the bootstrap p-value)."""
    metrics = list(reps.languages) + ["avg"] + (["gen"] if reps.base is not None else [])
    out = []
    for metric in metrics:
        (pa, sa), (pb, sb) = reps.samples(a, metric), reps.samples(b, metric)
        delta = sa - sb
        low, high = interval(delta, level)
        p = pvalues[metric] if pvalues and metric in pvalues else bootstrap_pvalue(delta)
        out.append(Difference(metric, pa, pb, pa - pb, low, high, p))
    return out


# --- permutation test ----------------------------------------------------------------------------


def permutation_pvalues(scores: Scores, a: str, b: str, base: str | None = None,
                        iterations: int = DEFAULT_ITERATIONS, seed: int = 0) -> dict[str, float]:
    """Paired permutation p-values of a - b per language, for Avg and (with a base) Gen.

    Under "no difference" the labels of a problem's two answers (each setup's mean over its
    repeats) are exchangeable: every permutation swaps them per problem with probability 1/2
    (the same swap in every language when the problems are shared). p = (1 + #{|T*| >= |T|}) /
    (1 + iterations), the add-one form that never reports 0.
    """
    return permutation_pvalues_against(scores, [a], b, base, iterations, seed)[a]


def permutation_pvalues_against(scores: Scores, setups: Sequence[str], reference: str, base: str | None = None,
                                iterations: int = DEFAULT_ITERATIONS, seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`permutation_pvalues` of every setup against ``reference``: one set of swaps serves
    all the tests (each test is exact on its own), and they run as one matrix product."""
    rng = np.random.default_rng(seed)
    langs, k = scores.languages, len(setups)
    mean_ref = {l: scores.values[reference][l].mean(axis=0) for l in langs}
    mean = {l: np.stack([scores.values[s][l].mean(axis=0) for s in setups], axis=1) for l in langs}  # (N, k)
    swaps = {}
    acc_a, acc_b = np.empty((iterations, k, len(langs))), np.empty((iterations, k, len(langs)))
    for i, lang in enumerate(langs):
        n = scores.problems(lang)
        key = "shared" if scores.shared_problems else lang
        if key not in swaps:
            swaps[key] = rng.integers(0, 2, size=(iterations, n)).astype(float)
        gap = mean_ref[lang][:, None] - mean[lang]  # (N, k)
        moved = swaps[key] @ gap / n  # what swapping the flipped problems moves from reference to setup
        acc_a[:, :, i] = mean[lang].mean(axis=0) + moved
        acc_b[:, :, i] = mean_ref[lang].mean() - moved
    observed_a = np.stack([mean[l].mean(axis=0) for l in langs], axis=1)  # (k, L)
    observed_b = np.array([mean_ref[l].mean() for l in langs])
    base_acc = np.array([scores.values[base][l].mean() for l in langs]) if base is not None else None
    out = {}
    for j, setup in enumerate(setups):
        a, b, oa = acc_a[:, j], acc_b[:, j], observed_a[j]
        tests = {lang: (a[:, i] - b[:, i], oa[i] - observed_b[i]) for i, lang in enumerate(langs)}
        tests["avg"] = (a.mean(axis=1) - b.mean(axis=1), oa.mean() - observed_b.mean())
        if base_acc is not None:
            tests["gen"] = (gen_values(a, base_acc) - gen_values(b, base_acc),
                            float(gen_values(oa, base_acc) - gen_values(observed_b, base_acc)))
        out[setup] = {metric: _two_sided(null, obs, iterations) for metric, (null, obs) in tests.items()}
    return out


def _two_sided(null: np.ndarray, observed: float, iterations: int) -> float:
    if not np.isfinite(observed):
        return float("nan")
    tolerance = 1e-12 * max(1.0, abs(observed))  # floating-point ties count as extreme
    extreme = np.count_nonzero(np.abs(null[np.isfinite(null)]) >= abs(observed) - tolerance)
    return float((1 + extreme) / (1 + iterations))


# --- rank correlation ------------------------------------------------------------------------------


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 = smallest) along the last axis, ties sharing their mean rank."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, axis=-1, kind="stable")
    ranked = np.empty_like(values)
    np.put_along_axis(ranked, order, np.arange(1, values.shape[-1] + 1, dtype=float) * np.ones_like(values), axis=-1)
    # ties: replace each tied group's ranks by their mean
    flat_v, flat_r = values.reshape(-1, values.shape[-1]), ranked.reshape(-1, values.shape[-1])
    for row_v, row_r in zip(flat_v, flat_r):
        unique, inverse = np.unique(row_v, return_inverse=True)
        if unique.size < row_v.size:
            row_r[:] = (np.bincount(inverse, row_r) / np.bincount(inverse))[inverse]
    return flat_r.reshape(values.shape)


def spearman(predicted: Sequence[float], realized: np.ndarray) -> np.ndarray:
    """Spearman's rho of ``predicted`` (k,) against ``realized`` (..., k), along the last axis."""
    rp = ranks(np.asarray(predicted, dtype=float))
    rr = ranks(realized)
    rp, rr = rp - rp.mean(), rr - rr.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rr @ rp) / np.sqrt((rr ** 2).sum(axis=-1) * (rp ** 2).sum())
