"""Reward functions for RL paradigms, in TRL's signature, and the hook that registers them.

A reward is ``fn(prompts, completions, **columns) -> list[float | None]``: TRL passes every
dataset column by name (here ``answer``, ``lang``, optionally ``answer_kind``) plus
``log_metric(name, value)``, which the built-ins use to log the boxed-answer rate, accuracy per
language and the consistency rate. Completions are strings or conversational message lists.
See docs/rewards.md for writing your own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping

from harness.core.hookspecs import Reward, hookimpl
from harness.core.literals import LITERALS
from harness.grading import GoldAnswerError, grade_many
from harness.grading.extract import extract_boxed
from harness.lang.language_id import main_language

log = logging.getLogger(__name__)


def completion_text(completion) -> str:
    """The text of one completion: a string, or the assistant turns of a conversation (whose
    content may itself be a list of ``{"type": "text", "text": ...}`` parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    parts = []
    for message in completion or []:
        if not isinstance(message, Mapping) or message.get("role", "assistant") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "\n".join(parts)


def _column(columns: Mapping, name: str, n: int, default=None, *, required: bool = False) -> list:
    values = columns.get(name)
    if values is None:
        if required:
            raise ValueError(f"this reward needs a dataset column {name!r}; columns present: "
                             f"{', '.join(sorted(k for k in columns if k != 'log_metric'))}")
        return [default] * n
    return list(values)


def _log_by_language(log_metric, prefix: str, scores: list[float], langs: list) -> None:
    """Log the batch mean and, when the batch has a language column, the mean per language."""
    if log_metric is None or not scores:
        return
    log_metric(prefix, sum(scores) / len(scores))
    by_lang: dict[str, list[float]] = defaultdict(list)
    for score, lang in zip(scores, langs):
        if lang:
            by_lang[lang].append(score)
    for lang, values in sorted(by_lang.items()):
        log_metric(f"{prefix}/{lang}", sum(values) / len(values))


def accuracy_reward(prompts, completions, **columns) -> list[float | None]:
    """1.0 when the last ``\\boxed{}`` answer equals the gold ``answer`` column, else 0.0.

    Strict extraction (the study's protocol). ``answer_kind`` (number, math, choice; default
    number) picks the comparison. A row whose gold is None gets None (no reward for that row);
    an unparsable gold scores 0.0 and is logged, never 1.0.
    """
    n = len(completions)
    texts = [completion_text(c) for c in completions]
    golds = _column(columns, "answer", n, required=True)
    langs = _column(columns, "lang", n)
    kinds = [k or "number" for k in _column(columns, "answer_kind", n, "number")]
    rows = [i for i in range(n) if golds[i] is not None]
    verdicts = grade_many(
        [texts[i] for i in rows], [golds[i] for i in rows], kind=[kinds[i] for i in rows],
        langs=[langs[i] for i in rows], gold_errors="return",
    )
    rewards: list[float | None] = [None] * n
    bad_golds = 0
    for i, verdict in zip(rows, verdicts):
        if isinstance(verdict, GoldAnswerError):
            bad_golds += 1
            log.warning("%s; scored 0", verdict)
        rewards[i] = 1.0 if verdict is True else 0.0
    log_metric = columns.get("log_metric")
    if log_metric is not None and rows:
        log_metric("grading/boxed_rate", sum(extract_boxed(texts[i]) is not None for i in rows) / len(rows))
        log_metric("grading/bad_gold_rate", bad_golds / len(rows))
    _log_by_language(log_metric, "accuracy", [rewards[i] for i in rows], [langs[i] for i in rows])
    return rewards


def consistency_reward(prompts, completions, **columns) -> list[float | None]:
    """1.0 when langid finds the completion's main language (LaTeX, numbers, code and the boxed
    answer removed) equal to the ``lang`` column, else 0.0 (also for undetermined text).

    Candidates are the LITERALS languages (plus the target when it is another langid code);
    see docs/rewards.md for what that restriction costs."""
    n = len(completions)
    targets = _column(columns, "lang", n, required=True)
    rewards: list[float | None] = []
    for completion, target in zip(completions, targets):
        if not target:
            rewards.append(None)
            continue
        # A target outside LITERALS (MMATH's ko, vi, ...) joins the candidates, else it could
        # never be found.
        candidates = None if target in LITERALS else [*LITERALS, target]
        rewards.append(1.0 if main_language(completion_text(completion), candidates) == target else 0.0)
    scored = [r for r in rewards if r is not None]
    _log_by_language(columns.get("log_metric"), "consistency", scored, [t for t in targets if t])
    return rewards


_PARTS: dict[str, Callable] = {"accuracy": accuracy_reward, "consistency": consistency_reward}


def combined_reward(weights: Mapping[str, float] | None = None, name: str = "accuracy_consistency",
                    parts: Mapping[str, Callable] | None = None):
    """A reward ``sum(weight * part)`` over the named parts; the study's default is
    ``0.5 * accuracy + 0.5 * consistency``. A part that gives None for a row counts as 0.
    ``parts`` maps part names to reward functions (default: the built-in accuracy and consistency)."""
    weights = dict(weights if weights is not None else {"accuracy": 0.5, "consistency": 0.5})
    parts = dict(parts if parts is not None else _PARTS)
    unknown = sorted(set(weights) - set(parts))
    if unknown or not weights:
        raise ValueError(f"unknown reward parts {unknown}; combine any of {', '.join(parts)}")

    def reward(prompts, completions, **columns) -> list[float | None]:
        total = [0.0] * len(completions)
        for part, weight in weights.items():
            for i, score in enumerate(parts[part](prompts, completions, **columns)):
                total[i] += weight * (score or 0.0)
        return total

    reward.__name__ = reward.__qualname__ = name  # TRL logs rewards under their function name
    reward.__doc__ = " + ".join(f"{w} * {p}" for p, w in weights.items())
    return reward


def get_builtin_rewards() -> list[Reward]:
    """The rewards this package ships, in registration order."""
    return [
        Reward("accuracy", accuracy_reward, "1 if the boxed final answer is correct, else 0"),
        Reward("consistency", consistency_reward,
               "1 if langid finds the response in the prompt's language, else 0"),
        Reward("accuracy_consistency", combined_reward(),
               "0.5 * accuracy + 0.5 * consistency (the study's consistency-reward ablation)"),
    ]


@hookimpl
def register_rewards(register):
    for reward in get_builtin_rewards():
        register(reward)
