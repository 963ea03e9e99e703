"""Trainer callbacks: metrics into the run's JSONL, a live progress bar, per-language reward logs.

- :class:`MetricsLogger` appends every TRL log record (loss, reward, KL, completion lengths,
  per-language accuracy) to the run's metrics JSONL through ``TrainContext.log``.
- :class:`LiveProgress` is TRL's ``RichProgressCallback`` with the latest reward (or loss) in the
  bar's description; it replaces transformers' ``PrinterCallback``/tqdm bar (``disable_tqdm``).
- :func:`language_tracked` wraps a reward function so that each batch also logs its mean per
  training language (``reward/de``) through TRL's ``log_metric``, and measures accuracy and
  language consistency beside it (``accuracy/de``, ``consistency/zh``) when it does not reward them.
- :class:`CheckpointAndStop` makes SIGUSR1 mean "finish this optimizer step, save a checkpoint at
  it and stop" (an experiment cell warned of its SLURM time limit, or ``kill -USR1`` by hand).
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from trl.trainer.callbacks import RichProgressCallback

from harness.core.rundir import CHECKPOINT_AND_STOP

# Shown in the progress bar's description, the first present wins.
HEADLINE_KEYS = ("reward", "loss")


class MetricsLogger(TrainerCallback):
    """Append one record per trainer log (every ``logging_steps``) to the run's metrics JSONL."""

    def __init__(self, log: Callable[[dict], None]):
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        if "train_runtime" in logs and state.global_step < state.max_steps:
            return  # the summary of a training stopped before its end (CheckpointAndStop): the resumed run logs it
        record: dict[str, Any] = {"step": state.global_step, "epoch": _rounded(state.epoch)}
        for key, value in logs.items():
            record[key] = None if isinstance(value, float) and math.isnan(value) else value
        if "train_loss" in record and "train_runtime" in record:
            # transformers averages only the steps of the last session (wrong after a resume)
            from harness.trainers.common import mean_logged_loss

            record["train_loss"] = mean_logged_loss(state.log_history)
        self.log(record)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


class LiveProgress(RichProgressCallback):
    """TRL's rich progress display, with the latest reward (or loss) in the bar's description."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        super().on_log(args, state, control, logs=logs, **kwargs)
        if not (state.is_world_process_zero and self.training_bar and logs):
            return
        for key in HEADLINE_KEYS:
            value = logs.get(key)
            if isinstance(value, (int, float)):
                self.training_bar.update(self.training_task, description=f"[blue]Training[/] {key}={value:.3f}")
                break


class PlainProgress(TrainerCallback):
    """One plain line every ``every`` steps, for logs that are not a terminal (SLURM, CI, tee):
    step, loss or reward, accuracy, seconds per step and the time left."""

    def __init__(self, every: int = 0, stream=None):
        self.every = every
        self.stream = stream
        self.started = 0.0
        self.first_step = 0
        self.latest: dict[str, float] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        import time

        self.started, self.first_step = time.perf_counter(), state.global_step
        if self.every <= 0:  # about twenty lines per run
            self.every = max(1, (state.max_steps or 20) // 20)

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.latest[key] = float(value)

    def on_step_end(self, args, state, control, **kwargs):
        import time

        step, total = state.global_step, state.max_steps
        if not state.is_world_process_zero or (step % self.every and step != total):
            return
        done = step - self.first_step
        per_step = (time.perf_counter() - self.started) / done if done else 0.0
        parts = [f"step {step}/{total}"]
        for key in ("loss", "reward", "accuracy", "mean_token_accuracy"):
            if key in self.latest:
                parts.append(f"{key} {self.latest[key]:.4g}")
        parts.append(f"{per_step:.2f} s/step")
        parts.append(f"ETA {_duration(per_step * max(0, total - step))}")
        print(" | ".join(parts), file=self.stream or sys.stdout, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_wanted(setting: str) -> bool:
    """``progress: auto|on|plain|off``: auto shows the live bar only on an interactive terminal
    (plain lines elsewhere)."""
    if setting == "auto":
        return sys.stdout.isatty()
    return setting in {"on", "true", "yes", "1"}


def quiet_libraries(progress: str) -> None:
    """Without the live display, also silence the per-dataset and weight-loading bars of
    datasets and transformers (they flood CI logs; the metrics JSONL has what matters)."""
    if progress_wanted(progress):
        return
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


def install(trainer, *, log: Callable[[dict], None], progress: str = "auto", extra: Sequence[Any] = (),
            every: int = 0) -> None:
    """Replace transformers' printer/tqdm callbacks with ours on ``trainer``: the live bar on a
    terminal, plain lines every ``every`` steps elsewhere (``progress: off`` prints nothing)."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(MetricsLogger(log))
    if progress_wanted(progress):
        trainer.add_callback(LiveProgress())
    elif progress not in {"off", "false", "no", "0"}:
        trainer.add_callback(PlainProgress(every))
    trainer.add_callback(CheckpointAndStop())
    for callback in extra:
        trainer.add_callback(callback)


# --- checkpoint and stop on a signal -------------------------------------------------------------

STOP_SIGNAL = CHECKPOINT_AND_STOP
"""SIGUSR1: "checkpoint and stop" (why this signal: harness.core.rundir.CHECKPOINT_AND_STOP)."""

logger = logging.getLogger("harness.train")


class CheckpointAndStop(TrainerCallback):
    """On :data:`STOP_SIGNAL` the training finishes its current optimizer step, saves a checkpoint
    at that step and stops (``train`` then ends the command as ``interrupted``), so ``--resume``
    continues from exactly that step: no step lost, none trained twice.

    The processes of a multi-process training may receive the signal at different moments (SLURM
    signals them all, a launcher forwards it one by one, a user signals one), and a checkpoint is a
    collective save: at the end of every step the processes agree on the flag (a MAX over ranks of
    a one-element tensor: one tiny collective per step), so all of them stop at the same step.
    A request during the last step changes nothing: that training finishes."""

    def __init__(self):
        self.requested = False
        self.stopped_at: int | None = None
        """The step at which the training saved its checkpoint and stopped (None: it did not)."""

    def request(self, signum=None, frame=None) -> None:
        """The signal handler: only a flag, read at the next step's end."""
        self.requested = True

    @contextlib.contextmanager
    def listening(self):
        """:data:`STOP_SIGNAL` requests the stop while the block runs (the handler it replaces is
        restored after). Signal handlers can only be set in the main thread: elsewhere (a training
        run in a worker thread) only :meth:`request` asks for it."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(STOP_SIGNAL, self.request)
        try:
            yield self
        finally:
            signal.signal(STOP_SIGNAL, previous)

    def on_step_end(self, args, state, control, **kwargs):
        if not self._agreed(args) or state.global_step >= state.max_steps:
            return
        control.should_save = True
        # The losses since the last log would otherwise be dropped: the resumed run starts a new interval.
        control.should_log = True
        control.should_training_stop = True
        self.stopped_at = state.global_step
        if state.is_world_process_zero:  # in the run's log and on the console (a cell's log)
            message = f"{signal.Signals(STOP_SIGNAL).name}: a checkpoint at step {state.global_step}, then stop"
            logger.warning(message)
            print(message, file=sys.stderr, flush=True)

    def _agreed(self, args) -> bool:
        """Whether any process asked to stop (this one's flag when it trains alone)."""
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self.requested
        flag = torch.tensor([int(self.requested)], dtype=torch.int32, device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


def stop_callback(trainer) -> CheckpointAndStop:
    """The trainer's :class:`CheckpointAndStop` (added when :func:`install` was not used)."""
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, CheckpointAndStop):
            return callback
    callback = CheckpointAndStop()
    trainer.add_callback(callback)
    return callback


# --- per-language reward logging ----------------------------------------------------------------


def per_language_means(values: Sequence[float | None], langs: Sequence[str]) -> dict[str, float]:
    """Mean of the scored values per language (None = unscorable, left out)."""
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for value, lang in zip(values, langs):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        sums[lang] += float(value)
        counts[lang] += 1
    return {lang: sums[lang] / counts[lang] for lang in sums}


def language_tracked(reward: Callable[..., list], name: str, monitors: Sequence[tuple[str, Callable]] = ()):
    """A TRL reward function that returns ``reward``'s values, logs their mean per language as
    ``reward/<lang>``, and runs each monitor beside it: rewards computed only to be logged (the
    built-ins log ``accuracy/<lang>`` and ``consistency/<lang>`` themselves), e.g. language
    consistency while training on accuracy. TRL names reward columns after ``__name__``."""

    def tracked(prompts, completions, **columns):
        values = reward(prompts=prompts, completions=completions, **columns)
        log_metric = columns.get("log_metric")
        langs = columns.get("lang")
        if log_metric is not None and langs is not None:
            for lang, mean in sorted(per_language_means(values, langs).items()):
                log_metric(f"reward/{lang}", mean)
            for _, monitor in monitors:
                monitor(prompts=prompts, completions=completions, **columns)
        return values

    tracked.__name__ = name
    tracked.__qualname__ = name
    return tracked
