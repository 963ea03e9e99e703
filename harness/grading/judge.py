"""Right or wrong: parse gold answers once, then grade responses against them.

Three kinds of gold answer: ``number`` (MGSM, GSM8K: exact rational comparison after
normalisation), ``math`` (MATH500, AIME: math-verify in a process pool, with a fast path for
plain numbers) and ``choice`` (a letter A-J). An unparsable gold raises :class:`GoldAnswerError`
and never grades as correct (open-r1 #503 paid reward 1.0 for it).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from harness.grading import mathequiv
from harness.grading.choice import extract_choice
from harness.grading.extract import MODES, extract_answer, extract_boxed
from harness.grading.numbers import ascii_digits, clean_latex_number, parse_number

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


def plain_math_value(text: str) -> Fraction | None:
    """The value of a plain number in a math answer ("18", "-0.5", "\\frac{3}{4}", "3/4", "18\\%",
    "\\$18"), else None. Unlike :func:`parse_number`, a dot is always decimal and commas are left
    to math-verify: in MATH "1,2" is a set and "2.125" a decimal."""
    match = _PLAIN.fullmatch(clean_latex_number(text).strip(" $"))
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
    return -value if sign else value


def latex_of(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


# --- grading ------------------------------------------------------------------------------------


def _extract(response, kind: str, lang: str | None, mode: str) -> str | None:
    if not isinstance(response, str):
        return None
    try:
        if kind == "choice":
            return extract_choice(response, lang, mode)
        return extract_answer(response, lang, mode)
    except Exception:  # an extractor bug must cost one answer, not a training run
        log.exception("answer extraction failed; graded wrong")
        return None


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
            answer_value, gold_plain = plain_math_value(answer), plain_math_value(gold_value)
            if answer_value is not None and gold_plain is not None:
                results[i] = answer_value == gold_plain
            else:
                pooled.append((i, gold_value, ascii_digits(answer)))
    if pooled:
        verdicts = mathequiv.verify_many([(g, a) for _, g, a in pooled], timeout)
        for (i, gold_text, _), verdict in zip(pooled, verdicts):
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
