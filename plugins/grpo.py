"""``grpo``: GRPO with the accuracy reward (the study's RL setting)."""

from __future__ import annotations

from harness.core.hookspecs import TrainContext, TrainResult, hookimpl
from harness.plugins._stages import summary
from harness.trainers.common import local_model_dir
from harness.trainers.grpo import GRPOOptions, check_rollout, train_grpo

SUMMARY = ("reward", "accuracy", "consistency", "kl", "completions/mean_length", "train_loss", "global_step",
           "train_runtime", "epoch", "prompts_too_long")


class GRPO:
    name = "grpo"
    description = "GRPO with a verifiable reward (default: boxed-answer accuracy)"
    config_class = GRPOOptions

    check = staticmethod(check_rollout)  # enough prompts for one rollout, before the run directory

    def train(self, context: TrainContext, config: GRPOOptions) -> TrainResult:
        outcome = train_grpo(
            local_model_dir(context.model), context.datasets["train"], context.output_dir, config,
            seed=context.seed, log_fn=context.log, resume=context.resume, callbacks_extra=context.callbacks,
            rewards=context.rewards,
        )
        metrics = summary(outcome.metrics, SUMMARY)
        metrics.update({k: v for k, v in outcome.metrics.items() if k.startswith(("accuracy/", "consistency/"))})
        return TrainResult(outcome.model_path, metrics)


@hookimpl
def register_paradigms(register):
    register(GRPO())
