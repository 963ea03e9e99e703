"""Language identification with real langid (harness.lang.language_id)."""

from __future__ import annotations

import math

import pytest

from harness.lang.language_id import (
    MIN_LETTERS,
    UNDETERMINED,
    clean_text,
    language_mix,
    main_language,
)
from harness.core.literals import LITERALS, STUDY_LANGUAGES
from tests._grading_cases import ALL_LANGS, MGSM, PHRASE_ANSWERS, RESPONSES, SWITCHING, TRAILER, read_mgsm


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_model_style_responses(lang):
    assert main_language(RESPONSES[lang]) == lang
    assert main_language(PHRASE_ANSWERS[lang]) == lang


@pytest.mark.parametrize(
    "text", ["", "   ", "\\boxed{18}", "$16 - 3 - 4 = 9$", "18", "১৮", "9 × 2 = 18", "Ja.", "答案",
             "```python\nprint(18)\n```", None]
)
def test_too_short_or_numeric_is_undetermined(text):
    assert main_language(text) == UNDETERMINED


def test_threshold_counts_letters_after_cleaning():
    assert main_language("a" * (MIN_LETTERS - 1) + " 1234567890 $x^2+y^2$") == UNDETERMINED
    assert main_language("Das ist ein ganz normaler deutscher Satz.") == "de"


def test_cleaning_removes_math_code_numbers_and_boxes():
    text = (
        "Sie verkauft 9 Eier für $2 pro Ei, also $18. Es gilt $x^2 + 3$ und \\(a+b\\).\n"
        "```python\nprint('the answer is')\n```\n$$\\frac{16 - 3 - 4}{1} = 9$$ "
        "Die Antwort ist \\boxed{\\text{eighteen dollars}}."
    )
    cleaned = clean_text(text)
    for gone in ("print", "frac", "eighteen", "x^", "18", "9", "$", "\\", "{"):
        assert gone not in cleaned, gone
    assert "Sie verkauft Eier für pro Ei" in cleaned  # currency "$" is not taken for math
    assert main_language(text) == "de"


def test_latex_heavy_english_is_still_english():
    text = "We have " + "$\\int_0^1 x^{2} \\, dx = \\frac{1}{3}$ and " * 30 + "so the area is one third."
    assert main_language(text) == "en"


def test_german_with_english_code_is_german():
    text = ("Wir zählen die Eier mit einem kleinen Programm und prüfen das Ergebnis.\n"
            "```python\nfor egg in eggs:\n    print('selling the remaining eggs at the market')\n```\n"
            "Das Programm bestätigt, dass sie jeden Tag achtzehn Dollar verdient.")
    assert main_language(text) == "de"


def test_trailing_text_after_the_answer_counts():
    assert main_language(RESPONSES["zh"] + TRAILER * 3) == "en"  # English chatter dominates


def test_candidates_restrict_and_accept_langid_codes():
    dutch = "Janet heeft zestien eieren en verkoopt de rest op de markt voor twee dollar per stuk."
    assert main_language(dutch, candidates=["nl", "de", "en"]) == "nl"
    assert main_language(dutch, candidates=["de", "en"]) in {"de", "en"}
    assert main_language(RESPONSES["ja"], candidates=["zh", "ja"]) == "ja"


def test_unknown_candidate_is_an_error():
    with pytest.raises(ValueError, match="langid does not know"):
        main_language("some text here for sure", candidates=["xx"])
    with pytest.raises(ValueError, match="at least one"):
        main_language("some text here for sure", candidates=[])


def test_global_langid_is_not_mutated():
    # Our identifiers are private instances: langid's module-global one is never created or
    # restricted (loading it would cost another ~7 s of bz2 here, so it is not loaded).
    import langid.langid as impl

    before = impl.identifier
    main_language(RESPONSES["de"], candidates=["de", "en"])
    main_language(RESPONSES["fr"], candidates=["fr"])
    assert impl.identifier is before
    if before is not None:
        assert len(before.nb_classes) == 97


def test_langid_codes_map_to_harness_codes():
    for lit in LITERALS.values():
        assert main_language(RESPONSES[lit.code], candidates=[lit.code, "en"]) == lit.code


def test_huge_text_is_sampled():
    assert main_language("Das ist ein deutscher Satz. " * 40000) == "de"


# --- language_mix -------------------------------------------------------------------------------


def test_mix_of_a_switching_response():
    mix = language_mix(SWITCHING)
    assert math.isclose(sum(mix.values()), 1.0)
    assert set(mix) <= {"de", "en", UNDETERMINED}
    assert mix["de"] > 0 and mix["en"] > mix["de"]


@pytest.mark.parametrize("unit", ["sentence", "char"])
def test_mix_three_languages(unit):
    text = ("Janet hat sechzehn Eier und isst drei davon zum Frühstück.\n"
            "She sells the remaining eggs at the market for two dollars each.\n"
            "所以她每天在农贸市场上一共可以赚到十八美元。")
    mix = language_mix(text, unit=unit)
    assert set(mix) == {"de", "en", "zh"}
    assert math.isclose(sum(mix.values()), 1.0)


def test_mix_char_weights_by_letters():
    text = "Das ist ein sehr langer deutscher Satz mit vielen Wörtern darin.\nThis is short, ok."
    by_sentence = language_mix(text, unit="sentence")
    by_char = language_mix(text, unit="char")
    assert by_sentence["de"] == pytest.approx(0.5)
    assert by_char["de"] > 0.7


def test_mix_of_nothing():
    assert language_mix("") == {UNDETERMINED: 1.0}
    assert language_mix("\\boxed{18}") == {UNDETERMINED: 1.0}
    with pytest.raises(ValueError, match="unit"):
        language_mix("text", unit="word")


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.skipif(not MGSM.exists(), reason=f"MGSM mirror not found at {MGSM}")
@pytest.mark.parametrize("lang", ALL_LANGS)
def test_mgsm_questions(lang):
    # bench/langid_mgsm.py prints the full table; whole questions are identified (nearly) always.
    candidates = list(STUDY_LANGUAGES) + ["te"]
    rows = read_mgsm(lang)
    accuracy = sum(main_language(q, candidates) == lang for q, _ in rows) / len(rows)
    assert accuracy >= 0.98, accuracy


def test_math_and_currency_symbols_are_not_language():
    from harness.lang.language_id import clean_text, main_language

    assert clean_text("kauft × 3 ÷ 2 · 4 ± 1 → € ¥ ✓") == "kauft"
    # A German sentence with a run of multiplication signs stays German (langid read "× × ×" as Bengali).
    text = "Sie kauft drei Äpfel und zwei Birnen für ihre Familie × × × × × × × ×"
    assert main_language(text) == "de"
