"""The probes' samples: ``num_generations`` responses per problem, drawn once per run through
:func:`harness.inference.sample` (the harness's one sampler) and shared by the probes of that run
(:func:`sampled_responses` caches them in the context), so perplexity and self-similarity describe
the same responses.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.hookspecs import ProbeContext, ProbeOptions
from harness.inference import SamplingSettings
from harness.inference import sample as sample_responses


def sampled_responses(context: ProbeContext, model: str | None = None) -> dict[str, list[list[str]]]:
    """language -> one list of ``num_generations`` responses per problem of ``context.problems``."""
    model = model or context.model
    o = context.options
    key = ("samples", model, o.num_generations, o.max_new_tokens, o.temperature, o.top_p, o.seed, o.backend,
           tuple(context.languages))
    if key not in context.cache:
        langs = [lang for lang in context.languages if context.problems.get(lang)]
        problems = [p for lang in langs for p in context.problems[lang]]
        by_lang: dict[str, list[list[str]]] = {}
        for problem, responses in zip(problems, sample(model, problems, o, cache=context.cache)):
            by_lang.setdefault(problem["lang"], []).append(responses)
        context.cache[key] = by_lang
    return context.cache[key]


def sample(model: str, problems: Sequence[dict], options: ProbeOptions, cache: dict | None = None) -> list[list[str]]:
    """``options.num_generations`` responses (decoded text, special tokens dropped) for each
    problem's chat prompt; the hf model stays in ``cache`` for the probes that score it next."""
    settings = SamplingSettings(num_generations=options.num_generations, max_new_tokens=options.max_new_tokens,
                                temperature=options.temperature, top_p=options.top_p, seed=options.seed,
                                backend=options.backend, batch_size=options.batch_size)
    return sample_responses(model, problems, settings, cache=cache)
