"""Find the final answer in a model's response: ``\\boxed{}``, a localized answer phrase, or the
last number.

The whole response is searched, never only its tail: verl graded correct answers followed by
more than 300 characters as wrong. Every function here is linear in the length of the response
(no nested regex quantifiers, one pass over braces), so megabyte responses cannot stall training.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

from harness.core.literals import LITERALS
from harness.grading.numbers import ascii_digits, find_numbers

MODES = ("strict", "flexible")
MAX_PHRASES = 20
"""Answer phrases tried, from the last one back, before falling back to the last number."""

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACES = re.compile(r"\\\\|\\[{}]|[{}]")  # "\\" and "\{" do not open or close a TeX group

# --- \boxed{} -----------------------------------------------------------------------------------


def _closing_braces(text: str, start: int) -> dict[int, int]:
    """Map each "{" at or after ``start`` to its matching "}" in one pass (unclosed ones absent)."""
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for match in _BRACES.finditer(text, start):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            pairs[stack.pop()] = match.start()
    return pairs


def boxed_spans(text: str, commands: list[re.Match] | None = None) -> list[tuple[int, int, int]]:
    """``(command_start, content_start, content_end)`` of every complete ``\\boxed``/``\\fbox``
    (or of those among ``commands``, matches of the command), in order. "Complete" means its
    braces close: a truncated response's last box is skipped."""
    if commands is None:
        if not isinstance(text, str) or "\\" not in text:
            return []
        commands = list(_BOXED.finditer(text))
    if not commands:
        return []
    # No "}" after the first command: no braced box can close (a wall of "\\boxed{").
    closes = text.find("}", commands[0].end()) != -1
    pairs = _closing_braces(text, commands[0].end()) if closes else {}
    spans = []
    for match in commands:
        pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "{":
            if pos in pairs:
                spans.append((match.start(), pos + 1, pairs[pos]))
        elif pos > match.end() or (pos < len(text) and not text[pos].isspace()):
            bare = re.match(r"[^\s$}]+", text[pos : pos + 200])  # "\boxed 5"
            if bare:
                spans.append((match.start(), pos, pos + bare.end()))
    return spans


_RECENT = 8


def extract_boxed(text: str) -> str | None:
    """Content of the last complete, non-empty ``\\boxed{...}``, ``\\boxed 5`` or ``\\fbox{...}``,
    with nested braces kept balanced; None when there is none."""
    if not isinstance(text, str) or "\\" not in text:
        return None
    commands = list(_BOXED.finditer(text))
    # The answer is almost always among the last few boxes: match braces from there first, and
    # walk the whole response only when those are all empty or unclosed.
    for group in (commands[-_RECENT:], commands[:-_RECENT]):
        # Spans are ordered by start, so \boxed{\boxed{5}} yields the inner "5".
        for _, start, end in reversed(boxed_spans(text, group)):
            content = text[start:end].strip()
            if content:
                return content
    return None


# --- localized answer phrases -------------------------------------------------------------------


def answer_phrases(lang: str | None, english: bool = True) -> tuple[str, ...]:
    """Phrases that announce the answer: the language's own plus English (models often switch to
    English for the final line); every language's when ``lang`` is None or unknown. Without
    ``english``, English phrases are left out (math grading leaves English to math-verify)."""
    codes = [lang, "en"] if lang in LITERALS else list(LITERALS)
    english_phrases = {p.lower() for p in LITERALS["en"].answer_phrases}
    phrases: dict[str, None] = {}
    for code in codes:
        for phrase in LITERALS[code].answer_phrases:
            if english or phrase.lower() not in english_phrases:
                phrases[phrase] = None
    return tuple(phrases)


@lru_cache(maxsize=64)
def _phrase_regex(lang: str | None, english: bool = True) -> re.Pattern | None:
    phrases = sorted(answer_phrases(lang, english), key=len, reverse=True)
    if not phrases:
        return None
    # The lookahead on first letters lets the engine skip most positions at C speed: forty
    # times faster than the bare case-insensitive alternation on text without any phrase.
    firsts = sorted({c for p in phrases for c in (p[0].lower(), p[0].upper())})
    alternation = "|".join(re.escape(p) for p in phrases)
    return re.compile(f"(?=[{re.escape(''.join(firsts))}])(?:{alternation})", re.IGNORECASE)


def matches_from_end(regex: re.Pattern, text: str, overlap: int = 256):
    """Matches of ``regex`` in ``text``, last first, found in windows that grow from the end, so
    an answer near the end never costs a scan of a megabyte response. Matches longer than
    ``overlap`` that straddle a window edge may be missed."""
    covered = len(text)  # matches starting at or after this were already yielded
    size = 4096
    while True:
        cut = max(0, len(text) - size)
        endpos = min(len(text), covered + overlap)
        found = [
            m for m in regex.finditer(text, cut, endpos)
            if m.start() < covered and (m.end() < endpos or endpos == len(text))
        ]
        yield from reversed(found)
        if cut == 0:
            return
        covered, size = cut, size * 4


def _unspaced(char: str) -> bool:
    """Scripts written without spaces between words, where a phrase may touch the next word."""
    return unicodedata.name(char, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "THAI"))


def phrase_positions(text: str, lang: str | None, limit: int | None = None, *, english: bool = True) -> list[int]:
    """End positions of answer phrases in ``text``, last first (at most ``limit``). A phrase in
    a spaced script must end at a word boundary ("Ответить" is not "Ответ")."""
    ends: list[int] = []
    regex = _phrase_regex(lang, english)
    if regex is None:
        return ends
    for match in matches_from_end(regex, text):
        end = match.end()
        nxt = text[end] if end < len(text) else " "
        if not _unspaced(match.group()[-1]) and unicodedata.category(nxt)[0] in "LM":
            continue
        ends.append(end)
        if limit is not None and len(ends) >= limit:
            break
    return ends


# What may sit between a phrase and its answer: punctuation, markdown, a copula, line breaks;
# not an ASCII hyphen, which is the answer's minus sign ("The answer is -5").
_LEAD = re.compile(r"[\s:：*_#>—–=]*(?:(?:is|ist|es|est|ni|lautet|was)\b)?[\s:：*_#=]*", re.IGNORECASE)
_INLINE_MATH = re.compile(r"\$\$(.{1,500}?)\$\$|\$([^$\n]{1,500}?)\$|\\\((.{1,500}?)\\\)|\\\[(.{1,500}?)\\\]", re.S)


def answer_after(text: str, pos: int) -> str | None:
    """The answer that follows a phrase ending at ``pos``: the first math span or number on the
    rest of its line (on the next line when the phrase ends its line, as in "Answer:\n18")."""
    window = text[pos : pos + 300]
    line = window[_LEAD.match(window).end() :].split("\n", 1)[0]
    math = _INLINE_MATH.search(line)
    # Right after "the answer is" a plain space groups thousands: French "1 250".
    number = first_number_span(line, isolated=True)
    if math and (number is None or math.start() <= number[0]):
        return next(g for g in math.groups() if g is not None).strip() or None
    if number:
        return line[number[0] : number[1]]
    return None


# --- numbers in prose ---------------------------------------------------------------------------

_LATEX_FRAC_SPAN = re.compile(r"-?\\[dt]?frac\s*(?:\{[^{}]{1,40}\}|\d)\s*(?:\{[^{}]{1,40}\}|\d)")
_SLASH = re.compile(r"\s*/\s*")


def number_spans(text: str, *, isolated: bool = False) -> list[tuple[int, int]]:
    """Spans of every number in prose, fractions ("3/4", "\\frac{3}{4}") counted as one;
    ``isolated`` lets plain spaces group thousands (see :func:`find_numbers`)."""
    digits = ascii_digits(text)
    spans: list[tuple[int, int]] = []
    for start, end, _ in find_numbers(digits, isolated=isolated):
        if spans:
            slash = _SLASH.fullmatch(digits, spans[-1][1], start)
            if slash and spans[-1][1] < start:
                spans[-1] = (spans[-1][0], end)
                continue
        spans.append((start, end))
    if "frac" in digits:
        fracs = [m.span() for m in _LATEX_FRAC_SPAN.finditer(digits)]
        frac_starts = [a for a, _ in fracs]

        def inside_frac(start: int) -> bool:
            i = bisect.bisect_right(frac_starts, start) - 1
            return i >= 0 and start < fracs[i][1]

        spans = sorted(fracs + [s for s in spans if not inside_frac(s[0])])
    return spans


def first_number_span(text: str, *, isolated: bool = False) -> tuple[int, int] | None:
    spans = number_spans(text, isolated=isolated)
    return spans[0] if spans else None


def last_number(text: str) -> str | None:
    """The last number in ``text`` (as written), or None. Looks at a growing tail first, so a
    megabyte of digits costs no more than its last few kilobytes."""
    size = 4096
    while True:
        start = max(0, len(text) - size)
        spans = number_spans(text[start:])
        # A span touching the cut may be the end of a longer number: widen and look again.
        if spans and (start == 0 or spans[-1][0] > 64):
            return text[start + spans[-1][0] : start + spans[-1][1]]
        if start == 0:
            return None
        size *= 4


# --- public -------------------------------------------------------------------------------------


def _readable(text, mode: str) -> bool:
    """Whether ``text`` is a non-empty string; an unknown ``mode`` is a ValueError."""
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {', '.join(MODES)}")
    return isinstance(text, str) and bool(text)


def extract_answer(text: str, lang: str | None = None, mode: str = "strict") -> str | None:
    """The final answer of a response, or None.

    ``strict``: the content of the last ``\\boxed{}`` only (the study's protocol).
    ``flexible``: the boxed answer; else what follows the last localized "the answer is" phrase
    of ``lang`` (or English, or any language when ``lang`` is None); else the last number.
    """
    if not _readable(text, mode):
        return None
    boxed = extract_boxed(text)
    if boxed is not None or mode == "strict":
        return boxed
    for pos in phrase_positions(text, lang, MAX_PHRASES):
        answer = answer_after(text, pos)
        if answer:
            return answer
    return last_number(text)


# What math-verify should read, in flexible math grading: "latex" is an answer's LaTeX (parsed as
# a box's content), "text" is free text that math-verify's own extraction searches.
LATEX, TEXT = "latex", "text"
# Sentence punctuation written inside the math delimiters ("$\frac{1}{3}.$"); not an ellipsis.
_TRAILING_STOP = re.compile(r"(?<![.])\s*[.,;]\s*$")


def math_answer(text: str, lang: str | None = None, mode: str = "strict") -> tuple[str, str] | None:
    """The answer of a math response and how math-verify should read it, or None.

    ``strict``: ``("latex", content of the last \\boxed{})``. ``flexible``: the box; else the math
    after the last localized (non-English) answer phrase of ``lang`` (or of any language when
    ``lang`` is None), as ``("latex", ...)``; else ``("text", text)``: the response itself, for
    math-verify's own extraction (its "final answer is" and "answer" anchors, then the last LaTeX
    span or expression, with its priorities). Unlike :func:`extract_answer`, never the last number:
    in MATH answers that is wrong for intervals, tuples, relations and matrices.
    """
    if not _readable(text, mode):
        return None
    boxed = extract_boxed(text)
    if boxed is not None or mode == "strict":
        return (LATEX, boxed) if boxed is not None else None
    for pos in phrase_positions(text, lang, MAX_PHRASES, english=False):
        answer = answer_after(text, pos)
        if answer:
            return LATEX, _TRAILING_STOP.sub("", answer) or answer
    return TEXT, text
