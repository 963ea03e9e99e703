"""``cold_start``: SFT, then GRPO from the SFT checkpoint (which is also GRPO's reference model).

Composed through the paradigm interface: ``context.paradigm("sft")`` runs in stage ``sft``,
``context.paradigm("grpo")`` in stage ``grpo``. ``sft_steps: 100`` gives the study's 100-step cold
start; -1 runs full SFT. With ``--resume`` a finished SFT stage is not run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.config import option
from harness.paradigm import TrainContext, TrainResult
from harness.trainers.grpo import GRPOOptions
from harness.trainers.sft import SFTOptions
from harness.plugins._stages import convert, run_stage


@dataclass
class ColdStartOptions(GRPOOptions):
    sft_steps: int = option(-1, help="SFT optimizer steps before GRPO (-1: full SFT; the study also tried 100).",
                            source="paper")
    sft_learning_rate: float = option(2e-5, help="SFT learning rate.", source="paper")
    sft_epochs: float = option(3.0, help="SFT epochs (when sft_steps is -1).", source="paper")
    sft_batch_size: int = option(32, help="SFT examples per optimizer step, over all processes.", source="paper")
    sft_micro_batch_size: int = option(8, help="SFT examples per forward pass and process.",
                                       source="harness choice: memory only")
    sft_max_length: int = option(2048, help="SFT: truncate prompt + solution to this many tokens.",
                                 source="LlamaFactory default")

def sft_options(config: ColdStartOptions) -> SFTOptions:
    """The SFT stage's options: its own sft_* settings, the study's SFT defaults for the rest."""
    # --max-steps bounds every stage: a full SFT stage (-1) gets no more steps than GRPO.
    steps = config.max_steps if config.sft_steps < 0 and config.max_steps > 0 else config.sft_steps
    return SFTOptions(
        learning_rate=config.sft_learning_rate, num_train_epochs=config.sft_epochs, max_steps=steps,
        batch_size=config.sft_batch_size, micro_batch_size=config.sft_micro_batch_size,
        max_length=config.sft_max_length, gradient_checkpointing=config.gradient_checkpointing,
        use_liger_kernel=config.use_liger_kernel,
        consistency_prompt=config.consistency_prompt, logging_steps=config.logging_steps,
        save_total_limit=config.save_total_limit, progress=config.progress,
    )


class ColdStart:
    name = "cold_start"
    description = "SFT (full or N steps), then GRPO from the SFT checkpoint"
    config_class = ColdStartOptions

    def train(self, context: TrainContext, config: ColdStartOptions) -> TrainResult:
        sft = run_stage(context, "sft", "sft", sft_options(config))
        grpo = run_stage(context, "grpo", "grpo", convert(config, GRPOOptions), model=str(sft.model_path))
        metrics = {f"sft/{k}": v for k, v in sft.metrics.items()}
        metrics.update(grpo.metrics)
        return TrainResult(grpo.model_path, metrics, stages={"sft": sft, "grpo": grpo})


from harness.hookspecs import hookimpl  # noqa: E402  (this module is a default plugin: harness.plugin_manager.DEFAULT_PLUGINS)


@hookimpl
def register_paradigms(register):
    register(ColdStart())
