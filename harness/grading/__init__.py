"""Answer grading that holds up in ten languages.

Public API (other modules and plugins code against these names)::

    extract_boxed(text) -> str | None
    extract_answer(text, lang=None, mode="strict") -> str | None
    extract_choice(text, lang=None, mode="strict", letters="ABCDEFGHIJ") -> str | None
    parse_number(text) -> Fraction | None
    parse_gold(gold, kind="number") -> Fraction | str      # raises GoldAnswerError
    grade(response, gold, *, kind="number", lang=None, mode="strict", timeout=5.0) -> bool
    grade_many(responses, golds, *, kind=..., langs=..., mode=..., timeout=..., gold_errors=...)
    GradingPoolError                                      # math-verify workers could not start

See docs/rewards.md for the normalisation rules and their limits.
"""

from harness.grading.choice import extract_choice
from harness.grading.extract import MODES, extract_answer, extract_boxed
from harness.grading.judge import KINDS, GoldAnswerError, grade, grade_many, parse_gold
from harness.grading.mathequiv import GradingPoolError
from harness.grading.numbers import parse_number

__all__ = [
    "KINDS",
    "MODES",
    "GoldAnswerError",
    "GradingPoolError",
    "extract_answer",
    "extract_boxed",
    "extract_choice",
    "grade",
    "grade_many",
    "parse_gold",
    "parse_number",
]
