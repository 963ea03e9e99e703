"""``grpo``: GRPO with the accuracy reward (the study's RL setting)."""

from __future__ import annotations

from harness.paradigm import TrainContext, TrainResult
from harness.trainers.common import local_model_dir
from harness.trainers.grpo import GRPOOptions, train_grpo
from harness.plugins._stages import summary

SUMMARY = ("reward", "accuracy", "consistency", "kl", "completions/mean_length", "train_loss", "global_step",
           "train_runtime", "epoch", "prompts_too_long")


def run_grpo(context: TrainContext, config: GRPOOptions, rewards=None) -> TrainResult:
    """GRPO from ``context.model`` on ``context.datasets["train"]`` (shared by the GRPO family)."""
    outcome = train_grpo(
        local_model_dir(context.model), context.datasets["train"], context.output_dir, config,
        seed=context.seed, log_fn=context.log, resume=context.resume, callbacks_extra=context.callbacks,
        rewards=rewards if rewards is not None else context.rewards,
    )
    metrics = summary(outcome.metrics, SUMMARY)
    metrics.update({k: v for k, v in outcome.metrics.items() if k.startswith(("accuracy/", "consistency/"))})
    return TrainResult(outcome.model_path, metrics)


class GRPO:
    name = "grpo"
    description = "GRPO with a verifiable reward (default: boxed-answer accuracy)"
    config_class = GRPOOptions

    def train(self, context: TrainContext, config: GRPOOptions) -> TrainResult:
        return run_grpo(context, config)


from harness.hookspecs import hookimpl  # noqa: E402  (this module is a default plugin: harness.plugin_manager.DEFAULT_PLUGINS)


@hookimpl
def register_paradigms(register):
    register(GRPO())
