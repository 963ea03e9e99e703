"""The one interface every training paradigm implements.

A paradigm has a ``name``, a one-line ``description``, a ``config_class`` (a dataclass whose
fields, with ``help`` metadata, become CLI flags and YAML keys; see :mod:`harness.core.config`) and a
``train(context, config)`` method that returns a :class:`TrainResult`.

Composite paradigms (cold start = SFT then GRPO; mixed = several languages) are built from other
paradigms through the same interface: look them up with ``context.paradigm(name)`` and run them
in a ``context.child(...)``. See docs/plugins.md for a worked example.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable


def _no_resolver(spec: str) -> str:
    raise RuntimeError(f"cannot resolve model {spec!r}: this TrainContext was built without resolve_model")


@dataclass
class TrainContext:
    """Everything a paradigm needs from the harness, and nothing about why it runs."""

    model: str
    """Path (or hub id) of the model to start from."""
    languages: list[str]
    """Training languages (harness codes, e.g. ``["de"]`` or ``["en", "zh", "de"]``)."""
    datasets: Mapping[str, Sequence[dict]]
    """Named splits (``"train"``, optionally ``"eval"``) of records in the training schema:
    ``question``, ``solution``, ``answer``, ``lang`` (see harness.data.toy)."""
    output_dir: Path
    """Where checkpoints and the final model go; created by the harness."""
    seed: int = 0
    callbacks: list[Any] = field(default_factory=list)
    """Extra ``transformers.TrainerCallback`` objects (progress, metrics logging)."""
    log: Callable[[dict], None] = lambda record: None
    """Append one metrics record (a dict) to the run's metrics JSONL."""
    resume: bool = False
    """Continue from the last checkpoint under ``output_dir`` if there is one."""
    paradigms: Mapping[str, Paradigm] = field(default_factory=dict)
    """Every registered paradigm, for composites."""
    registry: Any = None
    """The :class:`harness.core.registry.Registry` the command loaded (``harness --registry``);
    never read the default registry path below the CLI."""
    rewards: Mapping[str, Any] = field(default_factory=dict)
    """Every registered reward, by name: pass them on rather than reading a global catalog."""
    resolve_model: Callable[[str], str] = field(default=_no_resolver, repr=False)
    """``resolve_model(spec)``: a model alias, run directory or path, resolved as ``--model`` is
    (with the command's registry). Set by the harness."""

    def paradigm(self, name: str) -> Paradigm:
        from harness.core.errors import unknown

        if name not in self.paradigms:
            raise unknown("paradigm", name, self.paradigms)
        return self.paradigms[name]

    def child(self, stage: str, **changes: Any) -> TrainContext:
        """A context for one stage of a composite, writing under ``output_dir / stage``."""
        out = self.output_dir / stage
        out.mkdir(parents=True, exist_ok=True)
        return dataclasses.replace(self, output_dir=out, **changes)


@dataclass
class TrainResult:
    model_path: Path
    """The final model, loadable with ``from_pretrained`` (what ``harness eval`` uses)."""
    metrics: dict[str, float] = field(default_factory=dict)
    stages: dict[str, TrainResult] = field(default_factory=dict)
    """Results of the stages of a composite paradigm, by stage name."""

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """As recorded in result.json: with ``base`` (the run directory), paths inside it are
        written relative to it, so the run can be referenced from any working directory."""
        return {
            "model_path": _relative(self.model_path, base),
            "metrics": self.metrics,
            "stages": {k: v.to_json(base) for k, v in self.stages.items()},
        }


def _relative(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    try:
        return str(Path(path).resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return str(Path(path).resolve())


@runtime_checkable
class Paradigm(Protocol):
    """What ``register_paradigms`` accepts. Subclassing is optional; these members are not."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_class: ClassVar[type]

    def train(self, context: TrainContext, config: Any) -> TrainResult: ...


@dataclass(frozen=True)
class Reward:
    """What ``register_rewards`` accepts: a reward function for RL paradigms, by name."""

    name: str
    """Unique name, used on the command line and in registry.yaml (``--reward accuracy``)."""
    fn: Callable
    """``fn(prompts, completions, **columns) -> list[float | None]`` (TRL's reward signature)."""
    description: str = ""


def check_paradigm(obj: Any) -> None:
    """Raise TypeError naming what a registered paradigm lacks."""
    missing = [a for a in ("name", "description", "config_class", "train") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"{obj!r} is not a paradigm: it lacks {', '.join(missing)}")
    if not dataclasses.is_dataclass(obj.config_class):
        raise TypeError(f"paradigm {obj.name!r}: config_class must be a dataclass")
    if not isinstance(obj.name, str) or not obj.name.isidentifier():
        raise TypeError(f"paradigm name {obj.name!r} must be an identifier (letters, digits, _)")
