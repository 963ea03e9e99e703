"""Grading sampled responses: which of k responses per problem answer it (RFT keeps those),
and the sampled accuracy of a model on held-out problems.

Sampling itself is :mod:`harness.inference` (one sampler for RFT, probes and anything else).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.inference import SamplingSettings, sample

__all__ = ["accuracy", "grade_samples"]


# --- grading samples -----------------------------------------------------------------------------


def grade_samples(records: Sequence[dict], samples: Sequence[Sequence[str]], mode: str = "strict") -> list[list[bool]]:
    """Whether each sampled response answers its record's gold ``answer`` (harness.grading;
    ``strict``: the boxed answer only, as the accuracy reward; ``flexible``: also "the answer is N")."""
    from harness.grading import grade_many

    flat, golds, kinds, langs = [], [], [], []
    for record, responses in zip(records, samples):
        for response in responses:
            flat.append(response)
            golds.append(record["answer"])
            kinds.append(record.get("answer_kind") or "number")
            langs.append(record["lang"])
    verdicts = grade_many(flat, golds, kind=kinds, langs=langs, mode=mode, gold_errors="return")
    graded, position = [], 0
    for responses in samples:
        graded.append([verdicts[position + i] is True for i in range(len(responses))])
        position += len(responses)
    return graded


def accuracy(model: str, records: Sequence[dict], settings: SamplingSettings, mode: str = "strict") -> dict[str, float]:
    """Mean accuracy of sampled responses, overall (``all``) and per language."""
    graded = grade_samples(records, sample(model, records, settings), mode)
    by_lang: dict[str, list[float]] = {}
    for record, verdicts in zip(records, graded):
        by_lang.setdefault(record["lang"], []).extend(float(v) for v in verdicts)
    result = {lang: sum(v) / len(v) for lang, v in sorted(by_lang.items())}
    every = [v for values in by_lang.values() for v in values]
    result["all"] = sum(every) / len(every) if every else 0.0
    return result
