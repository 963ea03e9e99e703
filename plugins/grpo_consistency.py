"""``grpo_consistency``: the study's language-consistency ablations of GRPO.

Both use the consistency prompt (reason in the question's language), in training and evaluation.
``consistency_reward: false`` keeps the accuracy reward (registry recipe
``grpo_consistency_prompt``); ``true`` rewards ``w·accuracy + (1-w)·consistency`` with w = 0.5
(recipe ``grpo_consistency_reward``), where consistency is 1 when langid finds the response in
the training language.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.config import option
from harness.errors import UserError
from harness.paradigm import TrainContext, TrainResult
from harness.trainers.grpo import GRPOOptions
from harness.plugins.grpo import run_grpo

COMBINED = "accuracy_consistency"


@dataclass
class GRPOConsistencyOptions(GRPOOptions):
    consistency_prompt: bool = option(True, help="Add the instruction to reason in the question's language.",
                                      source="paper")
    consistency_reward: bool = option(False, help="Reward accuracy and language consistency (else accuracy only).",
                                      source="paper")
    accuracy_weight: float = option(0.5, help="With consistency_reward: weight w of accuracy; consistency gets 1 - w.",
                                    source="paper")


class GRPOConsistency:
    name = "grpo_consistency"
    description = "GRPO with the consistency prompt, optionally + 0.5/0.5 accuracy/consistency reward"
    config_class = GRPOConsistencyOptions

    def train(self, context: TrainContext, config: GRPOConsistencyOptions) -> TrainResult:
        if not config.consistency_reward:
            return run_grpo(context, config)
        if not 0.0 <= config.accuracy_weight <= 1.0:
            raise UserError(f"accuracy_weight must lie in [0, 1], got {config.accuracy_weight}")
        from harness.rewards import Reward, combined_reward, get_builtin_rewards

        # The rewards the command loaded come in through the context; a bare context (a test, a
        # script) gets the built-ins rather than a global plugin catalog.
        given = context.rewards if context.rewards is not None else {r.name: r for r in get_builtin_rewards()}
        rewards = dict(given)
        weights = {"accuracy": config.accuracy_weight, "consistency": 1.0 - config.accuracy_weight}
        rewards[COMBINED] = Reward(COMBINED, combined_reward(weights, name=COMBINED), "accuracy + consistency")
        return run_grpo(context, dataclasses.replace(config, reward=COMBINED), rewards=rewards)


from harness.hookspecs import hookimpl  # noqa: E402  (this module is a default plugin: harness.plugin_manager.DEFAULT_PLUGINS)


@hookimpl
def register_paradigms(register):
    register(GRPOConsistency())
