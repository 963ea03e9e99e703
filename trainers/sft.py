"""Supervised fine-tuning on reference solutions: a thin adapter over TRL's ``SFTTrainer``.

Records (``question``, ``solution``, ``lang``) become a conversational prompt/completion dataset
built with :func:`harness.prompts.prompt_messages`, the prompt evaluation uses too; TRL then
computes the loss on the completion only (LlamaFactory's default, ``train_on_prompt: false``).
The study states full fine-tuning, lr 2e-5, cosine schedule, batch 32 and 3 epochs; it ran SFT on
LlamaFactory, whose defaults fill in the rest (cutoff length 2048, no warm-up, no weight decay,
gradient clipping 1.0, no packing). Every option names its source (docs/training.md).
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

LIGER_CHOICES = ("auto", "true", "false")
LIGER_HELP = ("Liger kernels (TRL use_liger_kernel): auto (on a CUDA GPU when liger-kernel is installed), "
              "true (required) or false.")
# ../shared/DESIGN.md, H200, Qwen2.5-3B shape: Liger with checkpointing +11% SFT throughput at the same
# memory; without checkpointing +38% but 93 GB, too large for an 80 GB H100 (so checkpointing stays on).
LIGER_SOURCE = "harness choice: H200 measurement, +11% SFT throughput with checkpointing (DESIGN.md)"


def liger_arguments(setting: str) -> dict[str, Any]:
    """``use_liger_kernel`` for TRL: Liger's Triton kernels run on CUDA only, so never on a CPU."""
    value = str(setting).strip().lower()
    if value not in LIGER_CHOICES:
        from harness.errors import unknown

        raise unknown("use_liger_kernel", setting, LIGER_CHOICES)
    if value == "false" or common.on_cpu():
        if value == "true":
            log.warning("use_liger_kernel=true ignored: Liger kernels need a CUDA GPU")
        return {"use_liger_kernel": False}
    import importlib.util

    installed = importlib.util.find_spec("liger_kernel") is not None
    if value == "true" and not installed:
        raise UserError("use_liger_kernel=true needs the liger-kernel package (pip install liger-kernel)")
    if not installed:
        log.warning("liger-kernel is not installed: training without Liger kernels (pip install liger-kernel)")
    return {"use_liger_kernel": installed}


@dataclass
class SFTOptions:
    """Hyperparameters of supervised fine-tuning (flags of `harness train --plugin sft`)."""

    learning_rate: float = option(2e-5, help="Peak learning rate.", source="paper")
    lr_scheduler_type: str = option("cosine", help="Learning-rate schedule (transformers name).", source="paper")
    warmup: float = option(0.0, help="Learning-rate warm-up: a fraction of all steps (< 1) or a number of steps.",
                           source="LlamaFactory default")
    weight_decay: float = option(0.0, help="AdamW weight decay.", source="LlamaFactory default")
    max_grad_norm: float = option(1.0, help="Gradient clipping (global norm).", source="LlamaFactory default")
    num_train_epochs: float = option(3.0, help="Passes over the training data.", source="paper")
    max_steps: int = option(-1, help="Stop after this many optimizer steps (-1: run all epochs).",
                            source="harness choice: run the paper's epochs")
    batch_size: int = option(32, help="Examples per optimizer step, over all processes.", source="paper")
    micro_batch_size: int = option(8, help="Examples per forward pass and process; the rest is gradient accumulation.",
                                   source="harness choice: memory only (DESIGN.md: 8 x 2048 tokens fit an H100)")
    max_length: int = option(2048, help="Truncate prompt + solution to this many tokens (LlamaFactory's cutoff_len).",
                             source="LlamaFactory default")
    packing: bool = option(False, help="Pack examples into max_length rows, padding-free (TRL BFD packing; "
                                       "needs flash-attention on GPUs); batch_size then counts packed rows.",
                           source="LlamaFactory default")
    gradient_checkpointing: bool = option(True, help="Recompute activations to save memory (GPU only; off on CPU).",
                                          source="LlamaFactory default")
    use_liger_kernel: str = option("auto", help=LIGER_HELP, source=LIGER_SOURCE)
    consistency_prompt: bool = option(False, help="Add the instruction to reason in the question's language.",
                                      source="paper")
    logging_steps: int = option(1, help="Log metrics every N optimizer steps.", source="harness choice: log each step")
    save_steps: int = option(200, help="Write a checkpoint every N optimizer steps (for --resume).",
                             source="harness choice: about one checkpoint per GSM8K epoch (234 steps)")
    save_total_limit: int = option(2, help="Keep at most this many checkpoints.",
                                   source="harness choice: bounded disk use")
    progress: str = option("auto", help="Progress: auto (a live bar on a terminal, plain lines elsewhere), on, plain or off.",
                           source="harness choice: a bar on terminals, lines in logs")
    progress_every: int = option(0, help="Plain progress: a line every N optimizer steps (0: about 20 lines per run).",
                                 source="harness choice: readable logs")
    report_to: str = option("none", help="Experiment trackers (TRL/transformers names): none, tensorboard, wandb, mlflow, trackio; comma-separated.",
                            source="harness choice: no tracker account needed")


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
        max_grad_norm=options.max_grad_norm,
        packing=options.packing,
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
        **liger_arguments(options.use_liger_kernel),
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
