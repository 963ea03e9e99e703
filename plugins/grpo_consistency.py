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

from harness.core.config import option
from harness.core.errors import UserError
from harness.core.hookspecs import Reward, TrainContext, TrainResult, hookimpl
from harness.plugins._stages import run_paradigm
from harness.plugins.rewards import combined_reward
from harness.trainers.grpo import GRPOOptions, check_rollout, reward_function
from harness.trainers.options import override

COMBINED = "accuracy_consistency"
ACCURACY_WEIGHT = 0.5


@dataclass
class GRPOConsistencyOptions(GRPOOptions):
    consistency_prompt: bool = override("consistency_prompt", True, "paper")  # both ablations use the prompt
    consistency_reward: bool = option(False, help="Reward accuracy and language consistency (else accuracy only).",
                                      source="paper")
    accuracy_weight: float = option(ACCURACY_WEIGHT, help="With consistency_reward: weight w of accuracy, in [0, 1]; "
                                              "consistency gets 1 - w.",
                                    source="paper", ge=0, le=1)

    def check(self) -> None:
        """GRPO's rules; a weight that would be ignored is refused."""
        super().check()
        if not self.consistency_reward and self.accuracy_weight != ACCURACY_WEIGHT:
            raise UserError("--accuracy-weight weighs the consistency reward: give --consistency-reward true too "
                            "(or the grpo_consistency_reward recipe)")


class GRPOConsistency:
    name = "grpo_consistency"
    description = "GRPO with the consistency prompt, optionally + 0.5/0.5 accuracy/consistency reward"
    config_class = GRPOConsistencyOptions

    check = staticmethod(check_rollout)  # enough prompts for one rollout, before the run directory

    def train(self, context: TrainContext, config: GRPOConsistencyOptions) -> TrainResult:
        if not config.consistency_reward:
            return run_paradigm(context, "grpo", config)
        # The parts are the rewards the command loaded (context.rewards), as GRPO's own reward is.
        weights = {"accuracy": config.accuracy_weight, "consistency": 1.0 - config.accuracy_weight}
        parts = {part: reward_function(part, context.rewards) for part in weights}
        reward = Reward(COMBINED, combined_reward(weights, name=COMBINED, parts=parts), "accuracy + consistency")
        return run_paradigm(context, "grpo", dataclasses.replace(config, reward=COMBINED),
                            rewards={**context.rewards, COMBINED: reward})


@hookimpl
def register_paradigms(register):
    register(GRPOConsistency())
