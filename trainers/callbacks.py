"""Trainer callbacks: metrics into the run's JSONL, a live progress bar, per-language reward logs.

- :class:`MetricsLogger` appends every TRL log record (loss, reward, KL, completion lengths,
  per-language accuracy) to the run's metrics JSONL through ``TrainContext.log``.
- :class:`LiveProgress` is TRL's ``RichProgressCallback`` with the latest reward (or loss) in the
  bar's description; it replaces transformers' ``PrinterCallback``/tqdm bar (``disable_tqdm``).
- :func:`language_tracked` wraps a reward function so that each batch also logs its mean per
  training language (``reward/de``) through TRL's ``log_metric``, and measures accuracy and
  language consistency beside it (``accuracy/de``, ``consistency/zh``) when it does not reward them.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from trl.trainer.callbacks import RichProgressCallback

# Shown in the progress bar's description, the first present wins.
HEADLINE_KEYS = ("reward", "loss")


class MetricsLogger(TrainerCallback):
    """Append one record per trainer log (every ``logging_steps``) to the run's metrics JSONL."""

    def __init__(self, log: Callable[[dict], None]):
        self.log = log

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record: dict[str, Any] = {"step": state.global_step, "epoch": _rounded(state.epoch)}
        for key, value in logs.items():
            record[key] = None if isinstance(value, float) and math.isnan(value) else value
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


def progress_wanted(setting: str) -> bool:
    """``progress: auto|on|off``: auto shows the live bar only on an interactive terminal."""
    if setting == "auto":
        return sys.stderr.isatty()
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


def install(trainer, *, log: Callable[[dict], None], progress: str = "auto", extra: Sequence[Any] = ()) -> None:
    """Replace transformers' printer/tqdm callbacks with ours on ``trainer``."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(MetricsLogger(log))
    if progress_wanted(progress):
        trainer.add_callback(LiveProgress())
    for callback in extra:
        trainer.add_callback(callback)


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
