"""Symbolic grading with real math-verify: equivalences, the worker pool, timeouts, gold answers."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from fractions import Fraction

import pytest

from harness.grading import GoldAnswerError, grade, grade_many, parse_gold
from harness.grading import mathequiv
from harness.grading.judge import plain_math_value
from tests._grading_cases import DATA


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
    # Start-up (importing sympy in each worker) is not charged to any call's timeout; pay it once
    # here so the timing assertions below measure grading only.
    mathequiv.warm_up()
    yield


EQUIVALENT = [
    ("\\frac{1}{2}", "The answer is \\boxed{0.5}"),
    ("\\frac{\\sqrt{2}}{2}", "\\boxed{\\sqrt{2}/2}"),
    ("\\frac{\\sqrt{6}}{4}", "\\boxed{\\dfrac{\\sqrt6}{4}}"),
    ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}"),
    ("8\\sqrt{5} - 16", "\\boxed{-16 + 8\\sqrt{5}}"),
    ("(-\\infty,-1)\\cup(6,+\\infty)", "\\boxed{(-\\infty, -1) \\cup (6, \\infty)}"),
    ("\\{1,2\\}", "\\boxed{\\{2, 1\\}}"),
    ("18", "\\boxed{18 \\text{ dollars}}"),
    ("18", "\\boxed{2 \\times 9}"),
    ("204", "so \\boxed{204} minutes." + " More text after the answer." * 20),
    ("x^2 + 2x + 1", "\\boxed{(x+1)^2}"),
    ("\\pi", "\\boxed{\\pi}"),
    ("1000", "\\boxed{1,000}"),
    ("\\frac{3}{4}", "\\boxed{\\frac{６}{８}}"),  # full-width digits, normalised before sympy
]


@pytest.mark.parametrize("gold,response", EQUIVALENT)
def test_equivalent_answers(gold, response):
    assert grade(response, gold, kind="math")


DIFFERENT = [
    ("\\frac{1}{2}", "\\boxed{0.25}"),
    ("2\\sqrt{2}", "\\boxed{2\\sqrt{3}}"),
    ("(1,2)", "\\boxed{[1,2]}"),
    ("\\{1,2\\}", "\\boxed{\\{1,3\\}}"),
    ("x^2 + 2x + 1", "\\boxed{(x-1)^2}"),
    ("18", "\\boxed{18.000001}"),  # differs at the 6th decimal: past math-verify's rounding
    ("2.125", "\\boxed{2125}"),  # in math a dot is always decimal
    ("18", "The answer is 18."),  # strict: no box, no credit
]


@pytest.mark.parametrize("gold,response", DIFFERENT)
def test_different_answers(gold, response):
    assert not grade(response, gold, kind="math")


def test_flexible_math_without_box():
    assert grade("The answer is $\\frac{\\sqrt{2}}{2}$.", "\\frac{\\sqrt2}{2}", kind="math", mode="flexible")


# --- the pool -----------------------------------------------------------------------------------


def test_plain_numbers_never_start_the_pool():
    mathequiv.shutdown()
    try:
        assert grade("\\boxed{\\frac{3}{4}}", "0.75", kind="math")
        assert grade("\\boxed{025}", "25", kind="math")
        assert not grade("\\boxed{26}", "25", kind="math")
        assert grade("\\boxed{2,125}", "2125")  # kind="number" never needs sympy either
        assert mathequiv._pool is None
    finally:
        mathequiv.warm_up()


def test_grading_from_a_thread():
    # math-verify's signal.alarm fails off the main thread (verl #5635): raw calls raise there
    # and a trainer that catches the error scores 0. Through the pool the answer is graded.
    from math_verify import parse

    outcome: dict[str, object] = {}

    def raw():
        try:
            outcome["raw"] = parse("\\boxed{\\sqrt{2}/2}")
        except ValueError as error:
            outcome["raw"] = error

    def ours():
        outcome["ours"] = grade("\\boxed{\\sqrt{2}/2}", "\\frac{\\sqrt{2}}{2}", kind="math")

    for target in (raw, ours):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(60)
    assert isinstance(outcome["raw"], ValueError)
    assert outcome["ours"] is True


def test_timeout_grades_wrong_and_is_counted():
    before = mathequiv.STATS["timeouts"]
    start = time.monotonic()
    # A power tower: sympy computes it in C, where no alarm can stop it.
    assert not grade("\\boxed{9^{9^{9^{9}}}}", "1", kind="math", timeout=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.5, elapsed
    assert mathequiv.STATS["timeouts"] == before + 1
    mathequiv.warm_up()
    assert grade("\\boxed{\\sqrt{4}}", "2", kind="math")  # the pool came back


def test_timeout_in_a_batch_spares_the_others():
    mathequiv.warm_up()
    responses = ["\\boxed{\\sqrt{4}}", "\\boxed{9^{9^{9^{9}}}}", "\\boxed{\\frac{\\pi}{2}}", "\\boxed{\\sqrt{9}}"]
    golds = ["2", "1", "\\pi/2", "3"]
    before = mathequiv.STATS["timeouts"]
    # 3 s: ample for the legitimate answers on a loaded 2-core box, nothing for the tower.
    assert grade_many(responses, golds, kind="math", timeout=3.0) == [True, False, True, True]
    assert mathequiv.STATS["timeouts"] == before + 1


def test_workers_killed_while_idle():
    # The OOM killer (or anyone) may kill an idle worker: the next call replaces it.
    mathequiv.warm_up()
    for pid in mathequiv.worker_pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert grade("\\boxed{\\sqrt{9}}", "3", kind="math")
    assert grade_many(["\\boxed{\\sqrt{4}}", "\\boxed{\\sqrt{9}}"], ["2", "3"], kind="math") == [True, True]


def test_huge_answers_skip_sympy():
    before = mathequiv.STATS["too_long"]
    assert not grade("\\boxed{" + "x+" * 5000 + "1}", "1", kind="math")
    assert mathequiv.STATS["too_long"] == before + 1


def test_number_kind_evaluates_expressions():
    assert grade("\\boxed{2 \\times 9}", "18")
    assert not grade("\\boxed{2 \\times 8}", "18")


# --- gold answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gold,kind,expected",
    [("18", "number", Fraction(18)), ("2,125", "number", Fraction(2125)), (18, "number", Fraction(18)),
     (0.5, "number", Fraction(1, 2)), ("#### 72", "number", Fraction(72)), ("\\boxed{18}", "number", 18),
     ("$\\frac{3}{4}$", "math", "\\frac{3}{4}"), ("\\boxed{\\sqrt{2}}", "math", "\\sqrt{2}"),
     ("025", "math", "025"), ("\\boxed{D}", "choice", "D"), ("(b)", "choice", "B")],
)
def test_parse_gold(gold, kind, expected):
    assert parse_gold(gold, kind) == expected


@pytest.mark.parametrize(
    "gold,kind",
    [("", "number"), ("eighteen", "number"), (None, "number"), (True, "number"), (float("nan"), "number"),
     ("2+3", "number"), ([18], "number"), ("", "math"), ("$$", "math"), (None, "math"),
     ("\\frac{", "math"), ("AB", "choice"), ("", "choice"), (3, "choice")],
)
def test_unparsable_gold_raises(gold, kind):
    with pytest.raises(GoldAnswerError):
        parse_gold(gold, kind)


@pytest.mark.parametrize("kind", ["number", "math", "choice"])
def test_unparsable_gold_never_grades_correct(kind):
    # open-r1 #503 paid reward 1.0 for an unparsable gold; here grading it raises...
    with pytest.raises(GoldAnswerError):
        grade("\\boxed{}", "", kind=kind)
    # ...or, for rewards, returns the error in that answer's place (never True).
    [verdict] = grade_many(["\\boxed{18}"], [""], kind=kind, gold_errors="return")
    assert isinstance(verdict, GoldAnswerError)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        grade("\\boxed{1}", "1", kind="fuzzy")


# --- real data ----------------------------------------------------------------------------------


def _need(path):
    if not path.exists():
        pytest.skip(f"real benchmark data not found at {path} (the shared/ data mirror beside the repo)")


@pytest.mark.parametrize("lang", ["en", "zh", "de", "ja", "ru", "th", "sw", "bn", "te", "es", "fr"])
def test_every_aime2024_gold(lang):
    path = DATA / "xreasoning" / f"aime2024_{lang}.jsonl"
    _need(path)
    golds = [json.loads(line)["answer"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(golds) == 30
    # AIME golds such as "025" match the answer 25 as models write it.
    responses = [f"Therefore the result is $\\boxed{{{int(g)}}}$." for g in golds]
    assert all(grade_many(responses, golds, kind="math"))
    wrong = [f"\\boxed{{{int(g) + 1}}}" for g in golds]
    assert not any(grade_many(wrong, golds, kind="math"))


@pytest.mark.parametrize("lang", ["en", "zh", "ja", "th", "es", "fr"])
def test_every_mmath_gold(lang):
    path = DATA / "mmath" / f"{lang}.json"
    _need(path)
    golds = [row["answer"] for row in json.loads(path.read_text(encoding="utf-8"))]
    normalized = [parse_gold(g, "math") for g in golds]  # none raises
    responses = [f"Donc la réponse est $\\boxed{{{g}}}$. Voilà." for g in normalized]
    assert all(grade_many(responses, golds, kind="math"))
    plain = [(g, v) for g, v in zip(golds, map(plain_math_value, normalized)) if v is not None]
    wrong = [f"\\boxed{{{v + 1}}}" for _, v in plain]
    assert not any(grade_many(wrong, [g for g, _ in plain], kind="math"))
