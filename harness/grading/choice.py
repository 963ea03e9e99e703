"""Multiple-choice letters (A-J: MMLU-ProX, GPQA) in ``\\boxed{}``, after a localized answer
phrase, or alone on a line.

Letters are read as models in ten languages write them: full-width (``Ｂ``, ``（D）``), lower case
in brackets or alone in a box (``(a)``, ``\\boxed{c}``), and the Cyrillic look-alikes a Russian
response uses (``А В С Е Н``). An answer that names several letters (``\\boxed{A, C}``, "A or C",
"(A) и (C)") is a hedge and is no answer at all: under GRPO a hedge that earns reward is learned
within steps.
"""

from __future__ import annotations

import re

from harness.grading.extract import MAX_PHRASES, MODES, extract_boxed, matches_from_end, phrase_positions
from harness.grading.numbers import clean_latex_number

# One character for one character, so positions in the folded text are positions in the original.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # full-width ASCII forms
_FOLD.update({0x3000: " ", ord("【"): "[", ord("】"): "]", ord("、"): ",", ord("。"): "."})
_CYRILLIC = {"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "а": "a", "с": "c", "е": "e"}
_FOLD.update({ord(k): v for k, v in _CYRILLIC.items()})

# Letters of scripts written with spaces: a choice letter followed by one is the start of a word.
_WORD_LETTER = r"A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
# A letter, optionally in brackets, then the end or a separator: "B", "(B)", "B) 12 eV", "B.".
_LETTER = re.compile(rf"([(\[]?)\s*([A-Za-z])\s*([)\]]?)(?![{_WORD_LETTER}])")
_WORD_AFTER = re.compile(rf"\s+[{_WORD_LETTER}]")
_OPTION_WORDS = re.compile(r"(?:option|choice|选项|オプション|Option|opción|Wahl|вариант)\s*", re.IGNORECASE)
_LEAD = re.compile(r"[\s:：*_#>=\-—–]*(?:(?:is|ist|es|est|ni|lautet)\b)?[\s:：*_#=]*")
_ALONE_ON_LINE = re.compile(r"^[ \t*_>#]*[(\[（［]?([A-JＡ-ＪАВСЕНІЈ])[)\]）］.．]?[ \t*_]*$", re.MULTILINE)
# "A, C", "A or C", "(A) und (C)", "B/D", "A и С": a second letter right after the first.
_CONJUNCTIONS = (
    "or|and|und|oder|ou|et|o|y|e|u|или|и|либо|або|或者|或|和|与|及|と|か|または|หรือ|และ|au|na|ama|বা|এবং|অথবা"
)
_HEDGE = re.compile(
    rf"[\s,;/&+|]*(?:(?i:{_CONJUNCTIONS})(?![{_WORD_LETTER}]))?\s*([(\[]?)\s*([A-Z])\s*([)\]]?)(?![{_WORD_LETTER}])"
)
HEDGE = ""
"""What the letter readers return for an answer that names several letters (falsy, not None)."""


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def _letter_at_start(text: str, letters: str, *, alone: bool = False) -> str | None:
    """The letter ``text`` starts with (upper case), :data:`HEDGE` when a second letter follows
    it, or None. A weak letter (lower case, or a Cyrillic look-alike, which is also the Russian
    word "В"/"А") does not count before a word: "В итоге ..." is not B, "a number" is not A; in
    brackets or alone in a box (``alone``) it always counts."""
    original = text
    text = _fold(text)
    option = _OPTION_WORDS.match(text)
    if option:
        text, original = text[option.end() :], original[option.end() :]
    match = _LETTER.match(text)
    if not match:
        return None
    _, letter, closing = match.groups()
    shown = original[match.start(2)]
    if (shown.islower() or shown in _CYRILLIC) and not (alone or closing) and _WORD_AFTER.match(text, match.end()):
        return None
    letter = letter.upper()
    if letter not in letters:
        return None
    second = _HEDGE.match(text, match.end())
    # "B (C is wrong)" opens a remark about another option; "(A) and (C)" closes its brackets.
    if second and second.group(2) in letters and second.group(2) != letter:
        if not (second.group(1) and not second.group(3)):
            return HEDGE
    return letter


def _boxed_letter(content: str, letters: str) -> str | None:
    content = clean_latex_number(content).strip(" $.")
    return _letter_at_start(content, letters, alone=len(_fold(content).strip("()[] ")) == 1)


def extract_choice(
    text: str, lang: str | None = None, mode: str = "strict", letters: str = "ABCDEFGHIJ"
) -> str | None:
    """The chosen letter (upper case, one of ``letters``), or None.

    ``strict``: only ``\\boxed{B}``, ``\\boxed{(B)}``, ``\\boxed{\\text{B}}``, ``\\boxed{B) ...}``.
    ``flexible``: the boxed letter; else the letter after the last localized answer phrase
    ("答案是 (B)", "Die Antwort ist B"); else the last line that holds only a letter.
    A hedge ("\\boxed{A, C}", "The answer is A or C") is None, in both modes.
    """
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(text, str) or not text:
        return None
    boxed = extract_boxed(text)
    if boxed is not None:
        letter = _boxed_letter(boxed, letters)
        if letter is not None or mode == "strict":
            return letter or None
    if mode == "strict":
        return None
    for pos in phrase_positions(text, lang, MAX_PHRASES):
        window = text[pos : pos + 100]
        letter = _letter_at_start(window[_LEAD.match(window).end() :], letters)
        if letter is not None:
            return letter or None
    for match in matches_from_end(_ALONE_ON_LINE, text):
        letter = _fold(match.group(1))
        if letter in letters:
            return letter
    return None
