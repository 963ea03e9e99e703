"""Language consistency: does the model reason in the language of the question?

The study's Table 6: the share of responses whose main language is the question's language
(RL on Chinese or German: 0.0% for most question languages). Language identification is
:mod:`harness.lang.language_id` (langid restricted to the study's languages, math and numbers removed
first); a response too short to identify counts as undetermined ("und"), hence inconsistent.

Beside the share, a language-mix profile: the mean over responses of the share of each language
in a response's text (sentences identified one by one, weighted by their letters), which shows
*which* language the model drifts into.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.core.hookspecs import ProbeContext, hookimpl
from harness.core.literals import STUDY_LANGUAGES


class ConsistencyProbe:
    name = "consistency"
    description = "Share of responses written in the question's language, and each response language's share (Table 6)."

    def run(self, context: ProbeContext) -> dict:
        from harness.plugins.probes import plots

        sources, source = responses_by_task(context)
        candidates = list(dict.fromkeys([*STUDY_LANGUAGES, *context.languages]))
        per_task = {task: {lang: measure(by_lang[lang], lang, candidates) for lang in context.languages
                           if lang in by_lang}
                    for task, by_lang in sources.items()}
        written = []
        for task, by_lang in per_task.items():
            path = plots.stacked_shares(
                context.plot_path(f"consistency_{task}.png"),
                f"{context.label}, {task}: language of the responses\n(on top: share answered in the question's language)",
                {lang: row["mix"] for lang, row in by_lang.items()},
                highlight={lang: row["consistency"] for lang, row in by_lang.items()},
            )
            written.append(context.relative(path))
        table = [{"task": task, "lang": lang, "n": row["n"], "consistency": row["consistency"],
                  "main": _top(row["main_languages"])}
                 for task, by_lang in per_task.items() for lang, row in by_lang.items()]
        return {
            "definition": "consistency = share of responses whose main language (langid over the study "
                          "languages, math removed) is the question's language; mix = mean per-response "
                          "share of each language, sentences weighted by letters",
            "source": source, "per_task": per_task, "table": table, "plots": written,
        }


def responses_by_task(context: ProbeContext) -> tuple[dict[str, dict[str, list[str]]], str]:
    """The eval run's responses when the context has them, else freshly sampled ones."""
    if context.samples:
        langs = set(context.languages)
        by_task = {task: {lang: [r for rec in records for r in rec["responses"]]
                          for lang, records in by_lang.items() if lang in langs}
                   for task, by_lang in context.samples.items()}
        return {t: v for t, v in by_task.items() if v}, "eval samples"
    from harness.plugins.probes.sampling import sampled_responses

    sampled = sampled_responses(context)
    flat = {lang: [r for responses in per_problem for r in responses] for lang, per_problem in sampled.items()}
    return {"sampled": flat}, (f"sampled: k={context.options.num_generations}, temperature={context.options.temperature}, "
                               f"top_p={context.options.top_p}, max_new_tokens={context.options.max_new_tokens}")


def measure(responses: Sequence[str], lang: str, candidates: Sequence[str]) -> dict:
    """Consistency, main-language counts and the mean language mix of one language's responses."""
    from harness.lang.language_id import language_mix, main_language

    mains = [main_language(r, candidates=candidates) for r in responses]
    mix: Counter = Counter()
    for response in responses:
        mix.update(language_mix(response, candidates=candidates, unit="char"))
    n = len(responses)
    return {
        "n": n,
        "consistency": sum(m == lang for m in mains) / n if n else 0.0,
        "main_languages": dict(Counter(mains).most_common()),
        "mix": {code: share / n for code, share in mix.most_common()} if n else {},
    }


def _top(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return " ".join(f"{code}:{count / total:.0%}" for code, count in list(counts.items())[:3])


@hookimpl
def register_probes(register):
    register(ConsistencyProbe())
