"""Every MGSM gold answer (11 languages x 250), written as a model would write it, grades right;
the same with a wrong number grades wrong; localized number formats grade right."""

from __future__ import annotations

import pytest

from harness.core.literals import LITERALS
from harness.grading import grade_many, parse_gold
from tests._grading_cases import ALL_LANGS, CONCLUSION, LOCAL_THOUSANDS, MGSM, read_mgsm, script_digits

pytestmark = pytest.mark.skipif(
    not MGSM.exists(), reason=f"MGSM mirror not found at {MGSM} (shared/data beside the repo)"
)

# Grouped the way each language writes thousands; Bengali/Thai/Devanagari-style digits where the
# language has its own.
_GROUP = {"de": ".", "es": ".", "fr": "\u202f", "ru": "\u00a0"}
_ZERO = {"bn": "০", "th": "๐"}


def localized(gold: str, lang: str) -> str:
    """``gold`` formatted as a writer of ``lang`` would: "2,125" -> "2.125" (de), "2 125" (fr)."""
    value = int(gold.replace(",", ""))
    text = f"{value:,}".replace(",", _GROUP.get(lang, ","))
    return script_digits(text, _ZERO[lang]) if lang in _ZERO else text


def response(question: str, answer: str, lang: str) -> str:
    """Restate the question (its numbers must not confuse the grader), conclude, box, then chat."""
    return f"{question}\n\n{CONCLUSION[lang].format(answer=answer)}\n\n$\\boxed{{{answer}}}$\n\n{question[:80]}"


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_every_gold_as_written(lang):
    rows = read_mgsm(lang)
    assert len(rows) == 250
    golds = [gold for _, gold in rows]
    responses = [response(q, gold, lang) for q, gold in rows]
    assert grade_many(responses, golds, langs=[lang] * 250) == [True] * 250


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_every_gold_with_a_wrong_number(lang):
    rows = read_mgsm(lang)
    golds = [gold for _, gold in rows]
    wrong = [response(q, str(parse_gold(gold) + 1), lang) for q, gold in rows]
    assert grade_many(wrong, golds, langs=[lang] * 250) == [False] * 250


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_every_gold_localized(lang):
    rows = read_mgsm(lang)
    golds = [gold for _, gold in rows]
    responses = [response(q, localized(gold, lang), lang) for q, gold in rows]
    assert grade_many(responses, golds, langs=[lang] * 250) == [True] * 250


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_every_gold_flexible_phrase(lang):
    # No box: the language's most common "the answer is" phrase, then the localized number.
    phrase = LITERALS[lang].answer_phrases[0]
    rows = read_mgsm(lang)
    golds = [gold for _, gold in rows]
    responses = [f"{q}\n{phrase} {localized(gold, lang)}. (3 + 4 = 7)" for q, gold in rows]
    assert grade_many(responses, golds, langs=[lang] * 250, mode="flexible") == [True] * 250


def test_separated_golds_are_the_four_known():
    separated = sorted({gold for lang in ALL_LANGS for _, gold in read_mgsm(lang) if not gold.isdigit()})
    assert separated == ["114,200", "2,125", "276,000", "5,600"]


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_separated_golds_in_local_formats(lang):
    sentence = CONCLUSION[lang].format(answer=f"\\boxed{{{LOCAL_THOUSANDS[lang]}}}")
    [verdict] = grade_many([sentence], ["2,125"], langs=[lang])
    assert verdict
    assert not grade_many([sentence], ["2,126"], langs=[lang])[0]
