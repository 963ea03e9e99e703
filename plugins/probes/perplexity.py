"""Perplexity per language: how sure the model is of its own reasoning, and of the problems.

Definition reported (``response_ppl``): per-token perplexity of the model's own sampled
responses, conditioned on the prompt,

    response_ppl(l) = exp( Σ_responses Σ_tokens NLL / Σ_responses #tokens ),

over the ``num_generations`` responses sampled for each problem in language l (temperature and
top-p of the probe options: 1.0 / 1.0 by default, as the RL rollouts sample), scored by the same model. The
study does not spell out its definition; its figures (German highest at 1.414) sit just above 1,
which fits a model scoring its own samples far better than human-written text, so this is our
reading of it. Pooling tokens (rather than averaging per-response perplexities) keeps short or empty
responses from dominating; the per-response mean is reported too (``response_ppl_mean``).

``problem_ppl``: the same per-token perplexity of the question's tokens, given what precedes
them in the chat prompt: how familiar the problems' language is to the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.core.hookspecs import ProbeContext, hookimpl


class PerplexityProbe:
    name = "perplexity"
    description = "Per-token perplexity of the model's own sampled responses, and of the problems, per language."

    def run(self, context: ProbeContext) -> dict:
        from harness.plugins.probes import lm, plots
        from harness.plugins.probes.sampling import sampled_responses

        sampled = sampled_responses(context)
        tokenizer, model = lm.load(context.model, context.cache)
        per_language = {}
        for lang, per_problem in sampled.items():
            problems = context.problems[lang]
            pairs = [(lm.chat_prompt(tokenizer, p["question"], lang), r)
                     for p, responses in zip(problems, per_problem) for r in responses]
            responses = lm.target_nll(tokenizer, model, pairs, context.options.batch_size)
            questions = lm.target_nll(tokenizer, model,
                                      [lm.question_split(tokenizer, p["question"], lang) for p in problems],
                                      context.options.batch_size)
            per_language[lang] = {**summarize(responses, "response"), **summarize(questions, "problem")}
        path = plots.bars(
            context.plot_path("perplexity.png"), f"{context.label}: per-token perplexity",
            {"own responses": {l: r["response_ppl"] for l, r in per_language.items()},
             "problems": {l: r["problem_ppl"] for l, r in per_language.items()}},
            "perplexity (log scale)", log=True,
        )
        table = [{"lang": lang, **{k: row[k] for k in ("response_ppl", "response_ppl_mean", "problem_ppl",
                                                          "response_tokens_mean", "empty_responses")}}
                 for lang, row in per_language.items()]
        return {
            "definition": "response_ppl = exp(total NLL / total tokens) of the model's own sampled responses "
                          "given their prompts, pooled over a language's responses; problem_ppl = the same "
                          "for the question tokens given the chat prefix",
            "model": context.model, "per_language": per_language, "table": table,
            "plots": [context.relative(path)],
        }


def summarize(scores: Sequence[tuple[float, int]], what: str) -> dict:
    """Pooled and mean per-text perplexity of (summed NLL, token count) pairs; texts without
    tokens (empty responses) are counted and left out (None when none is left)."""
    scored = [(nll, n) for nll, n in scores if n > 0]
    tokens = sum(n for _, n in scored)
    return {
        f"{what}_ppl": math.exp(sum(nll for nll, _ in scored) / tokens) if tokens else None,
        f"{what}_ppl_mean": sum(math.exp(nll / n) for nll, n in scored) / len(scored) if scored else None,
        f"{what}_tokens_mean": tokens / len(scored) if scored else 0.0,
        f"empty_{what}s": len(scores) - len(scored),
    }


@hookimpl
def register_probes(register):
    register(PerplexityProbe())
