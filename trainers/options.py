"""The options every training paradigm shares, as TRL's trainer configs share ``TrainingArguments``.

:class:`TrainOptions` holds the schedule, checkpointing, logging and hardware settings; ``SFTOptions``
and ``GRPOOptions`` inherit it and add their own (every built-in paradigm's options derive from
those two). Its defaults are the study's RL settings (the paper, else verl's defaults, as
``GRPOOptions`` uses them); ``SFTOptions`` overrides, with :func:`override`, those where SFT ran
otherwise (the paper's SFT epochs, LlamaFactory's defaults, and harness choices for the learning
rate, schedule and batch, which no text read states). :func:`training_arguments`
maps the shared fields onto TRL's config.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from harness.core.config import option
from harness.core.errors import UserError, unknown
from harness.inference import on_cpu
from harness.trainers import common

log = logging.getLogger("harness.train")

LIGER_CHOICES = ("auto", "true", "false")
LIGER_HELP = ("Liger kernels (TRL use_liger_kernel): auto (on a CUDA GPU when liger-kernel is installed), "
              "true (required) or false.")
# ../shared/DESIGN.md, H200, Qwen2.5-3B shape: Liger with checkpointing +11% SFT throughput at the same
# memory; without checkpointing +38% but 93 GB, too large for an 80 GB H100 (so checkpointing stays on).
LIGER_SOURCE = "harness choice: H200 measurement, +11% SFT throughput with checkpointing (DESIGN.md)"
# SFT's learning rate, schedule and batch are in no text read (DESIGN.md: not in the seed, the abstract
# or the reviews, checked 2026-12-04; the PDF was not readable): LlamaFactory-style choices until the
# paper says otherwise. They are not LlamaFactory's defaults, which are transformers' (lr 5e-5, linear
# schedule, 8 examples per device: LlamaFactory's TrainingArguments inherits Seq2SeqTrainingArguments);
# its example full-SFT recipes (examples/train_full/*.yaml) use cosine, lr 1e-5, warm-up 0.1.
SFT_LR_SOURCE = ("harness choice: a LlamaFactory-style full-SFT rate, in no text read (DESIGN.md); "
                 "LlamaFactory's default is 5e-5")
SFT_SCHEDULE_SOURCE = ("harness choice: cosine as LlamaFactory's example SFT recipes, in no text read (DESIGN.md); "
                       "LlamaFactory's default is linear")
SFT_BATCH_SOURCE = ("harness choice: a LlamaFactory-style global batch, in no text read (DESIGN.md); "
                    "LlamaFactory's default is 8 per device")

# The schedules transformers' get_scheduler builds from a name and a warm-up alone: transformers.SchedulerType
# less reduce_lr_on_plateau and greedy (they need an eval strategy, which harness train does not run) and
# cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay (they need lr_scheduler_kwargs, which no
# flag sets). tests/test_train_bounds.py checks the list against the installed transformers.
LR_SCHEDULES = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                "inverse_sqrt")
PROGRESS_CHOICES = ("auto", "on", "plain", "off")
# Bounds decided here (the libraries accept more): a learning rate above 1 moves every weight by more than
# its gradient's scale per step (it diverges; the study's rates are 1e-6 and 2e-5).
LR_BOUNDS = dict(gt=0, le=1)


@dataclass
class TrainOptions:
    """Settings every paradigm shares (flags of `harness train --plugin X`); defaults: the study's RL."""

    learning_rate: float = option(1e-6, help="Learning rate.", source="paper", **LR_BOUNDS)
    lr_scheduler_type: str = option("constant", help=f"Learning-rate schedule: {', '.join(LR_SCHEDULES)}.",
                                    source="verl default", choices=LR_SCHEDULES)
    warmup: float = option(0.0, help="Learning-rate warm-up: a fraction of all steps (< 1) or a number of steps.",
                           source="verl default", ge=0)
    # No upper bound of its own: learning_rate x weight_decay < 1 (check()); AdamW scales weights by 1 - lr x wd.
    weight_decay: float = option(0.01, help="AdamW weight decay (learning_rate x weight_decay below 1).",
                                 source="verl default", ge=0)
    max_grad_norm: float = option(1.0, help="Gradient clipping (global norm; 0: none).", source="verl default", ge=0)
    num_train_epochs: float = option(3.0, help="Passes over the training prompts.", source="paper", gt=0)
    # -1 or at least 1 (check()): transformers also reads 0 as "all epochs", which a user typing 0 does not mean.
    max_steps: int = option(-1, help="Stop after this many optimizer steps (-1: run all epochs).",
                            source="harness choice: run the paper's epochs", ge=-1)
    gradient_checkpointing: bool = option(True, help="Recompute activations to save memory (GPU only; off on CPU).",
                                          source="verl default")
    use_liger_kernel: str = option("auto", help=LIGER_HELP, source=LIGER_SOURCE, choices=LIGER_CHOICES)
    consistency_prompt: bool = option(False, help="Add the instruction to reason in the question's language.",
                                      source="paper")
    logging_steps: int = option(1, help="Log metrics every N optimizer steps.",
                                source="harness choice: few updates per run, log each", ge=1)
    save_steps: int = option(50, help="Write a checkpoint every N optimizer steps (for --resume).",
                             source="harness choice: a checkpoint every few hours of a paper-scale run", ge=1)
    # At least 1: transformers reads 0 as "keep every checkpoint", not what a user typing 0 means.
    save_total_limit: int = option(2, help="Keep at most this many checkpoints.",
                                   source="harness choice: bounded disk use", ge=1)
    progress: str = option("auto", help="Progress: auto (a live bar on a terminal, plain lines elsewhere), on, plain or off.",
                           source="harness choice: a bar on terminals, lines in logs", choices=PROGRESS_CHOICES)
    progress_every: int = option(0, help="Plain progress: a line every N optimizer steps (0: about 20 lines per run).",
                                 source="harness choice: readable logs", ge=0)
    report_to: str = option("none", help="Experiment trackers (TRL/transformers names): none, tensorboard, wandb, mlflow, trackio; comma-separated.",
                            source="harness choice: no tracker account needed")

    # Settings of the whole run (hardware, prompt, logging) rather than of one optimisation: a
    # composite paradigm hands them on to each of its stages; the others are each stage's own.
    RUN_WIDE: ClassVar[tuple[str, ...]] = ("gradient_checkpointing", "use_liger_kernel", "consistency_prompt",
                                           "logging_steps", "save_total_limit", "progress", "progress_every",
                                           "report_to")

    def check(self) -> None:
        """The rules between shared settings (build_config calls it, before any run directory exists)."""
        check_steps("--max-steps", self.max_steps)
        if self.warmup >= 1 and not float(self.warmup).is_integer():
            raise UserError(f"--warmup of 1 or more counts steps and must be a whole number, got {self.warmup}")
        if self.warmup > 0 and self.lr_scheduler_type == "constant":
            raise UserError("--warmup has no effect with --lr-scheduler-type constant: use constant_with_warmup")
        if self.learning_rate * self.weight_decay >= 1:
            raise UserError(f"--learning-rate × --weight-decay must be below 1 (AdamW scales the weights by "
                            f"1 - their product each step), got {self.learning_rate} × {self.weight_decay}")
        common.report_to(self.report_to)  # each tracker name known to transformers


def check_steps(flag: str, steps: int) -> None:
    """A step count that is -1 (all epochs) or at least 1: transformers reads 0 as -1, which a user
    typing 0 does not mean."""
    if steps == 0:
        raise UserError(f"{flag} must be -1 (all epochs) or at least 1, got 0")


def override(name: str, default: Any, source: str, help: str = "") -> Any:
    """Field ``name`` of :class:`TrainOptions` with a paradigm's own default and its source (and
    help text, where given), in a subclass: ``weight_decay: float = override("weight_decay", 0.0, "...")``."""
    shared = TrainOptions.__dataclass_fields__[name]
    return option(default, help=help or shared.metadata["help"], source=source, bounds=shared.metadata.get("bounds"))


def training_arguments(options: TrainOptions, output_dir: Path, *, seed: int) -> dict[str, Any]:
    """The keywords of TRL's ``SFTConfig``/``GRPOConfig`` that ``options``' shared fields set, with
    checkpoints under ``output_dir/checkpoints``."""
    common.accumulation_for_deepspeed()  # before the arguments make accelerate's DeepSpeed plugin
    return {
        "output_dir": str(Path(output_dir) / common.CHECKPOINTS),
        "learning_rate": options.learning_rate,
        "lr_scheduler_type": options.lr_scheduler_type,
        "warmup_steps": options.warmup,
        "weight_decay": options.weight_decay,
        "max_grad_norm": options.max_grad_norm,
        "num_train_epochs": options.num_train_epochs,
        "max_steps": options.max_steps,
        "logging_steps": options.logging_steps,
        "save_strategy": "steps",
        "save_steps": options.save_steps,
        "save_total_limit": options.save_total_limit,
        "report_to": common.report_to(options.report_to),
        "disable_tqdm": True,
        "seed": seed,
        "data_seed": seed,
        # Every parameter of a causal LM takes part in each forward pass: no search for unused ones
        # (transformers' default searches, an extra pass over the graph each step under DDP).
        "ddp_find_unused_parameters": False,
        **common.device_arguments(gradient_checkpointing=options.gradient_checkpointing),
        **liger_arguments(options.use_liger_kernel),
    }


def liger_arguments(setting: str) -> dict[str, Any]:
    """``use_liger_kernel`` for TRL: Liger's Triton kernels run on CUDA only, so never on a CPU."""
    value = str(setting).strip().lower()
    if value not in LIGER_CHOICES:
        raise unknown("use_liger_kernel", setting, LIGER_CHOICES)
    if value == "false" or on_cpu():
        if value == "true":
            log.warning("use_liger_kernel=true ignored: Liger kernels need a CUDA GPU")
        return {"use_liger_kernel": False}
    installed = importlib.util.find_spec("liger_kernel") is not None
    if value == "true" and not installed:
        raise UserError("use_liger_kernel=true needs the liger-kernel package (pip install liger-kernel)")
    if not installed:
        log.warning("liger-kernel is not installed: training without Liger kernels (pip install liger-kernel)")
    return {"use_liger_kernel": installed}
