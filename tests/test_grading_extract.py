"""Answer extraction: \\boxed{}, localized phrases, last number, choice letters."""

from __future__ import annotations

import pytest
from tests._grading_cases import ALL_LANGS, PHRASE_ANSWERS, RESPONSES, SWITCHING, TRAILER

from harness.core.literals import LITERALS, STUDY_LANGUAGES
from harness.grading import extract_answer, extract_boxed, extract_choice, grade, parse_number

# --- \boxed{} -----------------------------------------------------------------------------------

BOXED = [
    ("The answer is \\boxed{18}.", "18"),
    ("\\boxed{17} wait, I made a mistake: \\boxed{18}", "18"),  # the last box counts
    ("$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
    ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{2}}{2}"),  # nested braces
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces do not close the box
    ("\\boxed{a_{1}^{2}}", "a_{1}^{2}"),
    ("\\boxed 5$ and more", "5"),
    ("\\boxed {18}", "18"),
    ("\\fbox{18}", "18"),
    ("\\boxed{\\boxed{18}}", "18"),
    ("\\boxed{ 18 }", "18"),
    ("\\boxed{18} \\boxed{}", "18"),  # an empty box is no answer
    ("\\boxed{17} and then a truncated \\boxed{18", "17"),  # an unclosed box is skipped
    ("\\boxed{\\text{B}}", "\\text{B}"),
    ("\\boxed{18\\text{ dollars}}", "18\\text{ dollars}"),
]


@pytest.mark.parametrize("text,content", BOXED)
def test_extract_boxed(text, content):
    assert extract_boxed(text) == content


@pytest.mark.parametrize(
    "text", ["", "no box here", "\\boxed{", "\\boxed{}", "\\boxedx{18}", "\\boxed", "\\boxed\n",
             "\\boxed{18", None, 18]
)
def test_extract_boxed_none(text):
    assert extract_boxed(text) is None


def test_boxed_answer_followed_by_long_text():
    response = RESPONSES["en"] + TRAILER
    assert extract_boxed(response) == "18"
    assert grade(response, "18")


# --- strict and flexible across languages -------------------------------------------------------


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_strict_boxed_in_every_language(lang):
    response = RESPONSES[lang] + TRAILER
    assert parse_number(extract_answer(response, lang)) == 18
    assert grade(response, "18", lang=lang)
    assert not grade(response, "19", lang=lang)


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_strict_mode_needs_a_box(lang):
    assert extract_answer(PHRASE_ANSWERS[lang], lang, "strict") is None
    assert not grade(PHRASE_ANSWERS[lang], "18", lang=lang)


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_flexible_phrase_in_every_language(lang):
    # The phrase's 18 wins over the last number (7) in each language.
    assert parse_number(extract_answer(PHRASE_ANSWERS[lang], lang, "flexible")) == 18
    assert grade(PHRASE_ANSWERS[lang], "18", lang=lang, mode="flexible")


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_flexible_without_lang_knows_every_phrase(lang):
    assert parse_number(extract_answer(PHRASE_ANSWERS[lang], None, "flexible")) == 18


@pytest.mark.parametrize("lang", ALL_LANGS)
@pytest.mark.parametrize("phrase_index", [0, 1])
def test_every_literals_phrase_is_recognised(lang, phrase_index):
    phrases = LITERALS[lang].answer_phrases
    phrase = phrases[min(phrase_index, len(phrases) - 1)]
    text = f"Some reasoning with 3 and 4. {phrase} 18. Then 7 more words."
    assert parse_number(extract_answer(text, lang, "flexible")) == 18


def test_flexible_english_phrase_inside_other_language():
    text = "Sie verkauft 9 Eier für 2 Dollar. The final answer is 18. Danach 7 Worte."
    assert extract_answer(text, "de", "flexible") == "18"


def test_flexible_falls_back_to_last_number():
    text = "She has 16 eggs, eats 3, bakes 4 and sells 9 for $18"
    assert extract_answer(text, "en", "flexible") == "18"


def test_flexible_box_beats_phrase():
    text = "The answer is 17. Hmm, no. \\boxed{18}"
    assert extract_answer(text, "en", "flexible") == "18"


def test_flexible_last_phrase_counts():
    text = "The answer is 17? No. Recomputing... The answer is 18. (3 + 4 = 7)"
    assert extract_answer(text, "en", "flexible") == "18"


def test_flexible_negative_answers():
    assert parse_number(extract_answer("The answer is -5.", "en", "flexible")) == -5
    assert parse_number(extract_answer("Ответ — −5", "ru", "flexible")) == -5
    assert parse_number(extract_answer("The temperature falls to -5", "en", "flexible")) == -5


def test_phrase_on_its_own_line():
    assert extract_answer("**Final Answer:**\n\n18\n", "en", "flexible") == "18"


def test_phrase_needs_a_word_boundary_in_spaced_scripts():
    # "Ответить" (to answer) is not the phrase "Ответ".
    text = "Ответить 5 раз. Ответ: 7"
    assert extract_answer(text, "ru", "flexible") == "7"


def test_phrase_with_math_answer():
    assert extract_answer("The answer is $\\frac{3}{4}$.", "en", "flexible") == "\\frac{3}{4}"


def test_phrase_with_french_spaced_thousands():
    assert parse_number(extract_answer("La réponse est 1 250 $.", "fr", "flexible")) == 1250


def test_phrase_with_localized_digits():
    assert parse_number(extract_answer("คำตอบคือ ๑๘ ฟอง", "th", "flexible")) == 18
    assert parse_number(extract_answer("উত্তর: ১৮", "bn", "flexible")) == 18


def test_language_switching_response():
    assert grade(SWITCHING, "18", lang="de")


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError, match="mode"):
        extract_answer("\\boxed{1}", "en", "lenient")


def test_study_languages_have_phrases():
    assert set(STUDY_LANGUAGES) <= set(PHRASE_ANSWERS)


# --- multiple choice ----------------------------------------------------------------------------

CHOICES_STRICT = [
    ("\\boxed{B}", "B"), ("\\boxed{(B)}", "B"), ("\\boxed{\\text{B}}", "B"),
    ("\\boxed{\\textbf{(B)}}", "B"), ("\\boxed{B) 10^{-4} eV}", "B"), ("\\boxed{b}", "B"),
    ("$\\boxed{\\mathrm{D}}$", "D"), ("\\boxed{J}", "J"), ("\\boxed{A} then \\boxed{C}", "C"),
    ("\\boxed{K}", None), ("\\boxed{Bob}", None), ("\\boxed{18}", None), ("Die Antwort ist B", None),
]


@pytest.mark.parametrize("text,letter", CHOICES_STRICT)
def test_extract_choice_strict(text, letter):
    assert extract_choice(text) == letter


CHOICES_FLEXIBLE = [
    ("答案是 (B)", "zh", "B"), ("答案是B。", "zh", "B"), ("Die Antwort ist B", "de", "B"),
    ("Die Antwort ist Berlin. (C) ist falsch.", "de", None), ("The answer is: **C**", "en", "C"),
    ("The correct answer is (D).", "en", "D"), ("La respuesta es (A).", "es", "A"),
    ("La réponse est C.", "fr", "C"), ("答えは (E) です。", "ja", "E"), ("Ответ: B", "ru", "B"),
    ("คำตอบคือ (C)", "th", "C"), ("Jibu ni D", "sw", "D"), ("উত্তর হল (A)", "bn", "A"),
    ("Reasoning...\n\n(B)\n", "en", "B"), ("The answer is (B), not \\boxed{C}", "en", "C"),
    ("Answer: option B", "en", "B"),
]


@pytest.mark.parametrize("text,lang,letter", CHOICES_FLEXIBLE)
def test_extract_choice_flexible(text, lang, letter):
    assert extract_choice(text, lang, "flexible") == letter


def test_choice_letters_restrict():
    assert extract_choice("\\boxed{E}", letters="ABCD") is None
    assert extract_choice("\\boxed{D}", letters="ABCD") == "D"


def test_grade_choice():
    assert grade("答案是 $\\boxed{(B)}$。", "B", kind="choice", lang="zh")
    assert grade("\\boxed{B}", "\\boxed{B}", kind="choice")  # GPQA's solution field as gold
    assert not grade("\\boxed{C}", "B", kind="choice")
    assert grade("Die Antwort ist B.", "(B)", kind="choice", lang="de", mode="flexible")
    assert not grade("Die Antwort ist B.", "B", kind="choice", lang="de")  # strict needs a box
