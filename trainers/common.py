"""What every TRL adapter needs: device settings, batch arithmetic, checkpoints, the final save.

TRL 1.16 defaults to ``bf16=True`` and ``gradient_checkpointing=True``; neither works (or pays)
on a CPU, so :func:`device_arguments` decides them from the hardware, once, for all trainers.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.inference import on_cpu

log = logging.getLogger("harness.train")

CHECKPOINTS = "checkpoints"
FINAL_MODEL = "model"


@dataclass
class Outcome:
    """What a trainer returns: the final model's directory and the run's metrics."""

    model_path: Path
    metrics: dict[str, float]


_PLANNED = contextvars.ContextVar("planned_processes", default=None)


def world_size() -> int:
    """Processes taking part in training: inside a launch, WORLD_SIZE (``accelerate launch`` and
    ``torchrun`` set it); before one, the processes it will start (:func:`planned_processes`), so
    that the batch arithmetic is checked before anything is launched."""
    return _PLANNED.get() or launched_processes()


def launched_processes() -> int:
    """The processes of the launch this process is part of (1: none)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def planned_processes(processes: int):
    """Within the block, :func:`world_size` is ``processes`` (the checks of ``harness train
    --num-processes N``, which run in the process that launches the N)."""
    token = _PLANNED.set(processes)
    try:
        yield
    finally:
        _PLANNED.reset(token)


def is_main_process() -> bool:
    """True in the process that writes run records (rank 0 of a launch, or a plain process)."""
    return int(os.environ.get("RANK", "0")) == 0


def main_process_only(log_fn):
    """``log_fn`` on rank 0, a no-op elsewhere: one metrics record per event, not one per process."""
    return log_fn if is_main_process() else (lambda record: None)


def device_arguments(*, gradient_checkpointing: bool) -> dict[str, Any]:
    """TrainingArguments that depend on the hardware: bf16 on GPUs, fp32 and no checkpointing on CPU."""
    if on_cpu():
        return {"use_cpu": True, "bf16": False, "gradient_checkpointing": False}
    import torch

    bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return {"bf16": bf16, "gradient_checkpointing": gradient_checkpointing}


def accumulation_for_deepspeed() -> None:
    """Under a DeepSpeed launch, the trainer's gradient accumulation is DeepSpeed's: accelerate
    passes a config file's ``gradient_accumulation_steps`` (TRL's zero1.yaml says 1) to the
    processes as ACCELERATE_GRADIENT_ACCUMULATION_STEPS, and transformers refuses a DeepSpeed
    value that differs from the training arguments'. ``auto`` lets transformers fill it in."""
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        os.environ["ACCELERATE_GRADIENT_ACCUMULATION_STEPS"] = "auto"


def accumulation_steps(batch_size: int, micro_batch_size: int, processes: int | None = None,
                       *, what: str = "batch_size", micro: str = "micro_batch_size") -> int:
    """Gradient accumulation steps so that micro-batches on all processes add up to ``batch_size``."""
    processes = processes or world_size()
    per_step = micro_batch_size * processes
    if micro_batch_size < 1 or batch_size < 1:
        raise UserError(f"{what} and {micro} must be positive")
    if batch_size % per_step:
        raise UserError(
            f"{what} ({batch_size}) must be a multiple of {micro} × processes "
            f"({micro_batch_size} × {processes} = {per_step})"
        )
    return batch_size // per_step


MODEL_ALIAS = "model alias "
"""How harness.core.config labels a setting that a model alias's train_defaults set."""


def fit_micro_batch(options: Any, batch_size: int, micro: str = "micro_batch_size", *, what: str = "batch_size",
                    processes: int | None = None) -> None:
    """The friendly default: a micro-batch that a model alias's ``train_defaults`` set (not the
    user) and that is more than ``batch_size`` over all processes becomes the batch's share per
    process, with one line saying so (and recorded as the setting's source). A micro-batch the
    user set is left for :func:`accumulation_steps` to refuse."""
    from harness.core import config as settings

    processes = processes or world_size()
    value = getattr(options, micro)
    source = settings.config_sources(options).get(micro, "")
    if not source.startswith(MODEL_ALIAS) or value * processes <= batch_size or batch_size % processes:
        return
    fitted = batch_size // processes
    setattr(options, micro, fitted)
    settings.set_source(options, micro, f"{source}, lowered to {what} {batch_size}")
    log.warning("%s %d (%s) is more than %s %d: using %s %d", micro, value, source, what, batch_size, micro, fitted)


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest complete ``checkpoint-N`` folder under ``output_dir/checkpoints``, if any.

    A process killed while writing a checkpoint leaves a folder without ``trainer_state.json``
    (written last); such a folder is passed over for the one before it.
    """
    folder = Path(output_dir) / CHECKPOINTS
    if not folder.is_dir():
        return None
    numbered = [(int(p.name.split("-")[1]), p) for p in folder.glob("checkpoint-*")
                if p.is_dir() and p.name.split("-")[1].isdigit()]
    for _, path in sorted(numbered, reverse=True):
        if (path / "trainer_state.json").is_file():
            return str(path)
    return None


def checkpoint_step(checkpoint: str | Path | None) -> int:
    if not checkpoint:
        return 0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
    return int(state.get("global_step", 0))


def resume_point(output_dir: Path, resume: bool, log_fn) -> str | None:
    """The checkpoint to resume from (``None`` for a fresh start).

    The resume event tells the run's metrics log to forget what was logged after the checkpoint
    (those steps run again), so that a resumed run's log equals an uninterrupted one's."""
    if not resume:
        return None
    checkpoint = last_checkpoint(output_dir)
    log_fn({"event": "resume", "checkpoint": checkpoint, "resume_step": checkpoint_step(checkpoint)})
    if checkpoint:
        log.info("resuming from %s", checkpoint)
        if world_size() > 1 and on_cpu():
            _restorable_to_cpu_index()
    else:
        log.info("no checkpoint under %s: starting from scratch", Path(output_dir) / CHECKPOINTS)
    return checkpoint


def _restorable_to_cpu_index() -> None:
    """Let ``torch.load`` restore a checkpoint to ``cpu:0``. Each process of a CPU launch has the
    device ``cpu:0`` (accelerate's PartialState.set_device), and transformers resumes the optimizer
    of a multi-process run with ``map_location=args.device`` (Trainer._load_optimizer_and_scheduler);
    torch 2.13's deserializers know ``cpu`` but not ``cpu:N`` ("don't know how to restore data
    location"). CPU memory is one device whatever its index: the storage is used as it is."""
    import torch.serialization

    if getattr(_restorable_to_cpu_index, "done", False):
        return
    torch.serialization.register_package(
        11, lambda obj: None, lambda obj, location: obj if str(location).startswith("cpu:") else None)
    _restorable_to_cpu_index.done = True


def save_final(trainer, output_dir: Path) -> Path:
    """Save the trained model and its tokenizer to ``output_dir/model`` (what eval loads)."""
    out = Path(output_dir) / FINAL_MODEL
    trainer.save_model(str(out))  # collective under DeepSpeed/FSDP: every process takes part
    if trainer.processing_class is not None and trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(str(out))
    return out


def train(trainer, checkpoint: str | None):
    """``trainer.train``, except from a checkpoint of a run that had already reached its last
    step (killed during or after its final save): transformers would train one step more (global
    step 21 of 20), so the checkpoint's weights and state are taken as they are.

    While it trains, SIGUSR1 saves a checkpoint after the current step and stops
    (:class:`~harness.trainers.callbacks.CheckpointAndStop`); the training then ends as
    :class:`~harness.core.rundir.Terminated` by SIGUSR1, not normally: the paradigm must not go
    on to save a final model or start its next stage, and the run records ``interrupted``."""
    if checkpoint:
        state_file = Path(checkpoint) / "trainer_state.json"
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if 0 < state.get("max_steps", 0) <= state.get("global_step", 0):
            from transformers.trainer_callback import TrainerState
            from transformers.trainer_utils import TrainOutput

            trainer._load_from_checkpoint(checkpoint)  # the weights, as Trainer.train would load them
            trainer.state = TrainerState.load_from_json(str(state_file))
            log.info("the run had finished at step %d: its final model is saved from %s", state["global_step"], checkpoint)
            return TrainOutput(trainer.state.global_step, mean_logged_loss(trainer.state.log_history), {})
        _restore_token_count(trainer, state.get("log_history") or [])
    from harness.trainers.callbacks import STOP_SIGNAL, stop_callback

    stop = stop_callback(trainer)
    with stop.listening():
        output = trainer.train(resume_from_checkpoint=checkpoint)
    if stop.stopped_at is not None:
        from harness.core.rundir import Terminated

        raise Terminated(STOP_SIGNAL)
    return output


def _restore_token_count(trainer, log_history: list[dict]) -> None:
    """TRL 1.16's SFTTrainer counts trained tokens (``num_tokens``) in a private attribute that
    its checkpoints do not keep, so a resumed run would count again from 0; take the count the
    checkpoint logged last."""
    if not hasattr(trainer, "_total_train_tokens"):
        return
    counts = [r["num_tokens"] for r in log_history if isinstance(r.get("num_tokens"), (int, float))]
    if counts:
        trainer._total_train_tokens = type(trainer._total_train_tokens)(counts[-1])


def mean_logged_loss(log_history: list[dict]) -> float:
    """The mean training loss over all steps, from the logged losses (each the mean over its
    logging interval): the same number whether or not the run was resumed on the way
    (transformers' own ``train_loss`` counts only the steps of the last session)."""
    total, steps, previous = 0.0, 0, 0
    for record in log_history:
        if "loss" in record and "step" in record and "train_runtime" not in record:
            interval = max(1, int(record["step"]) - previous)
            total += float(record["loss"]) * interval
            steps += interval
            previous = int(record["step"])
    return total / steps if steps else float("nan")


def train_metrics(output, trainer) -> dict[str, float]:
    """The numbers a TrainResult reports: TRL's summary plus the last logged value of each metric;
    ``train_loss`` is the mean of the logged losses (exact across a resume)."""
    metrics: dict[str, float] = {}
    for record in trainer.state.log_history:
        for key, value in record.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics[key] = float(value)
    metrics.update({k: float(v) for k, v in (output.metrics or {}).items() if isinstance(v, (int, float))})
    logged = mean_logged_loss(trainer.state.log_history)
    if logged == logged:  # not NaN: some loss was logged
        metrics["train_loss"] = logged
    metrics["global_step"] = float(trainer.state.global_step)
    return metrics


def local_model_dir(model: str) -> str:
    """``model`` as a directory on disk: GRPO reloads its reference model from the policy's
    ``config._name_or_path``, so a hub id is first resolved to its local snapshot (downloaded
    once, or found in the cache when offline)."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"])
    except Exception as exc:  # offline without a cached copy, a typo, no access
        raise UserError(f"model {model!r} is neither a local directory nor a downloadable hub model ({exc})") from None


def report_to(value: str) -> list[str] | str:
    """``--report-to`` as transformers takes it, each name checked (TRL's names: tensorboard,
    wandb, mlflow, trackio, ...); ``none`` keeps training offline."""
    names = [n.strip() for n in str(value or "none").split(",") if n.strip()]
    if not names or names == ["none"]:
        return "none"
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    from harness.core.errors import unknown

    for name in names:
        if name not in INTEGRATION_TO_CALLBACK and name != "all":
            raise unknown("--report-to tracker", name, [*INTEGRATION_TO_CALLBACK, "none"])
    return names


def without_hub_model_card(trainer) -> None:
    """TRL writes a model card with every checkpoint whose links point at
    ``huggingface.co/None`` when no hub id is set; a run directory is not a hub repository."""
    if getattr(trainer.args, "hub_model_id", None) is None:
        trainer.create_model_card = lambda *args, **kwargs: None


def sft_lengths(model: str, dataset, records, max_length: int) -> dict[str, int]:
    """Count what truncation to ``max_length`` tokens does to SFT examples; refuse one whose
    prompt alone fills the budget (it would train on nothing: the loss covers the solution)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    truncated = 0
    for i, row in enumerate(dataset):
        # One tokenization per example; the prompt alone only for the (few) that do not fit.
        full = len(tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True, return_dict=False))
        if full <= max_length:
            continue
        truncated += 1
        prompt = len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                   return_dict=False))
        if prompt >= max_length:
            record = records[i]
            where = ", ".join(str(v) for v in (record.get("id"), record.get("source")) if v)
            raise UserError(f"training example {i} ({where}) has a "
                            f"{prompt}-token prompt: with max_length {max_length} it would train on nothing; "
                            f"raise --max-length or leave the example out")
    if truncated:
        log.warning("%d of %d SFT examples are longer than max_length %d tokens: their solutions are cut",
                    truncated, len(dataset), max_length)
    return {"examples": len(dataset), "truncated": truncated, "max_length": max_length}
