"""Property: on MATH500-style answers, flexible math grading agrees with math-verify's own
``verify(parse(gold), parse(response))``, boxed or not, wherever math-verify does not raise.

The answers come from a small grammar of what MATH500 golds are made of: integers and decimals,
fractions, radicals, intervals and unions, tuples, 2x2 matrices and relations. A response states
one such answer (equal to the gold, equivalent to it, or another draw) in a box or in ``$...$``,
``\\(...\\)``, ``\\[...\\]``, after "the answer is" or in plain prose.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.grading import grade
from harness.grading import mathequiv

small = st.integers(min_value=-20, max_value=40)
positive = st.integers(min_value=1, max_value=30)


def _number(draw) -> str:
    kind = draw(st.sampled_from(["int", "decimal", "negative"]))
    if kind == "decimal":
        return f"{draw(st.integers(0, 99))}.{draw(st.integers(1, 99)):02d}".rstrip("0")
    value = draw(positive if kind == "int" else small)
    return str(value)


@st.composite
def atom(draw) -> str:
    kind = draw(st.sampled_from(["number", "frac", "sqrt", "coef_sqrt", "frac_sqrt", "pi"]))
    if kind == "number":
        return _number(draw)
    a, b = draw(positive), draw(st.integers(2, 12))
    command = draw(st.sampled_from(["\\frac", "\\dfrac", "\\tfrac"]))
    sign = draw(st.sampled_from(["", "-"]))
    if kind == "frac":
        return f"{sign}{command}{{{a}}}{{{b}}}"
    if kind == "sqrt":
        return f"\\sqrt{{{b}}}"
    if kind == "coef_sqrt":
        return f"{sign}{a}\\sqrt{{{b}}}"
    if kind == "frac_sqrt":
        return f"{command}{{\\sqrt{{{b}}}}}{{{a}}}"
    return f"{a}\\pi" if a > 1 else "\\pi"


RELATIONS = ["<", ">", "\\le", "\\ge", "\\leq", "\\geq"]


@st.composite
def answer(draw) -> str:
    kind = draw(st.sampled_from(["atom", "atom", "interval", "union", "tuple", "matrix", "relation", "equation"]))
    if kind == "atom":
        return draw(atom())
    if kind in ("interval", "union"):
        left, right = sorted([draw(small), draw(small)])
        right = right + 1 if right == left else right
        opening, closing = draw(st.sampled_from("([")), draw(st.sampled_from(")]"))
        first = f"{opening}{left}, {right}{closing}"
        if kind == "interval":
            return draw(st.sampled_from([first, f"(-\\infty, {right}{closing}", f"{opening}{left}, \\infty)"]))
        return f"(-\\infty, {left}{closing} \\cup {opening}{right}, \\infty)"
    if kind == "tuple":
        return "(" + ", ".join(draw(atom()) for _ in range(draw(st.integers(2, 3)))) + ")"
    if kind == "matrix":
        a, b, c, d = (draw(atom()) for _ in range(4))
        return f"\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{pmatrix}}"
    variable = draw(st.sampled_from("xyk"))
    if kind == "relation":
        relation = draw(st.sampled_from(RELATIONS))
        return f"{variable} {relation} {draw(atom())}"
    return f"{variable} = {draw(atom())}"


RESPONSES = [
    "We simplify step by step and get $\\boxed{{{x}}}$.",
    "Putting it together, the final answer is \\boxed{{{x}}}. Done.",
    "Therefore, the answer is ${x}$.",
    "So the solution is \\({x}\\).",
    "Collecting the terms gives\n\\[\n{x}\n\\]",
    "Final Answer: The final answer is ${x}$. I hope it is correct.",
    "Hence we obtain $${x}$$",
]


@st.composite
def case(draw):
    gold = draw(answer())
    shown = gold if draw(st.booleans()) else draw(answer())
    template = draw(st.sampled_from(RESPONSES))
    return gold, template.format(x=shown)


def math_verify_verdict(gold: str, response: str) -> bool | None:
    """math-verify on its own (in this process's main thread), or None where it raises."""
    from math_verify import parse, verify

    try:
        gold_parsed = parse("\\boxed{" + gold + "}", raise_on_error=True)
        if not gold_parsed or isinstance(gold_parsed[0], str):
            return None  # an unparsable gold is an error in the harness, not a verdict
        return bool(verify(gold_parsed, parse(response, raise_on_error=True), raise_on_error=True))
    except Exception:
        return None


@pytest.fixture(scope="module", autouse=True)
def warm():
    mathequiv.warm_up()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=case())
def test_flexible_math_agrees_with_math_verify(pair):
    gold, response = pair
    expected = math_verify_verdict(gold, response)
    if expected is None:
        return
    assert grade(response, gold, kind="math", mode="flexible", timeout=10.0) is expected
