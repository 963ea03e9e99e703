"""Multiple-choice letters (A-J: MMLU-ProX, GPQA) in ``\\boxed{}``, after a localized answer
phrase, or alone on a line."""

from __future__ import annotations

import re

from harness.grading.extract import MAX_PHRASES, MODES, extract_boxed, matches_from_end, phrase_positions
from harness.grading.numbers import clean_latex_number

# A letter, optionally in brackets, then the end or a separator: "B", "(B)", "B) 12 eV", "B.".
# The lookahead keeps "Berlin" from reading as "B".
_LETTER = re.compile(r"[(\[]?\s*([A-Za-z])\s*[)\]]?(?![A-Za-z])")
_OPTION_WORDS = re.compile(r"(?:option|choice|选项|オプション|Option|opción|Wahl)\s*", re.IGNORECASE)
_LEAD = re.compile(r"[\s:：*_#>=\-—–]*(?:(?:is|ist|es|est|ni|lautet)\b)?[\s:：*_#=]*")
_ALONE_ON_LINE = re.compile(r"^[ \t*_>#]*[(\[]?([A-J])[)\].]?[ \t*_]*$", re.MULTILINE)


def _letter_at_start(text: str, letters: str, *, allow_lower: bool) -> str | None:
    text = _OPTION_WORDS.sub("", text, count=1) if _OPTION_WORDS.match(text) else text
    match = _LETTER.match(text)
    if not match:
        return None
    letter = match.group(1)
    if letter.islower():
        if not allow_lower:
            return None
        letter = letter.upper()
    return letter if letter in letters else None


def _boxed_letter(content: str, letters: str) -> str | None:
    content = clean_latex_number(content).strip(" $.")
    # A lone lowercase letter in a box is still a choice; in prose it is more likely a word.
    return _letter_at_start(content, letters, allow_lower=len(content) == 1)


def extract_choice(
    text: str, lang: str | None = None, mode: str = "strict", letters: str = "ABCDEFGHIJ"
) -> str | None:
    """The chosen letter (upper case, one of ``letters``), or None.

    ``strict``: only ``\\boxed{B}``, ``\\boxed{(B)}``, ``\\boxed{\\text{B}}``, ``\\boxed{B) ...}``.
    ``flexible``: the boxed letter; else the letter after the last localized answer phrase
    ("答案是 (B)", "Die Antwort ist B"); else the last line that holds only a letter.
    """
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(text, str) or not text:
        return None
    boxed = extract_boxed(text)
    if boxed is not None:
        letter = _boxed_letter(boxed, letters)
        if letter or mode == "strict":
            return letter
    if mode == "strict":
        return None
    for pos in phrase_positions(text, lang, MAX_PHRASES):
        window = text[pos : pos + 100]
        letter = _letter_at_start(window[_LEAD.match(window).end() :], letters, allow_lower=False)
        if letter:
            return letter
    for match in matches_from_end(_ALONE_ON_LINE, text):
        if match.group(1) in letters:
            return match.group(1)
    return None
