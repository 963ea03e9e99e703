"""``mixed``: GRPO on a mixture of training languages (the study: En+Zh+De), with reward and
accuracy logged per language (``accuracy/en``, ``reward/zh``, ...).

``--mixture single`` (the default) keeps a single-language run's budget: each problem once, its
language drawn evenly from the mixture (seeded), so the mixed run sees as many prompts and takes
as many steps as ``grpo`` in one language and "mixing" is not confounded with "three times the
data". ``--mixture full`` trains on every parallel copy (three times the data and steps). The
run's config and its metrics log (event ``mixture``) record which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.core.config import option
from harness.core.errors import UserError, unknown
from harness.core.hookspecs import TrainContext, TrainResult, hookimpl
from harness.data.corpora import mix, parse_counts
from harness.plugins._stages import run_paradigm
from harness.trainers.common import main_process_only
from harness.trainers.grpo import GRPOOptions, check_rollout

MIXTURES = ("single", "full")


@dataclass
class MixedOptions(GRPOOptions):
    mixture: str = option("single", help="single: each problem once, in a language drawn evenly (a single-language "
                                          "run's budget); full: every parallel copy (n languages x the data).",
                          source="harness choice: the same budget as one language, so mixing is not more data",
                          choices=MIXTURES)
    language_counts: str = option("", help="Problems per language, e.g. en=2000,zh=2000,de=2000 (default: all loaded).",
                                  source="harness choice: all the data the mixture gives")


class Mixed:
    name = "mixed"
    description = "GRPO on a language mixture (e.g. --lang en,zh,de), metrics per language"
    config_class = MixedOptions

    def check(self, config: MixedOptions, *, languages: Sequence[str], train: Sequence[dict], seed: int,
              **others) -> None:
        """What `harness train` checks before the run directory exists: several languages, a
        mixture the data has (--language-counts), and GRPO's checks of it (enough of its prompts
        for a rollout, a vLLM server in server mode)."""
        check_languages(languages)
        check_rollout(config, train=mixture_records(train, config, languages, seed)[0], **others)

    def train(self, context: TrainContext, config: MixedOptions) -> TrainResult:
        check_languages(context.languages)
        train, kind = mixture_records(context.datasets["train"], config, context.languages, context.seed)
        main_process_only(context.log)({"event": "mixture", "mixture": kind,
                                        **{f"problems/{k}": v for k, v in _count(train).items()}})
        return run_paradigm(context, "grpo", config, datasets={**context.datasets, "train": train})


def check_languages(languages: Sequence[str]) -> None:
    if len(languages) < 2:
        raise UserError("mixed trains on several languages: give them with --lang, e.g. --lang en,zh,de")


def mixture_records(records, config: MixedOptions, languages, seed: int) -> tuple[list[dict], str]:
    """(the training records of the mixture, "single" or "full")."""
    if config.mixture not in MIXTURES:
        raise unknown("mixture", config.mixture, MIXTURES)
    kind = config.mixture
    counts = parse_counts(config.language_counts, languages) if config.language_counts else None
    return mix(records, counts, seed=seed, disjoint=kind == "single"), kind


def _count(records) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["lang"]] = counts.get(record["lang"], 0) + 1
    return counts


@hookimpl
def register_paradigms(register):
    register(Mixed())
