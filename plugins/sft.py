"""``sft``: full fine-tuning on the reference solutions (the study's SFT baseline)."""

from __future__ import annotations

from harness.core.hookspecs import TrainContext, TrainResult, hookimpl
from harness.plugins._stages import summary
from harness.trainers.sft import SFTOptions, train_sft

SUMMARY = ("train_loss", "loss", "mean_token_accuracy", "global_step", "train_runtime", "epoch")


class SFT:
    name = "sft"
    description = "Supervised fine-tuning on reference solutions (loss on the solution only)"
    config_class = SFTOptions

    def train(self, context: TrainContext, config: SFTOptions) -> TrainResult:
        outcome = train_sft(
            context.model, context.datasets["train"], context.output_dir, config, seed=context.seed,
            log_fn=context.log, resume=context.resume, callbacks_extra=context.callbacks,
        )
        return TrainResult(outcome.model_path, summary(outcome.metrics, SUMMARY))


@hookimpl
def register_paradigms(register):
    register(SFT())
