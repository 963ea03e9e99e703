"""``mixed``: GRPO on a mixture of training languages (the study: En+Zh+De), with reward and
accuracy logged per language (``accuracy/en``, ``reward/zh``, ...)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.config import option
from harness.corpora import mix, parse_counts
from harness.errors import UserError
from harness.paradigm import TrainContext, TrainResult
from harness.trainers.common import main_process_only
from harness.trainers.grpo import GRPOOptions
from harness.plugins.grpo import run_grpo


@dataclass
class MixedOptions(GRPOOptions):
    language_counts: str = option("", help="Problems per language, e.g. en=2000,zh=2000,de=2000 (default: all loaded).")
    disjoint_problems: bool = option(False, help="Give each problem to one language only (no parallel copies).")


class Mixed:
    name = "mixed"
    description = "GRPO on a language mixture (e.g. --lang en,zh,de), metrics per language"
    config_class = MixedOptions

    def train(self, context: TrainContext, config: MixedOptions) -> TrainResult:
        if len(context.languages) < 2:
            raise UserError("mixed trains on several languages: give them with --lang, e.g. --lang en,zh,de")
        counts = parse_counts(config.language_counts, context.languages) if config.language_counts else None
        train = mix(context.datasets["train"], counts, seed=context.seed, disjoint=config.disjoint_problems)
        main_process_only(context.log)({"event": "mixture", **{f"problems/{k}": v for k, v in _count(train).items()}})
        return run_grpo(dataclasses.replace(context, datasets={**context.datasets, "train": train}), config)


def _count(records) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["lang"]] = counts.get(record["lang"], 0) + 1
    return counts
