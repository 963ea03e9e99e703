"""The toy corpus: deterministic, parallel across languages, gradable, in each language's script."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from harness.core.literals import STUDY_LANGUAGES
from harness.data.toy import TEMPLATES, iter_toy_texts, render, toy_corpus

BOXED = re.compile(r"\\boxed\{(-?\d+)\}")

# The main script of each language's questions: at least a few characters of it must appear.
SCRIPTS = {
    "zh": r"[\u4e00-\u9fff]",
    "ja": r"[\u3040-\u30ff]",  # kana (kanji alone would not tell it from Chinese)
    "ru": r"[\u0400-\u04ff]",
    "th": r"[\u0e00-\u0e7f]",
    "bn": r"[\u0980-\u09ff]",
}
LATIN_WORDS = {  # a word each Latin-script language's questions use and the others do not
    "en": r"\b(has|costs|saves|gives|shares)\b",
    "de": r"\b(hat|kostet|spart|verteilt)\b",
    "es": r"\b(tiene|cuesta|ahorra)\b",
    "fr": r"\b(a|coûte|économise)\b",
    "sw": r"\b(ana|ananunua|anaweka|anagawa|Bei)\b",
}


@pytest.fixture(scope="module")
def corpus():
    return toy_corpus(n=120, seed=3)


def test_schema(corpus):
    assert len(corpus) == 120 * len(STUDY_LANGUAGES)
    for record in corpus:
        assert set(record) == {"id", "lang", "question", "solution", "answer", "source"}
        assert all(isinstance(value, str) for value in record.values())
        assert record["source"] == "toy"


def test_deterministic_by_seed():
    assert toy_corpus(n=30, seed=7) == toy_corpus(n=30, seed=7)
    assert toy_corpus(n=30, seed=7) != toy_corpus(n=30, seed=8)


def test_parallel_across_languages(corpus):
    by_id = defaultdict(dict)
    for record in corpus:
        by_id[record["id"]][record["lang"]] = record
    assert len(by_id) == 120
    for records in by_id.values():
        assert set(records) == set(STUDY_LANGUAGES)
        assert len({r["answer"] for r in records.values()}) == 1
        # same numbers in every language's question (Japanese also writes "1個", "1人": every
        # number a problem draws is at least 2)
        numbers = {tuple(sorted(n for n in re.findall(r"\d+", r["question"]) if n != "1"))
                   for r in records.values()}
        assert len(numbers) == 1, numbers


def test_answers_are_integers_matching_the_boxed_value(corpus):
    for record in corpus:
        assert re.fullmatch(r"\d+", record["answer"])
        assert 0 <= int(record["answer"]) < 1000
        assert BOXED.findall(record["solution"]) == [record["answer"]]
        # the solution's last equation computes the answer
        last = re.findall(r"= (\d+)", record["solution"])[-1]
        assert last == record["answer"]


def test_solution_arithmetic_is_right(corpus):
    for record in corpus:
        for left, op, right, result in re.findall(r"(\d+) ([-+×÷]) (\d+) = (\d+)",
                                                  record["solution"]):
            a, b, r = int(left), int(right), int(result)
            expected = {"+": a + b, "-": a - b, "×": a * b, "÷": a // b}[op]
            assert r == expected, record["solution"]
            if op == "÷":
                assert a % b == 0


def _problem_key(question: str) -> tuple[str, ...]:
    """An English question's template (its words, name and item aside) and numbers."""
    words = re.sub(r"\d+|Anna|Maria|Lucy|Emma|apples?|pencils?|cookies?|books?|eggs?|stickers?",
                   "_", question)
    return (words, *re.findall(r"\d+", question))


def test_train_and_test_are_disjoint():
    train = toy_corpus(["en"], n=400, seed=0, split="train")
    test = toy_corpus(["en"], n=100, seed=0, split="test")
    keys = lambda rs: {_problem_key(r["question"]) for r in rs}  # noqa: E731
    assert len({key[0] for key in keys(train)}) == len(TEMPLATES)
    assert not keys(train) & keys(test)
    assert not {r["id"] for r in train} & {r["id"] for r in test}


def test_ids_unique_and_problems_distinct(corpus):
    english = [r for r in corpus if r["lang"] == "en"]
    assert len({r["id"] for r in english}) == len(english)
    assert len({r["question"] for r in english}) == len(english)


@pytest.mark.parametrize("lang", STUDY_LANGUAGES)
def test_questions_are_in_the_language_script(corpus, lang):
    questions = [r["question"] for r in corpus if r["lang"] == lang]
    for question in questions:
        if lang in SCRIPTS:
            assert len(re.findall(SCRIPTS[lang], question)) >= 5, question
        else:
            assert re.search(LATIN_WORDS[lang], question), question
            assert not re.search(r"[\u0400-\u04ff\u0e00-\u0e7f\u0980-\u09ff\u3040-\u9fff]", question)


def test_cjk_and_thai_have_no_spaces_between_words(corpus):
    for record in corpus:
        if record["lang"] in ("zh", "ja"):
            text = record["question"] + record["solution"]
            # spaces only around arithmetic and before \boxed
            assert not re.search(r"[\u3040-\u9fff] [\u3040-\u9fff]", text), text


def test_every_template_in_every_language_renders():
    numbers = {"add": {"a": 21, "b": 3, "r": 24}, "sub": {"a": 25, "b": 4, "r": 21},
               "price": {"p": 21, "k": 2, "r": 42}, "share": {"a": 42, "k": 2, "r": 21},
               "bags": {"a": 2, "k": 2, "m": 3, "km": 6, "s": 8, "g": 2, "r": 6},
               "save": {"p": 21, "d": 4, "t": 84, "s": 31, "r": 53}}
    for template in TEMPLATES:
        for lang in STUDY_LANGUAGES:
            for item in range(6):
                question, solution = render(template, lang, numbers[template], name=1, item=item)
                assert "{" not in question and solution.count("{") == 1
                assert f"\\boxed{{{numbers[template]['r']}}}" in solution


def test_russian_numeral_agreement():
    _, solution = render("price", "ru", {"p": 21, "k": 3, "r": 63}, item=3)
    assert "21 рубль" in solution and "3 книги" in solution and "63 рубля" in solution
    _, solution = render("share", "ru", {"a": 42, "k": 2, "r": 21}, item=3)
    assert "21 книгу" in solution  # accusative singular after 21
    question, _ = render("add", "ru", {"a": 11, "b": 5, "r": 16}, item=0)
    assert "11 яблок" in question and "5 яблок" in question


def test_unknown_language_and_split_are_errors():
    with pytest.raises(ValueError, match="xx"):
        toy_corpus(["xx"], n=1)
    with pytest.raises(ValueError, match="split"):
        toy_corpus(n=1, split="dev")


def test_tokenizer_texts_cover_every_language():
    texts = list(iter_toy_texts(n=5))
    joined = "\n".join(texts)
    assert "\\boxed{}" in joined
    for pattern in SCRIPTS.values():
        assert re.search(pattern, joined)
