"""Number normalisation: separators, scripts, currency, units, fractions (harness.grading.numbers)."""

from __future__ import annotations

import sys
import unicodedata
from fractions import Fraction as F

import pytest

from harness.grading import parse_number
from harness.grading.numbers import ascii_digits, find_numbers

# --- the ambiguous-separator rule ---------------------------------------------------------------

SEPARATORS = [
    # MGSM gold answers carry English thousands separators.
    ("2,125", 2125), ("114,200", 114200), ("276,000", 276000), ("5,600", 5600),
    # German/Spanish dots and French/Russian (narrow) no-break spaces group thousands too.
    ("2.125", 2125), ("70.000", 70000), ("1.234.567", 1234567),
    ("2\u202f125", 2125), ("2\u00a0125", 2125), ("2 125", 2125), ("1 234 567", 1234567),
    ("2\u2009125", 2125), ("1\\,250", 1250), ("1'250", 1250),
    # Indian grouping (Bengali and Telugu writers use it).
    ("1,00,000", 100000), ("12,34,567", 1234567),
    # Not exactly three digits after the mark, or integer part "0" or longer than 3: decimal.
    ("1,25", F(5, 4)), ("1.25", F(5, 4)), ("18.00", 18), ("18,00", 18), ("0,250", F(1, 4)),
    ("0.250", F(1, 4)), ("1234,567", F(1234567, 1000)), ("3.1415", F(31415, 10000)),
    # Both marks: the last is the decimal mark.
    ("1,234.5", F(2469, 2)), ("1.234,5", F(2469, 2)), ("1 234,5", F(2469, 2)),
    ("1\u202f234,56", F(123456, 100)), ("12,345,678.9", F(123456789, 10)),
    # German LaTeX decimal comma.
    ("1{,}5", F(3, 2)),
]


@pytest.mark.parametrize("text,value", SEPARATORS)
def test_separators(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1.2.3", "1,2,3", "1,23,4", "1.234,567,8", "12,34.567,8", "1.23.456"])
def test_inconsistent_separators_are_no_number(text):
    assert parse_number(text) is None


def test_separator_rule_is_the_same_in_every_language():
    # One rule for all: "2.125" means 2125 even where English would read 2.125; documented.
    assert parse_number("2.125") == parse_number("2,125") == 2125


# --- scripts ------------------------------------------------------------------------------------


def _decimal_zeros():
    """Every Unicode digit block: the code points whose decimal value is 0."""
    return [cp for cp in range(sys.maxunicode + 1) if unicodedata.decimal(chr(cp), None) == 0]


@pytest.mark.parametrize(
    "text,value",
    [("১৮", 18), ("১,২৫০", 1250), ("๑๘", 18), ("๒,๑๒๕", 2125), ("१८", 18), ("１８", 18),
     ("１，２５０", 1250), ("١٨", 18), ("۱۸", 18), ("١٢٫٥", F(25, 2)), ("\u221218", -18),
     ("－18", -18), ("18\uff05", 18), ("౧౮", 18)],
)
def test_non_ascii_digits(text, value):
    assert parse_number(text) == value


def test_every_unicode_digit_block():
    zeros = _decimal_zeros()
    assert len(zeros) > 50  # Bengali, Thai, Devanagari, full-width, Arabic-Indic, Telugu, ...
    for zero in zeros:
        digits = "".join(chr(zero + int(d)) for d in "2125")
        assert parse_number(digits) == 2125, (hex(zero), unicodedata.name(chr(zero)))


def test_superscripts_are_not_digits():
    assert ascii_digits("x²") == "x²"
    assert parse_number("5²") is None  # an exponent, never 52


# --- currency, units, percent, wrappers ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["18", "$18", "\\$18", "$18.00", "18 €", "18€", "€18", "18元", "18 元", "18円", "¥18",
     "18 dollars", "18 Dollar", "18 US-Dollar", "18 рублей", "18 ₽", "18 บาท", "৳18", "₹18",
     "18 dola", "US$ 18", "18.", "18 eggs", "\\text{18}", "18 \\text{ dollars}", "\\textbf{18}",
     "\\mathrm{18}", "**18**", "x = 18", "18,- €", "\\text{\\$}18", " 18 ", "18 ডলার"],
)
def test_currency_units_and_wrappers(text):
    assert parse_number(text) == 18


@pytest.mark.parametrize(
    "text,value",
    [("25%", 25), ("25\\%", 25), ("25 %", 25), ("150 %", 150), ("30^\\circ", 30), ("30°", 30),
     ("-$18", -18), ("$-18", -18), ("-18", -18), ("−18 €", -18)],
)
def test_percent_degrees_and_signs(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text,value",
    [("3/4", F(3, 4)), ("-3/4", F(-3, 4)), ("\\frac{3}{4}", F(3, 4)), ("\\dfrac{3}{4}", F(3, 4)),
     ("\\tfrac{3}{4}", F(3, 4)), ("\\frac34", F(3, 4)), ("-\\frac{3}{4}", F(-3, 4)),
     ("\\frac{-3}{4}", F(-3, 4)), ("\\frac{36}{2}", 18), ("\\frac{1,250}{2}", 625)],
)
def test_fractions(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text,value",
    [("7万", 70000), ("1.5万", 15000), ("1万2000", 12000), ("5百万", 5_000_000),
     ("3千円", 3000), ("1億2000万", 120_000_000), ("5千克", 5)],
)
def test_cjk_multipliers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "abc", "2+3", "2 \\times 9", "5 cm^2", "x = 2, 3", "(1,2)", "\\{1,2\\}", "\\sqrt{2}",
     "18 or 19", "1/0", "\\frac{1}{0}", "3-4", "1e5", "∞", "x", None, 18, "9" * 2000],
)
def test_not_a_plain_number(text):
    assert parse_number(text) is None


# --- numbers in prose ---------------------------------------------------------------------------


def test_find_numbers_in_prose():
    values = [v for _, _, v in find_numbers("Sie hat 16 Eier, isst 3-4 und verkauft 1.250 für -5 €.")]
    assert values == [16, 3, 4, 1250, -5]


def test_plain_spaces_group_only_in_isolated_answers():
    assert [v for *_, v in find_numbers("Step 3 250 apples")] == [3, 250]
    assert [v for *_, v in find_numbers("1 250", isolated=True)] == [1250]
    assert [v for *_, v in find_numbers("1\u202f250 apples")] == [1250]


def test_lists_split_into_numbers():
    assert [v for *_, v in find_numbers("1,2,3")] == [1, 2, 3]


def test_digits_glued_to_cjk_text():
    assert [v for *_, v in find_numbers("共18个，答案是-5")] == [18, -5]
