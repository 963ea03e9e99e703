"""Which language a response is written in (langid.py), for the consistency reward and probes.

Math, numbers, code and the boxed answer say nothing about the language of the reasoning, and
langid's byte n-grams would read "$x^2+3$" as noise in some random language, so they are
removed first. langid runs restricted to a candidate set (by default the harness's languages,
:data:`harness.core.literals.LITERALS`) on a dedicated identifier per set: the module-global
``langid.set_languages`` would change every other user of langid in the process.

Limits (measured by bench/langid_mgsm.py on the MGSM questions; see docs/rewards.md): whole
questions are identified 100% correctly among the 11 candidates, but short texts in Latin
script are not (Swahili at 20 letters: 65%), hence :data:`MIN_LETTERS`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from harness.core.literals import LITERALS
from harness.grading.extract import boxed_spans

UNDETERMINED = "und"
"""What :func:`main_language` says when there is too little text to tell (ISO 639-2 "und")."""

MIN_LETTERS = 10
"""Fewer letters than this (after cleaning) is :data:`UNDETERMINED`. Ten letters is two or three
words in Latin script, where langid is right 62-85% of the time (Swahili: 23%), and a clause in
CJK, Thai or Bengali script, where it is right 100% of the time."""

MAX_CHARS = 6000
"""langid walks the text byte by byte in Python; longer texts are judged on three evenly spaced
slices of MAX_CHARS/3 characters (start, middle, end) so drift late in a response still counts."""

_CODE_BLOCK = re.compile(r"```.*?```|`[^`\n]{1,200}`", re.S)
_DELIMITERS = re.compile(r"\\\$|\$\$|\$|\\\[|\\\]|\\\(|\\\)")
_CLOSER = {"$$": "$$", "\\[": "\\]", "\\(": "\\)", "$": "$"}
MAX_MATH_CHARS = 5000
"""A math delimiter left open longer than this is not math (a stray "$" must not eat prose)."""
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?|\\.")
_NOISE = re.compile(r"https?://\S+|[\d_^{}\[\]()<>=+*/\\|~$%#&@·]+")
_SPACES = re.compile(r"\s+")


class _SymbolsToSpace(dict):
    """str.translate table turning every Unicode symbol (math ×÷·±, currency, arrows, emoji:
    categories S*) into a space, filled lazily so it runs at C speed after warm-up. langid reads
    a run of "× × ×" as Bengali otherwise."""

    def __missing__(self, codepoint: int) -> int | str:
        value: int | str = " " if unicodedata.category(chr(codepoint)).startswith("S") else codepoint
        self[codepoint] = value
        return value


_SYMBOLS_TO_SPACE = _SymbolsToSpace()
_LINE_SPACES = re.compile(r"[^\S\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:。！？；])\s*|\n+")


def _inline_dollar(text: str, at: int, opening: bool) -> bool:
    """Whether a "$" opens or closes inline math. pandoc's rule (no space inside the delimiters,
    no digit right after the closing one), made stricter for openers: one must not touch a word
    on its left nor a digit on its right, so the currency in "for $2 per egg, making $18" and
    "costs 5$, then" never opens math that would swallow the prose after it."""
    if opening:
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        return not before.isalnum() and not after.isspace() and not after.isdigit()
    return not text[at - 1].isspace() and not (at + 1 < len(text) and text[at + 1].isdigit())


def strip_math(text: str) -> str:
    """``text`` with $$..$$, \\[..\\], \\(..\\) and inline $..$ math replaced by spaces, in one
    pass over the delimiters (regexes with lazy bounded spans go quadratic on stray "$")."""
    kept: list[str] = []
    copied = 0
    opener: tuple[str, int, int] | None = None  # (closing delimiter, where it opened, line end)
    for match in _DELIMITERS.finditer(text):
        token, at = match.group(), match.start()
        if token == "\\$":
            continue  # an escaped dollar is currency
        if opener is not None:
            closer, opened, line_end = opener
            # Inline math never spans lines; nothing stays open past MAX_MATH_CHARS.
            if at - opened > MAX_MATH_CHARS or (closer == "$" and 0 <= line_end < at):
                opener = None
            elif token == closer and (token != "$" or _inline_dollar(text, at, opening=False)):
                kept.append(text[copied:opened])
                kept.append(" ")
                copied, opener = match.end(), None
                continue
            else:
                continue
        if token in ("$$", "\\[", "\\(") or (token == "$" and _inline_dollar(text, at, opening=True)):
            opener = (_CLOSER[token], at, text.find("\n", at, at + MAX_MATH_CHARS + 1))
    kept.append(text[copied:])
    return "".join(kept)


def clean_text(text: str, *, keep_lines: bool = False) -> str:
    """The prose of ``text``: boxed answers, code, LaTeX, numbers and symbols removed."""
    if not isinstance(text, str):
        return ""
    kept, copied = [], 0
    for start, _, end in boxed_spans(text):
        if start >= copied:  # a box nested in one already removed
            kept.append(text[copied:start])
            copied = end + 1
    text = " ".join(kept + [text[copied:]])
    text = _CODE_BLOCK.sub(" ", text)
    text = strip_math(text)
    text = _LATEX_COMMAND.sub(" ", text)
    text = _NOISE.sub(" ", text).translate(_SYMBOLS_TO_SPACE)
    return (_LINE_SPACES if keep_lines else _SPACES).sub(" ", text).strip()


def letter_count(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _langid_code(code: str) -> str:
    return LITERALS[code].langid if code in LITERALS else code


_TO_HARNESS = {lit.langid: lit.code for lit in LITERALS.values()}


@lru_cache(maxsize=1)
def _full_model():
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


@lru_cache(maxsize=32)
def _identifier(candidates: frozenset[str]):
    """A LanguageIdentifier restricted to ``candidates`` (langid codes), sharing the decoded
    model's arrays with every other instance (decoding costs about a second)."""
    from langid.langid import LanguageIdentifier

    full = _full_model()
    unknown = sorted(candidates - set(full.nb_classes))
    if unknown:
        raise ValueError(f"langid does not know {', '.join(unknown)}; it knows {' '.join(full.nb_classes)}")
    identifier = LanguageIdentifier(
        full.nb_ptc, full.nb_pc, full.nb_numfeats, full.nb_classes, full.tk_nextmove, full.tk_output,
        norm_probs=True,
    )
    identifier.set_languages(sorted(candidates))
    return identifier


def _candidate_set(candidates: Iterable[str] | None) -> frozenset[str]:
    codes = list(LITERALS) if candidates is None else list(candidates)
    if not codes:
        raise ValueError("candidates must name at least one language")
    return frozenset(_langid_code(code) for code in codes)


def _sample(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    third = MAX_CHARS // 3
    middle = (len(text) - third) // 2
    return " ".join((text[:third], text[middle : middle + third], text[-third:]))


def _classify(prose: str, candidates: frozenset[str]) -> str:
    if letter_count(prose) < MIN_LETTERS:
        return UNDETERMINED
    code, _ = _identifier(candidates).classify(_sample(prose))
    return _TO_HARNESS.get(code, code)


def main_language(text: str, candidates: Iterable[str] | None = None) -> str:
    """The main language of ``text`` as a harness code ("zh"), or :data:`UNDETERMINED` when,
    after cleaning, fewer than :data:`MIN_LETTERS` letters remain (numeric-only answers, a bare
    ``\\boxed{18}``). ``candidates``: harness (or langid) codes; default every LITERALS language.
    """
    return _classify(clean_text(text), _candidate_set(candidates))


def language_mix(
    text: str, candidates: Iterable[str] | None = None, unit: str = "sentence"
) -> dict[str, float]:
    """Share of each language in ``text``, summing to 1 (empty text: ``{"und": 1.0}``).

    Each sentence (split at . ! ? ; : and their CJK forms, and at line breaks) is identified on
    its own; ``unit="sentence"`` counts sentences, ``unit="char"`` weighs them by their letters.
    Sentences under :data:`MIN_LETTERS` letters count as :data:`UNDETERMINED`. Only the first
    ``20 * MAX_CHARS`` characters are read.
    """
    if unit not in ("sentence", "char"):
        raise ValueError(f"unit must be 'sentence' or 'char', not {unit!r}")
    allowed = _candidate_set(candidates)
    if not isinstance(text, str):
        text = ""
    # Line breaks survive cleaning: they end sentences in Thai and in bulleted steps.
    pieces = _SENTENCE_END.split(clean_text(text[: MAX_CHARS * 20], keep_lines=True))
    weights: Counter = Counter()
    for piece in pieces:
        letters = letter_count(piece)
        if not letters:
            continue
        weights[_classify(piece, allowed)] += 1 if unit == "sentence" else letters
    total = sum(weights.values())
    if not total:
        return {UNDETERMINED: 1.0}
    return {code: count / total for code, count in weights.most_common()}
