"""Right or wrong: parse gold answers once, then grade responses against them.

Three kinds of gold answer: ``number`` (MGSM, GSM8K: exact rational comparison after
normalisation), ``math`` (MATH500, AIME: math-verify in worker processes, with a fast path for
plain numbers; decimals are compared to 6 places, as math-verify does) and ``choice`` (a letter
A-J). An unparsable gold raises :class:`GoldAnswerError` and never grades as correct (open-r1
#503 paid reward 1.0 for it).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from harness.grading import mathequiv
from harness.grading.choice import extract_choice
from harness.grading.extract import LATEX, MODES, TEXT, extract_answer, extract_boxed, math_answer
from harness.grading.numbers import _token_value, ascii_digits, clean_latex_number, parse_number

log = logging.getLogger(__name__)

KINDS = ("number", "math", "choice")


class GoldAnswerError(ValueError):
    """A gold answer that cannot be parsed; raised at data-load time by :func:`parse_gold`."""


def _check(kind: str, mode: str = "strict") -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}; expected one of {', '.join(KINDS)}")
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {', '.join(MODES)}")


# --- gold answers -------------------------------------------------------------------------------


def _unwrap(gold: str) -> str:
    """Gold as datasets store it: GSM8K's "... #### 18", "\\boxed{18}", "$18$"."""
    text = gold.rsplit("####", 1)[-1].strip()
    boxed = extract_boxed(text) if text.startswith(("\\boxed", "\\fbox")) else None
    text = boxed if boxed is not None else text
    if len(text) >= 2 and text[0] == text[-1] == "$":
        text = text.strip("$").strip()
    return text


def _number_gold(gold) -> Fraction:
    if isinstance(gold, bool):
        raise GoldAnswerError(f"gold answer {gold!r} is a bool, not a number")
    if isinstance(gold, (int, Fraction)):
        return Fraction(gold)
    if isinstance(gold, (float, Decimal)):
        if not math.isfinite(gold):
            raise GoldAnswerError(f"gold answer {gold!r} is not a finite number")
        return Fraction(repr(gold)) if isinstance(gold, float) else Fraction(gold)
    if isinstance(gold, str):
        value = parse_number(_unwrap(gold))
        if value is not None:
            return value
    raise GoldAnswerError(f"gold answer {gold!r} is not a plain number")


def _math_gold_text(gold) -> str:
    if isinstance(gold, (int, Fraction)) and not isinstance(gold, bool):
        return latex_of(Fraction(gold))
    if not isinstance(gold, str) or not _unwrap(gold):
        raise GoldAnswerError(f"gold answer {gold!r} is empty or not text")
    return ascii_digits(_unwrap(gold))


def _choice_gold(gold) -> str:
    text = _unwrap(gold) if isinstance(gold, str) else ""
    match = re.fullmatch(r"[(\[]?\s*(?:\\text\{)?([A-Za-z])\}?\s*[)\].]?", text)
    if not match:
        raise GoldAnswerError(f"gold answer {gold!r} is not a choice letter")
    return match.group(1).upper()


@lru_cache(maxsize=65536)
def _parse_gold_cached(gold, kind: str):
    if kind == "number":
        return _number_gold(gold)
    if kind == "choice":
        return _choice_gold(gold)
    text = _math_gold_text(gold)
    if plain_math_value(text) is None and not mathequiv.gold_parses(text):
        raise GoldAnswerError(f"math-verify cannot parse the gold answer {gold!r}")
    return text


def parse_gold(gold, kind: str = "number"):
    """The normalised gold answer: a :class:`~fractions.Fraction` (``number``), a LaTeX string
    that math-verify parses (``math``) or an upper-case letter (``choice``).

    Call it when loading data, so a bad row fails there; raises :class:`GoldAnswerError`.
    """
    _check(kind)
    try:
        return _parse_gold_cached(gold, kind)
    except TypeError:  # unhashable: a list or dict where an answer belongs
        raise GoldAnswerError(f"gold answer {gold!r} is not a {kind} answer") from None


# --- numbers in math answers --------------------------------------------------------------------

_PLAIN = re.compile(r"(-?)(?:(\d+(?:\.\d+)?)|\\[dt]?frac\{(-?\d+)\}\{(\d+)\}|(\d+)/(\d+))")
# A digit run with separators, after clean_latex_number ({,} is then "," and TeX spaces are thin).
_SEPARATED = re.compile(r"-?\d+(?:[,. \u00a0\u202f\u2009']\d+)+")
_SPACES = set(" \u00a0\u202f\u2009'")
FLOAT_ROUNDING = 6
"""Decimal places to which a decimal answer and its gold are compared when either is written as
a decimal (math-verify's default ``float_rounding``): ``\\frac{1}{12}`` = ``0.083333``."""


@dataclass(frozen=True)
class PlainNumber:
    value: Fraction
    decimal: bool
    """Written with a decimal mark: math-verify reads it as a float and compares by rounding."""
    percent: bool
    latex: str
    """The number without its grouping, as math-verify should read it."""


def plain_number(text: str) -> PlainNumber | None:
    """A plain number in a math answer ("18", "-0.5", "\\frac{3}{4}", "3/4", "18\\%", "\\$18",
    "1 000", "10,\\!000", "1{,}000"), else None. Unlike :func:`parse_number`, a dot is always
    decimal and a bare comma is left to math-verify: in MATH "1,2" is a set and "2.125" a decimal.
    Thousands are grouped as in number grading: spaces of any width (``\\,`` ``~`` U+00A0 U+202F
    U+2009) between groups of three, ``,\\!`` and ``{,}`` (where ``1{,}5`` is 1.5, the number
    rule), so ``(1,5)`` stays a pair."""
    raw = text.replace(",\\!", "{,}")
    cleaned = clean_latex_number(raw).strip(" $")
    percent = "%" in text
    spaced = bool(_SPACES & set(cleaned))
    if (spaced or "," in cleaned) and _SEPARATED.fullmatch(cleaned):
        if not (spaced or "{,}" in raw):
            return None  # "1,000" or "1,5": math-verify decides (a number or a set)
        value = _token_value(cleaned)
        if value is None:
            return None
        decimal = "." in cleaned or value.denominator != 1
        digits = latex_of(value) if not decimal else _decimal_text(value)
        return PlainNumber(value, decimal, percent, digits + ("\\%" if percent else ""))
    match = _PLAIN.fullmatch(cleaned)
    if not match:
        return None
    sign, decimal, num, den = match.group(1), match.group(2), match.group(3), match.group(4)
    if decimal is not None:
        value = Fraction(decimal)
    else:
        num, den = (num, den) if num is not None else (match.group(5), match.group(6))
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
    value = -value if sign else value
    return PlainNumber(value, decimal is not None and "." in decimal, percent, text)


def _decimal_text(value: Fraction) -> str:
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def plain_math_value(text: str) -> Fraction | None:
    """The value of :func:`plain_number`, or None."""
    plain = plain_number(text)
    return plain.value if plain is not None else None


def plain_equal(answer: PlainNumber, gold: PlainNumber) -> bool | None:
    """Whether two plain numbers are equal as math-verify judges them, or None when only
    math-verify can say (a percent against a different value: 28\\% may mean 0.28)."""
    if answer.value == gold.value:
        return True
    if (answer.decimal or gold.decimal) and round(answer.value, FLOAT_ROUNDING) == round(gold.value, FLOAT_ROUNDING):
        return True  # half-even rounding, like sympy's Float.round
    if answer.percent or gold.percent:
        return None
    return False


def latex_of(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


# --- grading ------------------------------------------------------------------------------------


def _extract(response, kind: str, lang: str | None, mode: str):
    """The answer text (``number``, ``choice``) or ``(how, text)`` (``math``), or None."""
    if not isinstance(response, str):
        return None
    try:
        if kind == "choice":
            return extract_choice(response, lang, mode)
        if kind == "math":
            return math_answer(response, lang, mode)
        return extract_answer(response, lang, mode)
    except Exception:  # an extractor bug must cost one answer, not a training run
        log.exception("answer extraction failed; graded wrong")
        return None


@lru_cache(maxsize=65536)
def _gold_plain(gold_text: str) -> PlainNumber | None:
    return plain_number(gold_text)


def _math_fast_path(answer: tuple[str, str], gold_text: str) -> bool | None:
    """The verdict on two plain numbers without sympy, or None when math-verify must decide."""
    how, text = answer
    if how != LATEX:
        return None
    gold_plain = _gold_plain(gold_text)
    if gold_plain is None:
        return None
    answer_plain = plain_number(text)
    return plain_equal(answer_plain, gold_plain) if answer_plain is not None else None


# A digit group separated by a no-break, narrow no-break or thin space: math-verify's expression
# extraction groups thousands with plain spaces only.
_WIDE_GROUP = re.compile(r"(?<=\d)[\u00a0\u202f\u2009](?=\d{3}(?!\d))")


# Sentence punctuation written just inside a closing math delimiter ("$\\frac{1}{3}.$",
# "\\[x = 2,\\]"): math-verify 0.9 then fails to parse the span; not an ellipsis, and never the
# comma between two spans ("$1$, $2$" is a set).
_STOP_BEFORE_CLOSE = re.compile(r"(?<=[^\s$.])\s?[.,;](?=\$|\\\]|\\\))")


def _for_math_verify(answer: tuple[str, str]) -> tuple[str, str]:
    """``(answer, how)`` as the worker takes them: ASCII digits, thousands groups without their
    separators (``1 000`` would read as a product), no full stop inside ``$...$``."""
    how, text = answer
    text = ascii_digits(text)
    if how == TEXT:
        return _STOP_BEFORE_CLOSE.sub("", _WIDE_GROUP.sub(" ", text)), TEXT
    plain = plain_number(text)
    return (plain.latex if plain is not None else text), LATEX


def grade_many(
    responses: Sequence,
    golds: Sequence,
    *,
    kind: str | Sequence[str] = "number",
    langs: Sequence[str | None] | None = None,
    mode: str = "strict",
    timeout: float = 5.0,
    gold_errors: str = "raise",
) -> list:
    """Grade many responses at once (math answers go to the worker pool together).

    ``kind`` is one kind for all or one per response. With ``gold_errors="raise"`` the first
    unparsable gold raises :class:`GoldAnswerError`; with ``"return"`` the error object takes
    that response's place in the result list (rewards use this to score 0 and log).
    """
    n = len(responses)
    kinds = [kind] * n if isinstance(kind, str) else list(kind)
    langs = list(langs) if langs is not None else [None] * n
    if not (len(golds) == len(kinds) == len(langs) == n):
        raise ValueError("responses, golds, kinds and langs must have the same length")
    results: list = [False] * n
    pooled: list[tuple[int, str, str]] = []
    for i, (response, gold, k, lang) in enumerate(zip(responses, golds, kinds, langs)):
        _check(k, mode)
        try:
            gold_value = parse_gold(gold, k)  # cached: a math gold visits the pool once
        except GoldAnswerError as error:
            results[i] = error
            continue
        answer = _extract(response, k, lang, mode)
        if answer is None:
            continue
        if k == "choice":
            results[i] = answer == gold_value
        elif k == "number":
            value = parse_number(answer)
            if value is not None:
                results[i] = value == gold_value
            elif any(ch.isdigit() for ch in answer):  # "2 \times 9": let math-verify evaluate it
                pooled.append((i, latex_of(gold_value), ascii_digits(answer)))
        else:
            verdict = _math_fast_path(answer, gold_value)
            if verdict is None:
                pooled.append((i, gold_value, *_for_math_verify(answer)))
            else:
                results[i] = verdict
    if pooled:
        verdicts = mathequiv.verify_many([pair for _, *pair in pooled], timeout)
        for (i, gold_text, *_), verdict in zip(pooled, verdicts):
            if verdict is mathequiv.GOLD_UNPARSABLE:
                verdict = GoldAnswerError(f"math-verify cannot parse the gold answer {gold_text!r}")
            results[i] = verdict
    if gold_errors == "raise":
        for result in results:
            if isinstance(result, GoldAnswerError):
                raise result
    return results


def grade(response, gold, *, kind: str = "number", lang: str | None = None, mode: str = "strict",
          timeout: float = 5.0) -> bool:
    """Whether ``response`` answers ``gold`` correctly.

    Never raises on response text (None, megabytes, pathological LaTeX: all just wrong); a
    comparison that runs past ``timeout`` seconds is wrong. Raises :class:`GoldAnswerError` for an
    unparsable gold and ValueError for an unknown ``kind`` or ``mode``.
    """
    return grade_many([response], [gold], kind=kind, langs=[lang], mode=mode, timeout=timeout)[0]
