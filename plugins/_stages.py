"""Helpers the built-in paradigms share: running other paradigms (composites look them up with
``context.paradigm(name)``, never import them), stage bookkeeping, option conversion."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from harness.core.hookspecs import TrainContext, TrainResult
from harness.core.rundir import RESULT, atomic_write_text
from harness.trainers.common import main_process_only


def tagged(context: TrainContext, stage: str):
    """A ``log`` that adds ``"stage": stage`` to every metrics record of a composite's stage."""
    parent = context.log

    def log(record: dict) -> None:
        parent({"stage": stage, **record})

    return log


def run_stage(context: TrainContext, stage: str, paradigm: str, config: Any, **changes: Any) -> TrainResult:
    """Run paradigm ``paradigm`` as stage ``stage`` of a composite, under ``output_dir/stage``.

    A finished stage leaves ``result.json`` in its folder (so ``harness eval --model
    <run>/<stage>`` works too); with ``--resume`` a finished stage is not run again.
    """
    child = context.child(stage, log=tagged(context, stage), **changes)
    done = child.output_dir / RESULT
    if context.resume and done.is_file():
        main_process_only(context.log)({"stage": stage, "event": "stage_skipped", "reason": "finished before resume"})
        return TrainResult.from_json(json.loads(done.read_text(encoding="utf-8")), child.output_dir)
    result = run_paradigm(child, paradigm, config)
    atomic_write_text(done, json.dumps(result.to_json(base=child.output_dir), indent=2, ensure_ascii=False) + "\n")
    return result


def run_paradigm(context: TrainContext, paradigm: str, config: Any, **changes: Any) -> TrainResult:
    """Train with the registered paradigm ``paradigm`` in ``context`` changed by ``changes`` (other
    ``datasets``, ``rewards``, ...), on the fields of ``config`` its config class has."""
    runner = context.paradigm(paradigm)
    return runner.train(dataclasses.replace(context, **changes), convert(config, runner.config_class))


def convert(options: Any, target: type, **overrides: Any) -> Any:
    """An instance of dataclass ``target`` taking every field it shares with ``options``."""
    names = {f.name for f in dataclasses.fields(target) if f.init}
    values = {k: v for k, v in dataclasses.asdict(options).items() if k in names}
    values.update(overrides)
    return target(**values)


def summary(metrics: dict[str, float], keys: tuple[str, ...]) -> dict[str, float]:
    """The headline numbers of a trainer's metrics (a TrainResult should stay readable)."""
    return {k: metrics[k] for k in keys if k in metrics}
