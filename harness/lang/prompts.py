"""The one prompt function, shared by training and evaluation.

Train/eval prompt drift is the classic bug of this field, so every path that shows a model a
problem (lm-eval tasks, TRL datasets, RFT sampling, probes) builds it here.
"""

from __future__ import annotations

from harness.core.literals import BOXED_INSTRUCTION, literals


def prompt_text(question: str, lang: str, *, consistency: bool = False) -> str:
    """The user turn for a problem: the question, then the boxed-answer instruction.

    With ``consistency`` the localized instruction to reason in the question's language follows
    (the study's consistency-prompt ablation).
    """
    text = f"{question.strip()}\n{BOXED_INSTRUCTION}"
    if consistency:
        text += f" {literals(lang).reason_in_language}"
    return text


def prompt_messages(question: str, lang: str, *, consistency: bool = False) -> list[dict]:
    """The same prompt in conversational form (what TRL trainers and chat templates take)."""
    return [{"role": "user", "content": prompt_text(question, lang, consistency=consistency)}]
