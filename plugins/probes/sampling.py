"""The probes' samples: k responses per problem, drawn once per run through
:func:`harness.inference.sample` (the harness's one sampler) and shared by the probes of that run
(:func:`sampled_responses` caches them in the context), so perplexity and self-similarity describe
the same responses.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.probes import ProbeContext
from harness.inference import ACCEPTED, SamplingSettings
from harness.inference import sample as sample_responses

BACKENDS = ACCEPTED
"""Backend spellings a probe option accepts (the old ``transformers`` among them)."""


def sampled_responses(context: ProbeContext, model: str | None = None) -> dict[str, list[list[str]]]:
    """language -> one list of ``context.k`` responses per problem of ``context.problems``."""
    model = model or context.model
    key = ("samples", model, context.k, context.max_new_tokens, context.temperature, context.top_p,
           context.seed, context.backend, tuple(context.languages))
    if key not in context.cache:
        langs = [lang for lang in context.languages if context.problems.get(lang)]
        problems = [p for lang in langs for p in context.problems[lang]]
        flat = sample(model, problems, k=context.k, max_new_tokens=context.max_new_tokens,
                      temperature=context.temperature, top_p=context.top_p, seed=context.seed,
                      backend=context.backend, batch_size=context.batch_size, cache=context.cache)
        by_lang: dict[str, list[list[str]]] = {}
        for problem, responses in zip(problems, flat):
            by_lang.setdefault(problem["lang"], []).append(responses)
        context.cache[key] = by_lang
    return context.cache[key]


def sample(model: str, problems: Sequence[dict], *, k: int, max_new_tokens: int, temperature: float = 1.0,
           top_p: float = 0.95, seed: int = 0, backend: str = "hf", batch_size: int = 8,
           cache: dict | None = None) -> list[list[str]]:
    """k responses (decoded text, special tokens dropped) for each problem's chat prompt; the
    hf model stays in ``cache`` for the probes that score it next."""
    settings = SamplingSettings(num_samples=k, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                seed=seed, backend=backend, batch_size=batch_size)
    return sample_responses(model, problems, settings, cache=cache)
