"""Properties that must hold for any response text: grading never raises, never runs past its
timeout, and number formatting never changes a number's value."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.grading import extract_answer, extract_boxed, extract_choice, grade, parse_number
from harness.grading import mathequiv
from harness.lang.language_id import language_mix, main_language
from tests._grading_cases import script_digits

# Pieces real responses and adversarial ones are made of.
TOKENS = [
    "\\boxed", "\\boxed{", "\\fbox{", "{", "}", "\\{", "\\}", "\\frac", "\\dfrac{", "^", "_", "\\sqrt{",
    "\\left(", "\\right)", "\\text{", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\", "9", "18", "-",
    "−", "/", ",", ".", " ", "\n", "\u202f", "\u00a0", "১৮", "๑๘", "１８", "7万", "%", "\\%", "\\$",
    "答案是", "The answer is", "Die Antwort ist", "Ответ:", "คำตอบคือ", "(B)", "B", "x", "=", "*",
    "```", "`", "\\begin{align}", "\\end{align}", "\\infty", "\\cup", "e", "é", "\u0301", "\x00",
]
responses = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=80).map("".join),
)
SLACK = 1.5  # killing a stuck worker and bookkeeping, on a loaded 2-core CI box


@pytest.fixture(scope="module", autouse=True)
def warm():
    # One-time costs are not what these tests time: sympy in the workers, langid's model (bz2).
    mathequiv.warm_up()
    main_language("Das ist ein deutscher Satz, der das Modell einmal lädt.")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=responses, lang=st.sampled_from([None, "en", "zh", "de", "ru", "th", "bn", "xx"]),
       mode=st.sampled_from(["strict", "flexible"]))
def test_number_and_choice_grading_never_raise(text, lang, mode):
    assert grade(text, "18", lang=lang, mode=mode, timeout=2.0) in (True, False)
    assert grade(text, "B", kind="choice", lang=lang, mode=mode) in (True, False)
    answer = extract_answer(text, lang, mode)
    assert answer is None or isinstance(answer, str)
    assert extract_choice(text, lang, mode) in (None, *"ABCDEFGHIJ")


# Balanced but pathological LaTeX: deep fractions, towers, radicals, sets, huge numbers.
latex = st.recursive(
    st.sampled_from(["9", "99999999999", "x", "\\pi", "\\infty", "0", "-1", "e", "\\emptyset", "1,000", "১৮"]),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
        st.tuples(inner, inner).map(lambda t: f"{{{t[0]}}}^{{{t[1]}}}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}+{t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"\\{{{t[0]}, {t[1]}\\}}"),
        inner.map(lambda t: f"\\sqrt{{{t}}}"),
        inner.map(lambda t: f"\\left({t}\\right)!"),
        inner.map(lambda t: f"\\sin{{{t}}}"),
    ),
    max_leaves=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(latex.map(lambda t: f"So \\boxed{{{t}}}."),
                      st.lists(st.sampled_from(TOKENS), min_size=1, max_size=60).map(lambda t: "\\boxed{" + "".join(t) + "}")))
def test_math_grading_never_raises_nor_overruns(text):
    mathequiv.warm_up()  # start-up after a killed pool is not charged to the call
    start = time.monotonic()
    assert grade(text, "\\frac{\\sqrt{2}}{2}", kind="math", timeout=1.0) in (True, False)
    assert time.monotonic() - start < 1.0 + SLACK


@pytest.mark.parametrize(
    "build",
    [
        lambda n: "{" * n,
        lambda n: "\\boxed{" * (n // 7),
        lambda n: "\\boxed{" * (n // 14) + "}" * (n // 14),
        lambda n: "\\boxed{1}" * (n // 9),
        lambda n: "$" * n,
        lambda n: "$a " * (n // 3),
        lambda n: "\\[" * (n // 2),
        lambda n: "1," * (n // 2),
        lambda n: "1 " * (n // 2),
        lambda n: "The answer is " * (n // 14),
        lambda n: "答案是" * (n // 3),
        lambda n: "\\frac{" * (n // 6),
        lambda n: "x" * n + "\\boxed{18}",
        lambda n: "\\boxed{" + "9^{" * (n // 3) + "}" * (n // 3) + "}",
        lambda n: "\\boxed{" + "(" * (n // 2) + ")" * (n // 2) + "}",
    ],
    ids=["braces", "open-boxes", "nested-boxes", "many-boxes", "dollars", "currency", "display",
         "commas", "spaces", "phrases", "zh-phrases", "fracs", "long-then-box", "power-tower", "parens"],
)
def test_megabyte_responses(build):
    text = build(1_000_000)
    mathequiv.warm_up()
    for kind, gold in (("number", "18"), ("choice", "B"), ("math", "\\pi")):
        for mode in ("strict", "flexible"):
            start = time.monotonic()
            assert grade(text, gold, kind=kind, mode=mode, timeout=1.0) in (True, False)
            assert time.monotonic() - start < 1.0 + 2 * SLACK, (kind, mode)
    start = time.monotonic()
    assert isinstance(main_language(text), str)
    assert sum(language_mix(text).values()) == pytest.approx(1.0)
    assert time.monotonic() - start < 2 * 2 * SLACK


def test_long_text_before_a_box_still_grades():
    assert grade("x" * 1_000_000 + "\\boxed{18}", "18")


# --- formatting never changes a value -----------------------------------------------------------

SCRIPTS = ["0", "০", "๐", "०", "０", "٠", "۰", "౦"]
GROUPS = [",", ".", "\u202f", "\u00a0", " ", "\u2009"]


def grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**12), sep=st.sampled_from(GROUPS), zero=st.sampled_from(SCRIPTS),
       negative=st.booleans())
def test_grouped_integers(n, sep, zero, negative):
    text = script_digits(grouped(n, sep), zero)
    value = -n if negative else n
    if negative:
        text = "\u2212" + text
    # A single group separator before exactly three digits with a 1-3 digit head: thousands.
    assert parse_number(text) == value
    assert grade(f"So the result is \\boxed{{{text}}} in total.", str(value))
    assert not grade(f"So the result is \\boxed{{{text}}} in total.", str(value + 1))


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(min_value=0, max_value=10**6), frac=st.integers(min_value=1, max_value=99),
       mark=st.sampled_from([".", ","]))
def test_decimals_with_two_places(whole, frac, mark):
    text = f"{whole}{mark}{frac:02d}"
    assert parse_number(text) == whole + Fraction(frac, 100)


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(min_value=1, max_value=999), frac=st.integers(min_value=0, max_value=999),
       mark=st.sampled_from([".", ","]))
def test_ambiguous_three_places_are_thousands(whole, frac, mark):
    # The documented rule: "1,250" and "1.250" are 1250, in every language.
    assert parse_number(f"{whole}{mark}{frac:03d}") == whole * 1000 + frac


@settings(max_examples=200, deadline=None)
@given(content=st.text(alphabet=st.characters(blacklist_characters="{}\\"), min_size=1, max_size=50),
       prefix=st.text(alphabet=st.characters(blacklist_characters="\\"), max_size=100),
       suffix=st.text(alphabet=st.characters(blacklist_characters="\\"), max_size=100))
def test_boxed_content_is_recovered(content, prefix, suffix):
    assert extract_boxed(f"{prefix}\\boxed{{{content}}}{suffix}") == (content.strip() or None)


@settings(max_examples=100, deadline=None)
@given(num=st.integers(min_value=-10**6, max_value=10**6), den=st.integers(min_value=1, max_value=10**6))
def test_fractions(num, den):
    assert parse_number(f"{num}/{den}") == Fraction(num, den)
    sign = "-" if num < 0 else ""
    assert parse_number(f"{sign}\\frac{{{abs(num)}}}{{{den}}}") == Fraction(num, den)
