"""Supervised fine-tuning on reference solutions: a thin adapter over TRL's ``SFTTrainer``.

Records (``question``, ``solution``, ``lang``) become a conversational prompt/completion dataset
built with :func:`harness.lang.prompts.prompt_messages`, the prompt evaluation uses too; TRL then
computes the loss on the completion only (LlamaFactory's default, ``train_on_prompt: false``).
The study states full fine-tuning and 3 epochs; it ran SFT on LlamaFactory, whose defaults fill in
the rest (cutoff length 2048, no warm-up, no weight decay, gradient clipping 1.0, no packing). Its
learning rate, schedule and batch are in no text read (DESIGN.md): lr 2e-5, cosine, batch 32 are
harness choices in LlamaFactory's style, not LlamaFactory's defaults (5e-5, linear, 8 per device).
Every option names its source (docs/training.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.config import option
from harness.core.errors import UserError
from harness.lang.prompts import prompt_messages
from harness.trainers import common
from harness.trainers.common import Outcome
from harness.trainers.options import (SFT_BATCH_SOURCE, SFT_LR_SOURCE, SFT_SCHEDULE_SOURCE, TrainOptions, override,
                                       training_arguments)

log = logging.getLogger("harness.train")


@dataclass
class SFTOptions(TrainOptions):
    """Hyperparameters of supervised fine-tuning (flags of `harness train --plugin sft`)."""

    # SFT ran on LlamaFactory, not verl: the paper's SFT settings, LlamaFactory's defaults, and
    # harness choices where neither says (trainers/options.py: SFT_*_SOURCE).
    learning_rate: float = override("learning_rate", 2e-5, SFT_LR_SOURCE, help="Peak learning rate.")
    lr_scheduler_type: str = override("lr_scheduler_type", "cosine", SFT_SCHEDULE_SOURCE)
    warmup: float = override("warmup", 0.0, "LlamaFactory default")
    weight_decay: float = override("weight_decay", 0.0, "LlamaFactory default")
    max_grad_norm: float = override("max_grad_norm", 1.0, "LlamaFactory default")
    num_train_epochs: float = override("num_train_epochs", 3.0, "paper", help="Passes over the training data.")
    gradient_checkpointing: bool = override("gradient_checkpointing", True, "LlamaFactory default")
    logging_steps: int = override("logging_steps", 1, "harness choice: log each step")
    save_steps: int = override("save_steps", 200, "harness choice: about one checkpoint per GSM8K epoch (234 steps)")

    batch_size: int = option(32, help="Examples per optimizer step, over all processes.", source=SFT_BATCH_SOURCE,
                             ge=1)
    micro_batch_size: int = option(8, help="Examples per forward pass and process; the rest is gradient accumulation "
                                           "(batch_size a multiple of it × processes).",
                                   source="harness choice: memory only (DESIGN.md: 8 x 2048 tokens fit an H100)", ge=1)
    max_length: int = option(2048, help="Truncate prompt + solution to this many tokens (LlamaFactory's cutoff_len; "
                                        "at most the model's positions).",
                             source="LlamaFactory default", ge=1)
    packing: bool = option(False, help="Pack examples into max_length rows, padding-free (TRL BFD packing; "
                                       "needs flash-attention on GPUs); batch_size then counts packed rows.",
                           source="LlamaFactory default")

    def check(self) -> None:
        """The shared rules, then the batch against its micro-batch (a model alias's micro-batch
        larger than the batch is lowered to it: :func:`common.fit_micro_batch`)."""
        super().check()
        common.fit_micro_batch(self, self.batch_size)
        common.accumulation_steps(self.batch_size, self.micro_batch_size)

    def sequence_lengths(self) -> dict[str, int]:
        """The longest sequences training feeds the model, by the options that set them (the
        command checks them against the model's positions)."""
        return {"--max-length": self.max_length}


def sft_dataset(records: Sequence[dict], *, consistency: bool = False):
    """A conversational prompt/completion ``datasets.Dataset``: TRL's loss covers the completion only."""
    from datasets import Dataset

    if not records:
        raise UserError("no training examples for supervised fine-tuning")
    rows = [
        {
            "prompt": prompt_messages(r["question"], r["lang"], consistency=consistency),
            "completion": [{"role": "assistant", "content": r["solution"]}],
        }
        for r in records
    ]
    return Dataset.from_list(rows)


def sft_arguments(options: SFTOptions, output_dir: Path, *, seed: int = 0, processes: int | None = None):
    """The ``trl.SFTConfig`` for ``options``, with checkpoints under ``output_dir/checkpoints``."""
    from trl import SFTConfig

    accumulation = common.accumulation_steps(options.batch_size, options.micro_batch_size, processes)
    return SFTConfig(
        **training_arguments(options, output_dir, seed=seed),
        per_device_train_batch_size=options.micro_batch_size,
        gradient_accumulation_steps=accumulation,
        max_length=options.max_length,
        packing=options.packing,
        completion_only_loss=True,
    )


def train_sft(
    model: str,
    records: Sequence[dict],
    output_dir: Path,
    options: SFTOptions,
    *,
    seed: int = 0,
    log_fn: Callable[[dict], None] = lambda record: None,
    resume: bool = False,
    callbacks_extra: Sequence[Any] = (),
) -> Outcome:
    """Fine-tune ``model`` (a path) on ``records``; the final model lands in ``output_dir/model``."""
    from trl import SFTTrainer

    from harness.trainers import callbacks  # imports transformers: only when training

    output_dir = Path(output_dir)
    log_fn = common.main_process_only(log_fn)
    callbacks.quiet_libraries(options.progress)
    args = sft_arguments(options, output_dir, seed=seed)
    dataset = sft_dataset(records, consistency=options.consistency_prompt)
    log_fn({"event": "data", **common.sft_lengths(model, dataset, records, options.max_length)})
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
    )
    common.without_hub_model_card(trainer)
    callbacks.install(trainer, log=log_fn, progress=options.progress, extra=callbacks_extra,
                      every=options.progress_every)
    checkpoint = common.resume_point(output_dir, resume, log_fn)
    log.info("SFT of %s on %d examples, %s", model, len(records), output_dir)
    output = common.train(trainer, checkpoint)
    path = common.save_final(trainer, output_dir)
    return Outcome(path, common.train_metrics(output, trainer))
