"""Supervised fine-tuning on reference solutions: a thin adapter over TRL's ``SFTTrainer``.

Records (``question``, ``solution``, ``lang``) become a conversational prompt/completion dataset
built with :func:`harness.prompts.prompt_messages`, the prompt evaluation uses too; TRL then
computes the loss on the completion only. Defaults are the study's (full fine-tuning, lr 2e-5,
cosine schedule, batch 32, 3 epochs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import option
from harness.errors import UserError
from harness.prompts import prompt_messages
from harness.trainers import common

log = logging.getLogger("harness.train")


@dataclass
class SFTOptions:
    """Hyperparameters of supervised fine-tuning (flags of `harness train --plugin sft`)."""

    learning_rate: float = option(2e-5, help="Peak learning rate (the study: 2e-5).")
    lr_scheduler_type: str = option("cosine", help="Learning-rate schedule (transformers name).")
    warmup: float = option(0.03, help="Learning-rate warm-up: a fraction of all steps (< 1) or a number of steps.")
    weight_decay: float = option(0.0, help="AdamW weight decay.")
    num_train_epochs: float = option(3.0, help="Passes over the training data (the study: 3).")
    max_steps: int = option(-1, help="Stop after this many optimizer steps (-1: run all epochs).")
    batch_size: int = option(32, help="Examples per optimizer step, over all processes (the study: 32).")
    micro_batch_size: int = option(8, help="Examples per forward pass and process; the rest is gradient accumulation.")
    max_length: int = option(2048, help="Truncate prompt + solution to this many tokens.")
    gradient_checkpointing: bool = option(True, help="Recompute activations to save memory (GPU only; off on CPU).")
    consistency_prompt: bool = option(False, help="Add the instruction to reason in the question's language.")
    logging_steps: int = option(1, help="Log metrics every N optimizer steps.")
    save_steps: int = option(200, help="Write a checkpoint every N optimizer steps (for --resume).")
    save_total_limit: int = option(2, help="Keep at most this many checkpoints.")
    progress: str = option("auto", help="Progress: auto (a live bar on a terminal, plain lines elsewhere), on, plain or off.")
    progress_every: int = option(0, help="Plain progress: a line every N optimizer steps (0: about 20 lines per run).")
    report_to: str = option("none", help="Experiment trackers (TRL/transformers names): none, tensorboard, wandb, mlflow, trackio; comma-separated.")


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
        output_dir=str(Path(output_dir) / common.CHECKPOINTS),
        learning_rate=options.learning_rate,
        lr_scheduler_type=options.lr_scheduler_type,
        warmup_steps=options.warmup,
        weight_decay=options.weight_decay,
        num_train_epochs=options.num_train_epochs,
        max_steps=options.max_steps,
        per_device_train_batch_size=options.micro_batch_size,
        gradient_accumulation_steps=accumulation,
        max_length=options.max_length,
        completion_only_loss=True,
        logging_steps=options.logging_steps,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=options.save_total_limit,
        report_to=common.report_to(options.report_to),
        disable_tqdm=True,
        seed=seed,
        data_seed=seed,
        **common.device_arguments(gradient_checkpointing=options.gradient_checkpointing),
    )


@dataclass
class Outcome:
    model_path: Path
    metrics: dict[str, float]


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
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=sft_dataset(records, consistency=options.consistency_prompt),
    )
    common.without_hub_model_card(trainer)
    callbacks.install(trainer, log=log_fn, progress=options.progress, extra=callbacks_extra,
                      every=options.progress_every)
    checkpoint = common.resume_point(output_dir, resume, log_fn)
    log.info("SFT of %s on %d examples, %s", model, len(records), output_dir)
    output = trainer.train(resume_from_checkpoint=checkpoint)
    path = common.save_final(trainer, output_dir)
    return Outcome(path, common.train_metrics(output, trainer))
