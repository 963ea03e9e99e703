"""The pretraining text of ``tiny-base``: what makes it a base model and not an SFT checkpoint.

Web-scale pretraining sees worked problems in every format and mostly in English. This text is the
same in miniature, written from the toy study's *pretrain* split (:func:`harness.data.toy.
study_problems`), which shares no problem with the paradigms' training data or the benchmark:

- the language of each document is drawn from :data:`LANGUAGE_SHARES`: English first, then the
  high-resource languages, Thai, Swahili and Bengali rarest;
- a document is a worked problem as a chat turn (the question, sometimes with the boxed-answer
  instruction, then the solution), as "Question: ... <solution>" plain text, or a narrative (the
  solution's sentences alone, no question);
- the solution ends in one of :data:`ANSWER_FORMATS`: mostly "the answer is N" or no marker at
  all, as web text has, and only sometimes ``\\boxed{N}``.

Everything is deterministic by seed. The shares are recorded with their source in
``registry.yaml`` (model ``tiny-base``); :func:`pretraining_recipe` is what the model's
fingerprint hashes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from harness.core.literals import BOXED_INSTRUCTION, LITERALS, STUDY_LANGUAGES
from harness.data.toy import _CLOSING, _SENTENCE_GAP, _TEMPLATES, _fields, study_problems

# harness choice: English-centric like web-scale pretraining (English half, high-resource
# languages 5-10% each, Thai/Swahili/Bengali 2% each).
LANGUAGE_SHARES: Mapping[str, float] = {
    "en": 0.52, "zh": 0.10, "de": 0.08, "es": 0.07, "fr": 0.07, "ja": 0.05, "ru": 0.05,
    "th": 0.02, "sw": 0.02, "bn": 0.02,
}
# How a worked solution ends: "the answer is N." / nothing after the last equation / \boxed{N}.
ANSWER_FORMATS: Mapping[str, float] = {"phrase": 0.45, "none": 0.35, "boxed": 0.20}
# What a document is: a chat turn, "Question: ..." plain text, the solution as narrative, or an
# arithmetic drill (lines of "7 + 5 = 12" as worksheets and times tables on the web have them).
DOCUMENT_KINDS: Mapping[str, float] = {"chat": 0.40, "plain": 0.25, "narrative": 0.20, "drill": 0.15}
DRILL_LINES = 12
INSTRUCTION_SHARE = 0.3
"""Share of chat turns whose question carries the boxed-answer instruction."""
INSTRUCTED_BOXED = 0.7
"""Share of instructed chat turns whose answer follows the instruction (the rest: any format)."""
PROBLEM_POOL = 4000
"""Problems drawn (with repetition) from the pretrain split; documents cycle over them."""


def _choice(rng: random.Random, shares: Mapping[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _solution(template: str, lang: str, fields: dict, answer: int, fmt: str) -> str:
    steps = _TEMPLATES[template][lang][1].format(**fields)
    gap = _SENTENCE_GAP.get(lang, " ")
    phrase = LITERALS[lang].answer_phrases[0]
    if fmt == "none":
        return steps
    final = f"\\boxed{{{answer}}}" if fmt == "boxed" else str(answer)
    return f"{steps}{gap}{phrase} {final}{_CLOSING[lang]}"


def _drill_line(template: str, numbers: dict) -> str:
    a, b, r = numbers.get("a", numbers.get("p")), numbers.get("b", numbers.get("k")), numbers["r"]
    if template == "price":
        return f"{numbers['k']} × {numbers['p']} = {r}"
    if template == "share":
        return f"{numbers['a']} ÷ {numbers['k']} = {r}"
    return f"{a} {'+' if template == 'add' else '-'} {b} = {r}"


def iter_documents(n: int, seed: int = 0) -> Iterator[str]:
    """n pretraining documents (strings, each ending in the end-of-text marker's place: the
    caller joins them with its own separator)."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = random.Random(f"xling-pretrain:{seed}")
    problems = study_problems(PROBLEM_POOL, seed, "pretrain", distinct=False)
    for _ in range(n):
        kind = _choice(rng, DOCUMENT_KINDS)
        if kind == "drill":
            yield "\n".join(_drill_line(*rng.choice(problems)[:2]) for _ in range(DRILL_LINES))
            continue
        template, numbers, name, item = rng.choice(problems)
        lang = _choice(rng, LANGUAGE_SHARES)
        fields = _fields(lang, name, item, numbers)
        question = _TEMPLATES[template][lang][0].format(**fields)
        instructed = kind == "chat" and rng.random() < INSTRUCTION_SHARE
        fmt = "boxed" if instructed and rng.random() < INSTRUCTED_BOXED else _choice(rng, ANSWER_FORMATS)
        solution = _solution(template, lang, fields, numbers["r"], fmt)
        if kind == "chat":
            user = f"{question}\n{BOXED_INSTRUCTION}" if instructed else question
            yield f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{solution}<|im_end|>\n"
        elif kind == "plain":
            yield f"{LITERALS[lang].question_word}: {question}\n{solution}"
        else:
            yield solution


def pretraining_recipe() -> dict:
    """What the mixture is (hashed into ``tiny-base``'s fingerprint)."""
    return {"languages": dict(LANGUAGE_SHARES), "formats": dict(ANSWER_FORMATS),
            "kinds": dict(DOCUMENT_KINDS), "instruction": INSTRUCTION_SHARE, "instructed_boxed": INSTRUCTED_BOXED, "drill_lines": DRILL_LINES, "pool": PROBLEM_POOL,
            "study_languages": list(STUDY_LANGUAGES)}
