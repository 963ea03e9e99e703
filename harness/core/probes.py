"""The probe plugin interface: what a mechanism probe is and what it is given.

A probe explains an evaluation result rather than producing one (does the model answer in the
question's language? how sure is it? how far did training move its representations?). It has a
``name``, a one-line ``description`` and ``run(context) -> dict``; plugins contribute probes
through the ``register_probes`` hook, and ``post_eval`` / ``harness probe`` run them
(:mod:`harness.probe`).

The dict a probe returns is JSON-able: its figures (``per_language`` tables and the like), the
definition of what it measured, and ``plots``: paths of the PNGs it wrote, relative to the run
directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.core.rundir import RunDir

PROBES_FILE = "probes.json"


@runtime_checkable
class Probe(Protocol):
    """What ``register_probes`` accepts. Subclassing is optional; these members are not."""

    name: str
    description: str

    def run(self, context: ProbeContext) -> dict: ...

    # Optional: ``check(options)`` raises a UserError for probe options (a mapping, e.g.
    # ``{"drift_basis": "pca", ...}``) it cannot run with; called before any model loads.


@dataclass
class ProbeContext:
    """Everything a probe may need; probes take what they use and ignore the rest."""

    model: str
    """Path (or hub id) of the model under study; aliases and run directories already resolved."""
    run: RunDir
    """Where plots go (and ``probes.json``); an eval run's directory under ``post_eval``."""
    languages: list[str]
    """Languages to probe (harness codes)."""
    problems: dict[str, list[dict]]
    """Per language, the problems to probe with: records with ``question``, ``answer``, ``lang``
    (and ``id``); the same problems, translated, in every language where the data allows."""
    base_model: str | None = None
    """The model the studied one was trained from (drift needs it)."""
    samples: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    """Responses of an eval run: task -> language -> records with ``question``, ``answer`` and
    ``responses`` (a list of strings). Empty when no eval run is behind the probes."""
    compare: dict[str, str] = field(default_factory=dict)
    """More trained models (label -> path) to show beside ``model``, all drifting from
    ``base_model`` (drift: several runs in one plot)."""
    label: str = "model"
    """Name of ``model`` in tables and plots."""
    k: int = 4
    """Responses sampled per problem (self-similarity needs at least 2)."""
    max_new_tokens: int = 256
    temperature: float = 1.0
    """Sampling temperature; the study samples RL rollouts at 1.0."""
    top_p: float = 0.95
    seed: int = 0
    backend: str = "hf"
    """How to sample (:mod:`harness.inference`): ``hf`` (transformers, runs anywhere) or ``vllm``
    (when installed); the old spelling ``transformers`` still works."""
    batch_size: int = 8
    """Prompts per forward pass or ``generate`` call."""
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """Shared between the probes of one run (sampled responses, loaded models)."""

    def plot_path(self, name: str) -> Path:
        """Where a probe writes a plot: ``<run>/probes/<name>``."""
        path = self.run.path / "probes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return str(Path(path).relative_to(self.run.path))


def check_probe(obj: Any) -> None:
    """Raise TypeError naming what a registered probe lacks."""
    missing = [a for a in ("name", "description", "run") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"{obj!r} is not a probe: it lacks {', '.join(missing)}")
    if not callable(obj.run):
        raise TypeError(f"probe {obj.name!r}: run must be callable")


def parse_names(names: str | Iterable[str] | None) -> list[str]:
    """``"a,b"``, ``["a", "b"]`` or ``["a,b"]`` as a list of names, in order, without repeats."""
    if names is None:
        return []
    items = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for item in items:
        for name in str(item).split(","):
            if name.strip() and name.strip() not in out:
                out.append(name.strip())
    return out


def check_probes(names: Iterable[str], probes: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> None:
    """Before anything loads: every name is a registered probe (else a UserError suggesting the
    closest), and each probe that has a ``check(options)`` accepts ``options``."""
    from harness.core.errors import unknown

    for name in names:
        if name not in probes:
            raise unknown("probe", name, probes)
    for name in names:
        check = getattr(probes[name], "check", None)
        if callable(check):
            check(dict(options or {}))
