"""The cheap checks of a translated record, cheapest first; each returns a result with evidence.

(1) ``answer``: the answer is unchanged, and the translated solution's last ``\\boxed{}`` equals
    the gold answer (numbers compared by value with the grader's locale-aware parser);
(2) ``numbers``: every number of the source question (solution) appears in the translated
    question (solution), by value: "1,250", "1.250", "1\u00a0250" (no-break space) and "১২৫০"
    are one number, "7万" is 70000, and "drei" is no number;
(3) ``language``: each translated field's main language is the target, and at most
    :data:`MAX_OTHER_SHARE` of its letters are in another language (the harness's language ID);
(4) ``length``: the character-length ratio translation/source of each field lies within bounds
    learned from the data (:func:`learn_bounds`; a prior per script when there is too little).

A record is a dict in the corpus schema (``question``, ``solution``, ``answer``, ``lang``); an
empty ``solution`` (MGSM) skips what needs one. The model verifier, check (5), lives in
:mod:`harness.corpus.build` because it costs a request.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

CHECKS = ("answer", "numbers", "language", "length")
FIELDS = ("question", "solution")

MAX_OTHER_SHARE = 0.25
"""Share of a field's letters that may be identified as another language. Short sentences are
misidentified now and then (langid on a clause), so zero would reject good translations."""

MIN_FIT = 20
"""Records per language and field needed before length bounds are learned from the data."""
LENGTH_MADS = 5.0
"""Learned bounds: median log-ratio +- this many (normal-scaled) median absolute deviations..."""
MIN_HALF_WIDTH = math.log(1.5)
"""...but never tighter than a factor 1.5 either way (a uniform corpus has a tiny MAD)."""
# Prior bounds while too few records are known: Chinese and Japanese need about a third of the
# characters of English, other scripts roughly as many (MGSM questions: zh 0.31, ja 0.45, de 1.14).
PRIOR_BOUNDS = {"zh": (0.12, 1.0), "ja": (0.15, 1.3)}
DEFAULT_PRIOR = (0.45, 2.5)


@dataclass
class CheckResult:
    check: str
    passed: bool
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Verdict:
    """All cheap checks of one record; ``reason`` is the first failing check, in check order."""

    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def reason(self) -> str | None:
        return self.failures[0].check if self.failures else None


# --- (1) the answer -------------------------------------------------------------------------------


def same_answer(a: str | None, b: str | None) -> bool:
    """Whether two answers are the same: equal values when both are plain numbers, else equal
    text up to spaces (a translated ``\\text{}`` inside a box is a changed answer)."""
    if a is None or b is None:
        return False
    from harness.grading import parse_number

    x, y = parse_number(a), parse_number(b)
    if x is not None and y is not None:
        return x == y
    return re.sub(r"\s+", "", a) == re.sub(r"\s+", "", b)


def _equals_gold(gold: str, boxed: str, kind: str) -> bool:
    if same_answer(gold, boxed):
        return True
    if kind != "math":
        return False
    from harness.grading import grade  # math-verify, in the grader's worker pool: only when text differs

    try:
        return grade(f"\\boxed{{{boxed}}}", gold, kind="math")
    except ValueError:  # an unparsable gold is never equal
        return False


def check_answer(source: Mapping, target: Mapping) -> CheckResult:
    """The answer field is the gold; the translated solution's last box is the source's, unchanged,
    and equals the gold (by value for numbers, by math-verify for LaTeX answers)."""
    from harness.grading import extract_boxed

    gold = str(source["answer"])
    evidence: dict = {"gold": gold, "answer": str(target.get("answer", ""))}
    if not same_answer(gold, evidence["answer"]):
        return CheckResult("answer", False, {**evidence, "problem": "the answer field changed"})
    if str(source.get("solution") or "").strip():
        boxed = extract_boxed(str(target.get("solution") or ""))
        source_boxed = extract_boxed(str(source["solution"]))
        evidence["boxed"] = boxed
        if boxed is None:
            return CheckResult("answer", False, {**evidence, "problem": "the translated solution has no \\boxed{}"})
        if source_boxed is not None and not same_answer(source_boxed, boxed):
            return CheckResult("answer", False, {**evidence, "source_boxed": source_boxed,
                                                 "problem": "the boxed answer changed in translation"})
        if not _equals_gold(gold, boxed, str(source.get("answer_kind") or "number")):
            return CheckResult("answer", False, {**evidence, "problem": "the boxed answer differs from the gold"})
    return CheckResult("answer", True, evidence)


# --- (2) the numbers ------------------------------------------------------------------------------

# A digit run (any script: \d is Unicode) with thousands/decimal separators between digits, and
# the CJK multipliers that may follow it. Plain spaces never join, as in the grader's free text.
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,\u00a0\u202f\u2009']\d+)*(?:[百千万萬亿億](?![克米瓦卡兆]))*")
# French, Russian and Spanish group thousands with a plain space too ("80 000").
_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d.,]\d)")


def numbers_in(text: str, *, spaced: bool = False) -> set:
    """The values of every number in ``text``, as exact fractions (sign ignored: "-5" and "−5"
    are written in too many ways to compare, and a dropped sign also changes the answer).
    ``spaced`` also reads digit groups joined by plain spaces as one number ("80 000" gives
    80000 besides 80 and 0): right for a translation, where the locale may group so, but not
    for the source, where "2 300 ml bottles" is two numbers."""
    from fractions import Fraction

    from harness.grading import parse_number

    values = set()
    for token in _NUMBER_TOKEN.findall(text or ""):
        value = parse_number(token)
        if value is not None:
            values.add(abs(value))
        else:  # inconsistent separators ("1,2,3"): each digit run is a number
            values.update(Fraction(int(d)) for d in re.findall(r"[0-9]+", _ascii(token)))
    if spaced:
        for token in _SPACED_THOUSANDS.findall(text or ""):
            value = parse_number(token)
            if value is not None:
                values.add(value)
    return values


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(str(unicodedata.decimal(c)) if c.isdigit() and not c.isascii() else c for c in text)


def _show(value) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def check_numbers(source: Mapping, target: Mapping) -> CheckResult:
    """Field by field: a number the question had must be in the translated question, one the
    solution had in the translated solution."""
    evidence: dict = {}
    for name in FIELDS:
        wanted = numbers_in(str(source.get(name) or ""))
        found = numbers_in(str(target.get(name) or ""), spaced=True)
        missing = sorted(wanted - found)
        evidence[name] = len(wanted)
        if missing:
            evidence.update(field=name, missing=[_show(v) for v in missing[:10]])
            added = sorted(found - wanted)
            if added:
                evidence["added"] = [_show(v) for v in added[:10]]
            return CheckResult("numbers", False, evidence)
    return CheckResult("numbers", True, evidence)


# --- (3) the language -----------------------------------------------------------------------------


def check_language(target: Mapping, lang: str, candidates: Sequence[str] | None = None,
                   max_other: float = MAX_OTHER_SHARE) -> CheckResult:
    from harness.lang.language_id import UNDETERMINED, language_mix, main_language

    evidence: dict = {}
    for name in FIELDS:
        text = str(target.get(name) or "")
        if not text.strip():
            continue
        main = main_language(text, candidates)
        mix = language_mix(text, candidates, unit="char")
        other = {code: round(share, 3) for code, share in mix.items() if code not in (lang, UNDETERMINED)}
        evidence[name] = {"main": main, "other_share": round(sum(other.values()), 3)}
        if main not in (lang, UNDETERMINED) or sum(other.values()) > max_other:
            evidence[name]["other"] = dict(list(other.items())[:3])
            return CheckResult("language", False, {**evidence, "field": name})
    return CheckResult("language", True, evidence)


# --- (4) the length ratio -------------------------------------------------------------------------


def length_ratios(source: Mapping, target: Mapping) -> dict[str, float]:
    """translation/source character ratio of each field both sides have."""
    ratios = {}
    for name in FIELDS:
        src, dst = str(source.get(name) or ""), str(target.get(name) or "")
        if src.strip():
            ratios[name] = len(dst.strip()) / len(src.strip())
    return ratios


def learn_bounds(samples: Iterable[tuple[str, str, float]]) -> dict[tuple[str, str], tuple[float, float]]:
    """Length bounds per (language, field) from ``(lang, field, ratio)`` samples: the median
    log-ratio +- :data:`LENGTH_MADS` robust deviations (at least a factor 1.5), learned once a
    language has :data:`MIN_FIT` samples; languages with fewer are left to the prior."""
    groups: dict[tuple[str, str], list[float]] = {}
    for lang, name, ratio in samples:
        if ratio > 0:
            groups.setdefault((lang, name), []).append(math.log(ratio))
    bounds = {}
    for key, logs in groups.items():
        if len(logs) < MIN_FIT:
            continue
        middle = statistics.median(logs)
        mad = 1.4826 * statistics.median(abs(x - middle) for x in logs)
        half = max(LENGTH_MADS * mad, MIN_HALF_WIDTH)
        bounds[key] = (round(math.exp(middle - half), 4), round(math.exp(middle + half), 4))
    return bounds


def bounds_for(bounds: Mapping[tuple[str, str], tuple[float, float]], lang: str, name: str) -> tuple[float, float]:
    return bounds.get((lang, name)) or PRIOR_BOUNDS.get(lang, DEFAULT_PRIOR)


def check_length(source: Mapping, target: Mapping, lang: str,
                 bounds: Mapping[tuple[str, str], tuple[float, float]]) -> CheckResult:
    evidence: dict = {}
    for name, ratio in length_ratios(source, target).items():
        low, high = bounds_for(bounds, lang, name)
        evidence[name] = {"ratio": round(ratio, 3), "bounds": [low, high]}
        if not low <= ratio <= high:
            return CheckResult("length", False, {**evidence, "field": name})
    return CheckResult("length", True, evidence)


# --- all of them ----------------------------------------------------------------------------------


def verify(source: Mapping, target: Mapping, lang: str, bounds: Mapping | None = None,
           candidates: Sequence[str] | None = None) -> Verdict:
    """Checks (1)-(4) of one translated record, all of them run and recorded."""
    return Verdict([
        check_answer(source, target),
        check_numbers(source, target),
        check_language(target, lang, candidates),
        check_length(source, target, lang, bounds or {}),
    ])
