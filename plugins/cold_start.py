"""``cold_start``: SFT, then GRPO from the SFT checkpoint (which is also GRPO's reference model).

Composed through the paradigm interface: ``context.paradigm("sft")`` runs in stage ``sft``,
``context.paradigm("grpo")`` in stage ``grpo``. ``sft_steps: 100`` gives the 100-step cold start
that DESIGN.md reports second-hand (unverified); -1 runs full SFT (the paper's cold start). With
``--resume`` a finished SFT stage is not run again.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from harness.core.config import option
from harness.core.hookspecs import TrainContext, TrainResult, hookimpl
from harness.plugins._stages import run_stage
from harness.trainers import common
from harness.trainers.grpo import GRPOOptions, check_rollout
from harness.trainers.options import LR_BOUNDS, SFT_BATCH_SOURCE, SFT_LR_SOURCE, TrainOptions, check_steps
from harness.trainers.sft import SFTOptions

SFT_PREFIX = "sft_"
# The sft_* settings whose SFT name is not the name without the prefix.
SFT_NAMES = {"sft_steps": "max_steps", "sft_epochs": "num_train_epochs"}


@dataclass
class ColdStartOptions(GRPOOptions):
    sft_steps: int = option(-1, help="SFT optimizer steps before GRPO (-1: full SFT; cold_start_100: 100 steps, "
                                     "a variant reported second-hand, unverified).",
                            source="paper", ge=-1)  # and not 0 (check(), as --max-steps)
    sft_learning_rate: float = option(2e-5, help="SFT learning rate.", source=SFT_LR_SOURCE, **LR_BOUNDS)
    sft_epochs: float = option(3.0, help="SFT epochs (when sft_steps is -1).", source="paper", gt=0)
    sft_batch_size: int = option(32, help="SFT examples per optimizer step, over all processes.",
                                 source=SFT_BATCH_SOURCE, ge=1)
    sft_micro_batch_size: int = option(8, help="SFT examples per forward pass and process.",
                                       source="harness choice: memory only", ge=1)
    sft_max_length: int = option(2048, help="SFT: truncate prompt + solution to this many tokens.",
                                 source="LlamaFactory default", ge=1)

    def check(self) -> None:
        """GRPO's rules, then the SFT stage's (its steps, its batch against its micro-batch)."""
        super().check()
        check_steps("--sft-steps", self.sft_steps)
        common.fit_micro_batch(self, self.sft_batch_size, "sft_micro_batch_size", what="sft_batch_size")
        common.accumulation_steps(self.sft_batch_size, self.sft_micro_batch_size, what="sft_batch_size",
                                  micro="sft_micro_batch_size")

    def sequence_lengths(self) -> dict[str, int]:
        return {**super().sequence_lengths(), "--sft-max-length": self.sft_max_length}


def sft_options(config: ColdStartOptions) -> SFTOptions:
    """The SFT stage's options: the run-wide settings (TrainOptions.RUN_WIDE), its own sft_*
    settings, and SFT's defaults for the rest (its optimizer settings are not GRPO's)."""
    own = {SFT_NAMES.get(f.name, f.name.removeprefix(SFT_PREFIX)): getattr(config, f.name)
           for f in fields(config) if f.name.startswith(SFT_PREFIX)}
    # --max-steps bounds every stage: a full SFT stage (-1) gets no more steps than GRPO.
    if config.sft_steps < 0 and config.max_steps > 0:
        own["max_steps"] = config.max_steps
    return SFTOptions(**{name: getattr(config, name) for name in TrainOptions.RUN_WIDE}, **own)


class ColdStart:
    name = "cold_start"
    description = "SFT (full or N steps), then GRPO from the SFT checkpoint"
    config_class = ColdStartOptions

    check = staticmethod(check_rollout)  # enough prompts for one rollout, before the run directory

    def train(self, context: TrainContext, config: ColdStartOptions) -> TrainResult:
        sft = run_stage(context, "sft", "sft", sft_options(config))
        grpo = run_stage(context, "grpo", "grpo", config, model=str(sft.model_path))
        metrics = {f"sft/{k}": v for k, v in sft.metrics.items()}
        metrics.update(grpo.metrics)
        return TrainResult(grpo.model_path, metrics, stages={"sft": sft, "grpo": grpo})


@hookimpl
def register_paradigms(register):
    register(ColdStart())
