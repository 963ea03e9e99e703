"""The cheap checks (1)-(4) on scripted translations, and the chunking they rely on."""

from __future__ import annotations

import pytest

from harness.corpus import checks
from harness.corpus.chunking import join_chunks, paragraphs, split_chunks

SOURCE = {
    "id": "p1", "lang": "en", "answer": "1250",
    "question": "A shop sells 250 pens a day for 5 days. How many pens does it sell in total?",
    "solution": "Each day the shop sells 250 pens.\n\nOver 5 days it sells 250 * 5 = 1,250 pens.\n\n"
                "So the shop sells 1,250 pens in total, which is the answer to the question.\n\n"
                "The answer is \\boxed{1250}.",
}
GOOD_DE = {
    "id": "p1", "lang": "de", "answer": "1250",
    "question": "Ein Laden verkauft 5 Tage lang jeden Tag 250 Stifte. Wie viele Stifte verkauft er insgesamt?",
    "solution": "Jeden Tag verkauft der Laden 250 Stifte.\n\nIn 5 Tagen verkauft er 250 * 5 = 1.250 Stifte.\n\n"
                "Der Laden verkauft also insgesamt 1.250 Stifte, und das ist die Antwort auf die Frage.\n\n"
                "Die Antwort ist \\boxed{1250}.",
}


def failed(target: dict, lang: str = "de") -> set[str]:
    return {r.check for r in checks.verify(SOURCE, target, lang).failures}


def test_a_faithful_translation_passes_every_check():
    verdict = checks.verify(SOURCE, GOOD_DE, "de")
    assert verdict.passed and verdict.reason is None
    assert [r.check for r in verdict.results] == list(checks.CHECKS)


def test_a_changed_number_fails_the_numbers_check_with_the_missing_number():
    target = {**GOOD_DE, "question": GOOD_DE["question"].replace("5 Tage", "6 Tage")}
    verdict = checks.verify(SOURCE, target, "de")
    assert failed(target) == {"numbers"}
    assert verdict.failures[0].evidence["missing"] == ["5"] and verdict.failures[0].evidence["added"] == ["6"]


def test_a_dropped_box_fails_the_answer_check():
    target = {**GOOD_DE, "solution": GOOD_DE["solution"].replace("\\boxed{1250}", "1250")}
    verdict = checks.verify(SOURCE, target, "de")
    assert failed(target) == {"answer"}
    assert "no \\boxed{}" in verdict.failures[0].evidence["problem"]


def test_a_changed_boxed_answer_fails_the_answer_check():
    target = {**GOOD_DE, "solution": GOOD_DE["solution"].replace("\\boxed{1250}", "\\boxed{1205}")}
    assert "answer" in failed(target)


def test_the_wrong_language_fails_the_language_check():
    french = {**GOOD_DE, "lang": "de",
              "question": "Un magasin vend 250 stylos par jour pendant 5 jours. Combien de stylos vend-il au total ?",
              "solution": "Chaque jour, le magasin vend 250 stylos.\n\nEn 5 jours, il vend 250 * 5 = 1 250 stylos.\n\n"
                          "Le magasin vend donc 1 250 stylos au total, et c'est la réponse à la question.\n\n"
                          "La réponse est \\boxed{1250}."}
    verdict = checks.verify(SOURCE, french, "de")
    assert failed(french) == {"language"}
    assert verdict.failures[0].evidence["question"]["main"] == "fr"


def test_a_truncated_solution_fails_the_length_check():
    target = {**GOOD_DE, "solution": "Jeden Tag verkauft der Laden 250 Stifte. Die Antwort ist \\boxed{1250}."}
    verdict = checks.verify(SOURCE, target, "de")
    assert "length" in failed(target)
    length = next(r for r in verdict.failures if r.check == "length")
    assert length.evidence["field"] == "solution" and length.evidence["solution"]["ratio"] < 0.45


def test_a_mixed_language_solution_fails_the_language_check():
    # The question is German, and so is most of the solution, but one long step stayed English.
    mixed = {**GOOD_DE, "solution": GOOD_DE["solution"].replace(
        "Der Laden verkauft also insgesamt 1.250 Stifte, und das ist die Antwort auf die Frage.",
        "So the shop sells 1,250 pens in total, which is the answer to the question.")}
    verdict = checks.verify(SOURCE, mixed, "de")
    assert failed(mixed) == {"language"}
    evidence = verdict.failures[0].evidence
    assert evidence["field"] == "solution" and evidence["question"]["main"] == "de"
    assert evidence["solution"]["other"]["en"] > checks.MAX_OTHER_SHARE


@pytest.mark.parametrize("written", ["1.250", "1,250", "1\u00a0250", "১২৫০"])
def test_numbers_compare_by_value_across_locales(written):
    assert checks.numbers_in(f"Er verkauft {written} Stifte") == checks.numbers_in("He sells 1,250 pens")


def test_numbers_with_cjk_multipliers_and_words():
    assert checks.numbers_in("他有7万元") == checks.numbers_in("he has 70,000 yuan")
    assert checks.numbers_in("Sie isst drei Eier") == set()  # words are no numbers: MGSM's strictness


def test_learned_length_bounds_follow_the_data():
    samples = [("zh", "question", 0.3 + 0.002 * i) for i in range(40)]
    (low, high), = checks.learn_bounds(samples).values()
    assert low < 0.3 < 0.38 < high and high < 0.8
    assert checks.learn_bounds(samples[:5]) == {}  # too few: the prior applies
    assert checks.bounds_for({}, "zh", "question") == checks.PRIOR_BOUNDS["zh"]


LATEX = ("Intro paragraph.\n\n"
         "$$\na = 1\n\nb = 2\n$$\n\n"
         "\\begin{align}\nx &= 1 \\\\\n\ny &= 2\n\\end{align}\n\n"
         "\\[\nz = 3\n\n\\]\n\n"
         "```\ncode $$\n\nmore\n```\n\n"
         "Last paragraph with $x$ and \\$5.")


def test_paragraphs_never_cut_inside_a_latex_block_or_code_fence():
    pieces = paragraphs(LATEX)
    assert "".join(pieces) == LATEX
    assert [p.strip()[:8] for p in pieces] == ["Intro pa", "$$\na = 1", "\\begin{a", "\\[\nz = 3", "```\ncode", "Last par"]


def test_chunks_pack_paragraphs_up_to_the_limit_and_join_back():
    text = "\n\n".join(f"Paragraph {i} " + "x" * 30 for i in range(10))
    chunks = split_chunks(text, 100)
    assert "".join(chunks) == text
    assert all(len(c) <= 100 for c in chunks) and len(chunks) == 5
    assert join_chunks(chunks) == text
    assert split_chunks(LATEX, 5) == paragraphs(LATEX)  # a block longer than the limit stays whole


def test_a_latex_answer_may_be_written_differently_from_the_gold_but_not_changed():
    source = {"question": "Compute $\\frac{1}{2}+\\frac{1}{4}$.", "answer": "\\frac{3}{4}", "answer_kind": "math",
              "solution": "<think>Add.</think> The sum is $\\boxed{\\dfrac{3}{4}}$."}
    kept = {"question": "Berechne $\\frac{1}{2}+\\frac{1}{4}$.", "answer": "\\frac{3}{4}",
            "solution": "<think>Addieren.</think> Die Summe ist $\\boxed{\\dfrac{3}{4}}$."}
    assert checks.check_answer(source, kept).passed
    changed = {**kept, "solution": kept["solution"].replace("\\dfrac{3}{4}", "\\frac{3}{5}")}
    result = checks.check_answer(source, changed)
    assert not result.passed and result.evidence["problem"] == "the boxed answer changed in translation"
