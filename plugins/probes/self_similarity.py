"""Self-similarity: how alike are the k responses a model samples for one problem?

Per problem, the mean sentence BLEU over all ordered pairs (i, j), i != j, of its k responses
(sentence BLEU is not symmetric, its brevity penalty looks at the hypothesis; averaging both
orders makes the figure symmetric); per language, the mean over problems. sacrebleu's 0-100
scale: the study's 0-1 figures (German lowest at 0.425) correspond to 42.5 here
(``self_bleu_01`` gives the 0-1 value). Identical responses score 100.

Tokenization, chosen to work offline: sacrebleu's ``zh`` tokenizer for Chinese (each Hanzi a
token, other scripts as in 13a); characters (``char``) for Japanese and Thai, which write no
spaces and whose proper tokenizers need MeCab or a downloaded SentencePiece model (``ja-mecab``,
``flores200``); ``13a`` for the rest. Character n-grams reward shared characters more easily than
word n-grams reward shared words, so compare a language's self-similarity across models, not
across languages of different tokenization.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

from harness.core.errors import UserError
from harness.core.hookspecs import ProbeContext, hookimpl

TOKENIZERS = {"zh": "zh", "ja": "char", "th": "char"}
DEFAULT_TOKENIZER = "13a"


class SelfSimilarityProbe:
    name = "self_similarity"
    description = "Mean pairwise BLEU among k sampled responses per problem, per language (lower = more diverse)."

    def run(self, context: ProbeContext) -> dict:
        from harness.plugins.probes import plots
        from harness.plugins.probes.sampling import sampled_responses

        if context.options.num_generations < 2:
            raise UserError("self_similarity compares sampled responses with each other: it needs k >= 2")
        sampled = sampled_responses(context)
        per_language = {}
        for lang, per_problem in sampled.items():
            scores = [pairwise_bleu(responses, lang) for responses in per_problem]
            mean = sum(scores) / len(scores) if scores else None
            per_language[lang] = {"self_bleu": mean, "self_bleu_01": None if mean is None else mean / 100,
                                  "problems": len(scores), "k": context.options.num_generations, "tokenize": tokenizer_for(lang)}
        path = plots.bars(context.plot_path("self_similarity.png"),
                          f"{context.label}: self-similarity of {context.options.num_generations} samples per problem",
                          {"self-BLEU": {l: r["self_bleu"] for l, r in per_language.items()}},
                          "mean pairwise BLEU (0-100)")
        table = [{"lang": lang, **{k: row[k] for k in ("self_bleu", "problems", "k", "tokenize")}}
                 for lang, row in per_language.items()]
        return {
            "definition": "mean over problems of the mean sentence BLEU (sacrebleu, 0-100) over ordered "
                          "pairs of the k responses sampled for the problem",
            "per_language": per_language, "table": table, "plots": [context.relative(path)],
        }


def tokenizer_for(lang: str) -> str:
    return TOKENIZERS.get(lang, DEFAULT_TOKENIZER)


@lru_cache(maxsize=8)
def _bleu(tokenize: str):
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=tokenize, effective_order=True)


def pairwise_bleu(responses: Sequence[str], lang: str) -> float:
    """Mean sentence BLEU (0-100) over ordered pairs of distinct positions; identical texts
    score 100 (sacrebleu gives two empty texts 0)."""
    if len(responses) < 2:
        raise ValueError("pairwise BLEU needs at least two responses")
    bleu = _bleu(tokenizer_for(lang))
    scores = [100.0 if hyp == ref else bleu.sentence_score(hyp, [ref]).score
              for hyp, ref in itertools.permutations(responses, 2)]
    return sum(scores) / len(scores)


@hookimpl
def register_probes(register):
    register(SelfSimilarityProbe())
