"""Plain numbers as models and datasets write them, in any of the harness's languages.

``parse_number`` turns one answer string ("$18", "18 €", "2.125", "1 250", "১৮", "\\frac{3}{4}",
"7万") into an exact :class:`fractions.Fraction`, or None when the string is not one plain number.
``find_numbers`` finds every number in free text, for the flexible "last number" fallback.

The separator rule (documented in docs/rewards.md, tested in tests/test_grading_numbers.py) is
the same for every language, because models often write English-style numbers inside German or
French prose and a language-dependent rule would grade the same digits differently:

* spaces (U+0020 only inside an isolated answer), no-break spaces (U+00A0), narrow no-break
  spaces (U+202F), thin spaces (U+2009, LaTeX ``\\,``) and apostrophes only ever group thousands;
* a single "," or "." followed by exactly three digits, after an integer part of 1-3 digits that
  is not "0", groups thousands: "2,125" = "2.125" = 2125 (MGSM gold answers carry "2,125");
  otherwise it is the decimal mark: "1,25" = "1.25" = 5/4, "0,250" = 1/4, "18.00" = 18;
* when both "," and "." occur, the last one is the decimal mark and the other must group
  thousands: "1,234.5" = "1.234,5";
* the same mark repeated must group correctly ("1,234,567", Indian "1,00,000"); "1.2.3" is no
  number.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

# --- characters ---------------------------------------------------------------------------------

_NBSP, _NNBSP, _THIN = "\u00a0", "\u202f", "\u2009"

# Look-alikes that carry the same meaning as an ASCII character in a number.
_EXTRA = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash used as minus
    "\ufe63": "-",
    "\uff0d": "-",  # full-width hyphen-minus
    "\uff0b": "+",
    "\uff0c": ",",  # full-width comma
    "\uff0e": ".",  # full-width full stop
    "\uff0f": "/",
    "\uff05": "%",
    "\u066a": "%",  # Arabic percent sign
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    "\u2044": "/",  # fraction slash
}


class _AsciiDigits(dict):
    """str.translate table mapping every Unicode decimal digit (Bengali, Thai, Devanagari,
    full-width, Arabic-Indic, ...) to ASCII, filled lazily so import stays instant."""

    def __missing__(self, codepoint: int) -> int | str:
        char = chr(codepoint)
        value: int | str = _EXTRA.get(char, codepoint)
        if value == codepoint and codepoint > 127:
            digit = unicodedata.decimal(char, None)  # superscripts are not decimals: good
            if digit is not None:
                value = str(digit)
        self[codepoint] = value
        return value


_ASCII_DIGITS = _AsciiDigits()


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit in ASCII and Unicode minus/full-width marks folded."""
    return text if text.isascii() else text.translate(_ASCII_DIGITS)


# --- tokens -------------------------------------------------------------------------------------

MAX_TOKEN_CHARS = 200
"""Digit runs longer than this (with separators) are not numbers."""
_GROUP_SPACES = f"{_NBSP}{_NNBSP}{_THIN}'"
_CJK_MULTIPLIERS = {"百": 100, "千": 1000, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

# A digit run with separators between digits; the sign only when not glued to a word or digit
# ("3-4" is two numbers). Quantifiers are not nested, so matching stays linear on huge inputs.
_NUMBER = r"(?:(?<![A-Za-z0-9)\]}])-)?\d+(?:[.,SEPS]\d+)*"
_TOKEN_FREE = re.compile(_NUMBER.replace("SEPS", _GROUP_SPACES))
_TOKEN_ISOLATED = re.compile(_NUMBER.replace("SEPS", _GROUP_SPACES + " "))
# 千 before 克/米/瓦/卡/兆 is a metric prefix (千克 = kg), not "thousand".
_MULTIPLIED = re.compile(r"\s*((?:[百千万萬亿億](?![克米瓦卡兆]))+)")


def _grouped(groups: list[str], indian_ok: bool) -> bool:
    """Whether digit groups are valid thousands groups (Western 3-3-3, or Indian 2-2-3)."""
    head, tail = groups[0], groups[1:]
    if not tail or not 1 <= len(head) <= 3:
        return False
    if all(len(g) == 3 for g in tail):
        return True
    return indian_ok and len(tail[-1]) == 3 and all(len(g) == 2 for g in tail[:-1]) and len(head) <= 2


def _token_value(token: str) -> Fraction | None:
    """Exact value of one separator-bearing digit token, or None when its separators are
    inconsistent (see the module docstring for the rule)."""
    sign = -1 if token.startswith("-") else 1
    parts = re.split(r"([^\d])", token.lstrip("-"))
    groups, seps = parts[0::2], parts[1::2]
    if not seps:
        return sign * Fraction(int(groups[0]))
    spaces = set(seps) - {",", "."}
    marks = [s for s in seps if s in ",."]
    decimal = None
    if len(set(marks)) == 2 or (spaces and marks):
        # Mixed marks: the last one is the decimal mark and must occur once.
        if seps[-1] not in ",." or seps[:-1].count(seps[-1]):
            return None
        decimal = seps[-1]
    elif len(marks) == 1 and not spaces:
        head, frac = groups
        if not (len(frac) == 3 and 1 <= len(head) <= 3 and head[0] != "0"):
            decimal = seps[0]
    integer_groups = groups[:-1] if decimal else groups
    if len(integer_groups) > 1 and not _grouped(integer_groups, indian_ok="," in seps):
        return None
    value = Fraction(int("".join(integer_groups)))
    if decimal:
        value += Fraction(int(groups[-1]), 10 ** len(groups[-1]))
    return sign * value


def find_numbers(text: str, *, isolated: bool = False) -> list[tuple[int, int, Fraction]]:
    """``(start, end, value)`` of every number in ``text`` (digits already ASCII), in order.

    Plain spaces group thousands only when ``isolated`` (a lone answer such as "1 250"); in prose
    "3 250" is more likely two numbers. CJK multipliers follow their number: "7万" = 70000,
    "1万2000" = 12000.
    """
    pattern = _TOKEN_ISOLATED if isolated else _TOKEN_FREE
    found: list[tuple[int, int, Fraction]] = []
    for match in pattern.finditer(text):
        token, start = match.group(), match.start()
        if len(token) > MAX_TOKEN_CHARS:
            continue  # a wall of digits is no answer (and int() of it is slow, then refused)
        value = _token_value(token)
        if value is not None:
            found.append((start, match.end(), value))
            continue
        # Inconsistent separators ("1,2,3") make a list: each piece is its own number.
        for piece in re.finditer(r"\d+", token):
            found.append((start + piece.start(), start + piece.end(), Fraction(int(piece.group()))))
    return _merge_multipliers(text, found)


def _merge_multipliers(text: str, found: list[tuple[int, int, Fraction]]) -> list:
    """Fold CJK multipliers into their numbers: "7万" = 70000, "5百万" = 5000000,
    "1億2000万3000" = 120003000."""
    if not any(ch in text for ch in _CJK_MULTIPLIERS):
        return found
    merged: list[list] = []  # [start, end, value, ends_with_multiplier]
    for start, end, value in found:
        mult = _MULTIPLIED.match(text, end)
        factor = 1
        if mult:
            for ch in mult.group(1):
                factor *= _CJK_MULTIPLIERS[ch]
            end = mult.end()
        if merged and merged[-1][3] and merged[-1][1] == start:
            merged[-1][1:] = [end, merged[-1][2] + value * factor, bool(mult)]
        else:
            merged.append([start, end, value * factor, bool(mult)])
    return [(s, e, v) for s, e, v, _ in merged]


# --- isolated answers ---------------------------------------------------------------------------

_LATEX_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|operatorname|mbox|emph)\s*\{([^{}]*)\}"
)
_LATEX_FRAC = re.compile(r"(-?)\\[dt]?frac\s*(?:\{\s*(-?[\d.,]+)\s*\}|(\d))\s*(?:\{\s*(-?[\d.,]+)\s*\}|(\d))")
_SLASH_FRAC = re.compile(r"^(-?\d+)\s*/\s*(\d+)$")
_LATEX_SPACES = re.compile(r"\\[,;:! ]|~|\\quad|\\qquad")
_LATEX_NOISE = re.compile(r"\*\*|\\left|\\right|\\displaystyle|\\%|\\\$|\^\s*\{?\\circ\}?|\\circ|\\mathdollar")
# After wrappers, units and currency are letters or symbols; anything that builds an expression
# means "not a plain number" (math-verify decides those).
_EXPRESSION = re.compile(r"[+*/^()\[\]{}\\<>=≤≥×÷·|!]|\d\s*-|-\s*-")
_SIMPLE_INTEGER = re.compile(r"-?[0-9]{1,30}")
_DECIMAL_COMMA_BRACES = re.compile(r"\{([.,])\}")  # German LaTeX writes 1{,}5


def clean_latex_number(text: str) -> str:
    """Strip the LaTeX around a number: \\text{...}, \\$, \\%, degree signs, thin spaces."""
    text = ascii_digits(text).strip()
    for _ in range(3):  # nested wrappers such as \text{\textbf{18}}
        text, n = _LATEX_WRAPPERS.subn(r" \1 ", text)
        if not n:
            break
    text = _DECIMAL_COMMA_BRACES.sub(r"\1", text)
    text = _LATEX_SPACES.sub(_THIN, text)
    return _LATEX_NOISE.sub(" ", text).strip()


def parse_number(text: str) -> Fraction | None:
    """The exact value of ``text`` when it is one plain number, else None.

    Accepts currency and unit words around the number ("$18", "18 €", "18元", "18 рублей",
    "18 dollars"), a percent sign (dropped: "25%" is 25, as gold answers give percentages),
    trailing zeros ("18.00"), fractions ("3/4", "\\frac{3}{4}", "\\dfrac34"), \\text{...}
    wrappers, non-ASCII digits and the thousands/decimal separators described in the module
    docstring. Expressions ("2+3", "5 cm^2", "x = 2, 3") are not plain numbers: None.
    """
    if not isinstance(text, str) or len(text) > 1000:
        return None
    if _SIMPLE_INTEGER.fullmatch(text):  # the common case, ten times faster than the full path
        return Fraction(int(text))
    text = clean_latex_number(text)
    frac = _LATEX_FRAC.fullmatch(text.strip(" .$"))
    if frac:
        return _fraction(frac.group(1), frac.group(2) or frac.group(3), frac.group(4) or frac.group(5))
    slash = _SLASH_FRAC.match(text.strip(" .$"))
    if slash:
        return _fraction("", slash.group(1), slash.group(2))
    text = re.sub(r"^[a-zA-Z]\s*=\s*", "", text)  # "x = 5"
    numbers = find_numbers(text, isolated=True)
    if len(numbers) != 1:
        return None
    start, end, value = numbers[0]
    rest = text[:start] + " " + text[end:]
    if _EXPRESSION.search(rest) or any(ch.isdigit() for ch in rest):
        return None
    # A minus before a currency sign ("-$18", "−18 €" is handled by the token itself).
    prefix = "".join(ch for ch in text[:start] if not (ch.isspace() or unicodedata.category(ch) == "Sc"))
    if prefix.endswith("-"):
        value = -value
    return value


def _fraction(sign: str, numerator: str, denominator: str) -> Fraction | None:
    num, den = _token_value(numerator), _token_value(denominator)
    if num is None or den is None or den == 0:
        return None
    value = num / den
    return -value if sign else value
