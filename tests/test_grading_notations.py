"""Table-driven checks of math and multiple-choice answers in the notations models write, in the
study's languages: flexible LaTeX without a box, decimal approximations, thousands groups in math
answers, and choice letters that cannot be gamed."""

from __future__ import annotations

import pytest

from harness.grading import extract_choice, grade, grade_many
from harness.grading import mathequiv


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
    mathequiv.warm_up()  # start-up is not what these tests measure
    yield


# --- flexible mode: LaTeX answers without a box --------------------------------------------------

# (gold, the answer as written, wrong answer in the same notation)
ANSWERS = [
    ("[0,1)", "[0,1)", "(0,1)"),
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi)"),
    ("x \\geq 5", "x \\ge 5", "x \\leq 5"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
     "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}"),
    ("\\sqrt{3}", "\\sqrt3", "\\sqrt2"),
    ("\\frac{1}{3}", "\\cfrac{1}{3}", "\\cfrac{1}{4}"),
    ("(-\\infty, -3] \\cup [2, \\infty)", "(-\\infty,-3]\\cup[2,\\infty)", "[-3, 2]"),
]
DELIMITERS = [("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$")]
# How each language ends a solution with the answer in math and no answer phrase (math-verify's
# own extraction then takes the last LaTeX span or expression, as math-verify does), and with its
# localized answer phrase, which wins over any later number (math-verify only knows English).
PROSE = {
    "en": "From step 2 we know x > 1. Therefore the result is {math}. This completes the solution.",
    "zh": "由第 2 步可知 x > 1。因此结果是 {math}。",
    "de": "Aus Schritt 2 folgt x > 1. Damit erhalten wir {math}. Das beendet die Lösung.",
    "ru": "Из шага 2 следует x > 1. Итак, получаем {math}. Решение закончено.",
}
PHRASED = {
    "zh": "所以答案是 {math}。（第 2 步）",
    "de": "Die Antwort ist {math} (siehe Schritt 2).",
    "es": "La respuesta es {math} (ver paso 2).",
    "fr": "La réponse est {math} (voir l'étape 2).",
    "ja": "答えは {math} です（ステップ 2）。",
    "ru": "Ответ: {math} (см. шаг 2).",
    "th": "คำตอบคือ {math} (ดูขั้นตอนที่ 2)",
    "sw": "Jibu ni {math} (tazama hatua 2).",
    "bn": "উত্তর হল {math} (ধাপ ২ দেখুন)।",
}


def _cases():
    for gold, right, wrong in ANSWERS:
        for lang, template in PROSE.items():
            for left, close in DELIMITERS:
                yield gold, template.format(math=f"{left}{right}{close}"), template.format(math=f"{left}{wrong}{close}"), lang
        for lang, template in PHRASED.items():
            yield gold, template.format(math=f"${right}$"), template.format(math=f"${wrong}$"), lang


CASES = list(_cases())


def test_flexible_latex_without_a_box():
    # A number ("1", "2") follows or precedes the answer: the old last-number fallback graded
    # every one of these wrong.
    golds = [gold for gold, *_ in CASES]
    langs = [lang for *_, lang in CASES]
    right = grade_many([r for _, r, _, _ in CASES], golds, kind="math", langs=langs, mode="flexible")
    wrong = grade_many([w for _, _, w, _ in CASES], golds, kind="math", langs=langs, mode="flexible")
    assert [c for c, ok in zip(CASES, right) if ok is not True] == []
    assert [c for c, ok in zip(CASES, wrong) if ok is not False] == []


def test_long_unboxed_response():
    # Only the tail of a long response goes to math-verify; a cut inside "$...$" must not shift
    # the pairing of the dollar signs after it.
    step = "We know $a_{k} = k$ and $b_k = 2k$ for step $k$, so the sum grows.\n"
    text = step * 400 + "Therefore the domain is $[0,1)$."
    assert len(text) > 3 * mathequiv.MAX_TEXT_CHARS
    for pad in range(0, 70, 7):  # moves the cut across a line
        assert grade(text + " " * pad, "[0,1)", kind="math", mode="flexible")
    assert not grade(text, "(0,1)", kind="math", mode="flexible")


def test_strict_mode_still_needs_a_box():
    gold, right, _, lang = CASES[0]
    assert not grade(right, gold, kind="math", lang=lang)


def test_localized_phrase_beats_a_later_number():
    text = "Die Antwort ist $\\frac{3}{4}$, also 75 Prozent von 4."
    assert grade(text, "\\frac{3}{4}", kind="math", lang="de", mode="flexible")


def test_number_kind_keeps_the_last_number():
    text = "So $x \\geq 5$, and the smallest integer is 5"
    assert grade(text, "5", kind="number", mode="flexible")


def test_math_kind_with_localized_digits():
    assert grade("উত্তর হল $\\frac{১}{৩}$।", "\\frac{1}{3}", kind="math", lang="bn", mode="flexible")
    assert grade("คำตอบคือ ๑๘", "18", kind="math", lang="th", mode="flexible")


# --- numeric tolerance ---------------------------------------------------------------------------

TOLERANCE = [
    ("\\frac{1}{12}", "\\boxed{0.0833333333333333}", True),
    ("\\frac{1}{12}", "so $0.0833333333333333$ in the end.", True),
    ("\\frac{1}{3}", "\\boxed{0.333333}", True),
    ("0.333333", "\\boxed{\\frac{1}{3}}", True),
    ("\\frac{1}{3}", "\\boxed{0.33}", False),
    ("\\frac{1}{3}", "\\boxed{0.3333}", False),
    ("\\sqrt{2}", "\\boxed{1.414214}", True),
    ("\\sqrt{2}", "\\boxed{1.41}", False),
    ("18", "\\boxed{18.0000001}", True),  # within math-verify's 6 decimal places
    ("18", "\\boxed{18.000001}", False),
    ("\\frac{1}{8}", "\\boxed{0.125}", True),
    ("28\\%", "\\boxed{28}", True),
]


@pytest.mark.parametrize("gold,response,expected", TOLERANCE)
def test_decimal_approximations(gold, response, expected):
    assert grade(response, gold, kind="math", mode="flexible") is expected


# --- thousands groups in math answers -----------------------------------------------------------

GROUPED_1000 = ["1 000", "1\\,000", "1~000", "1\\ 000", "1\u00a0000", "1\u202f000", "1\u2009000", "1{,}000",
                "1,\\!000", "1,000", "\\text{1 000}"]


@pytest.mark.parametrize("written", GROUPED_1000)
@pytest.mark.parametrize("kind", ["math", "number"])
def test_grouped_thousands(written, kind):
    assert grade(f"\\boxed{{{written}}}", "1000", kind=kind)
    assert not grade(f"\\boxed{{{written}}}", "100", kind=kind)


@pytest.mark.parametrize("written", ["1\\,000", "1{,}000", "1\u202f000", "1~000", "10,\\!000"])
def test_grouped_thousands_after_localized_phrases(written):
    gold = "10000" if "!" in written else "1000"
    texts = [template.format(math=f"${written}$") for template in PHRASED.values()]
    assert all(grade_many(texts, [gold] * len(texts), kind="math", langs=list(PHRASED), mode="flexible"))


@pytest.mark.parametrize(
    "response,gold,math,number",
    [
        ("\\boxed{(1,5)}", "15", False, False),  # a pair, never fifteen
        ("\\boxed{1,5}", "15", False, False),
        ("\\boxed{1{,}5}", "1.5", True, True),  # German LaTeX decimal comma
        ("\\boxed{1,5}", "1.5", False, True),  # the documented choice: in math, "1,5" is a set
        ("\\boxed{2,125}", "2125", True, True),
        ("\\boxed{10,\\!000.5}", "10000.5", True, False),
        ("\\boxed{1 5}", "15", False, False),
    ],
)
def test_grouping_never_merges_a_list(response, gold, math, number):
    assert grade(response, gold, kind="math") is math
    if number:
        assert grade(response, gold, kind="number")


# --- multiple choice ----------------------------------------------------------------------------

# How ten languages announce a letter: (lang, template)
CHOICE_PHRASES = [
    ("en", "The answer is {x}."), ("zh", "答案是{x}。"), ("de", "Die Antwort ist {x}."),
    ("es", "La respuesta es {x}."), ("fr", "La réponse est {x}."), ("ja", "答えは{x}です。"),
    ("ru", "Ответ: {x}."), ("th", "คำตอบคือ {x}"), ("sw", "Jibu ni {x}."), ("bn", "উত্তর হল {x}।"),
]
# Letters as written -> the letter shown
SHOWN = [
    ("B", "B"), ("(B)", "B"), ("Ｂ", "B"), ("（Ｄ）", "D"), ("（D）", "D"), ("(a)", "A"), ("(c)", "C"),
    ("В", "B"), ("(С)", "C"), ("А", "A"), ("Е", "E"), ("【C】", "C"),
]
# Several letters in one answer: a hedge, always wrong
HEDGES = ["A, C", "A or C", "A/C", "(A) and (C)", "A и С", "A oder C", "A ou C", "A 或 C", "A、C", "(A)(C)",
          "A y C", "A au C", "A か C", "A หรือ C", "A বা C"]


@pytest.mark.parametrize("lang,template", CHOICE_PHRASES)
def test_letters_as_written(lang, template):
    for written, letter in SHOWN:
        assert extract_choice(template.format(x=written), lang, "flexible") == letter, written
        assert extract_choice(f"\\boxed{{{written}}}", lang) == letter, written
        boxed = "$\\boxed{" + written + "}$"
        assert grade("... " + template.format(x=boxed), letter, kind="choice", lang=lang)


@pytest.mark.parametrize("lang,template", CHOICE_PHRASES)
def test_hedges_grade_wrong(lang, template):
    for hedge in HEDGES:
        for gold in "AC":
            assert not grade(f"\\boxed{{{hedge}}}", gold, kind="choice", lang=lang), hedge
            assert not grade(template.format(x=hedge), gold, kind="choice", lang=lang, mode="flexible"), hedge
            # a hedge in the box is final: a single letter elsewhere does not rescue it
            hedged = f"{template.format(x=gold)}\n\n\\boxed{{{hedge}}}"
            assert not grade(hedged, gold, kind="choice", lang=lang, mode="flexible"), hedge


@pytest.mark.parametrize(
    "text,letter",
    [
        ("Ответ: В итоге получаем 5 вариантов.", None),  # "В" is the preposition here
        ("The answer is a number between 1 and 5.", None),
        ("The answer is B. C is wrong.", "B"),
        ("The answer is B (C is a distractor).", "B"),
        ("\\boxed{A, A}", "A"),
        ("\\boxed{B) 12 eV}", "B"),
        ("\\boxed{A} at first, then \\boxed{C}", "C"),
        ("Reasoning...\n\n（Ｂ）\n", "B"),
        ("Reasoning...\n\nС\n", "C"),
    ],
)
def test_choice_edge_cases(text, letter):
    assert extract_choice(text, None, "flexible") == letter
