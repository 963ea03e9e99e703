"""What ``harness report`` and ``harness compare`` accept, declared once (light: no numpy).

Each field declares one option of the command with its bounds (:func:`harness.core.config.option`);
the command checks the request (:func:`harness.core.config.check_fields`) before it reads a run or
writes a file, so a bad value is one sentence and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.core.config import SEED_MAX, option
from harness.core.errors import UserError

FORMATS = ("md", "latex", "csv", "html")
"""Report formats (:mod:`harness.report.render` writes them)."""
SUFFIXES = {"md": "md", "latex": "tex", "csv": "csv", "html": "html"}
FIGURE_FORMATS = ("png", "pdf", "svg")
"""Figure files (:mod:`harness.report.figures` writes them)."""
P_VALUES = ("permutation", "bootstrap")
DEFAULT_ITERATIONS = 10_000
MIN_ITERATIONS = 100
MAX_ITERATIONS = 1_000_000

_ITERATIONS = ("harness choice: at least 100 replicates for a 95% interval to mean anything; at most 1,000,000, "
               "as the replicates are held in memory (replicates x problems per language)")
_SEED = "harness choice: the seed numpy's generator takes, [0, 2**32-1]"


def labels(items: list[str]) -> dict[str, str]:
    """``--label RUN=NAME`` items as {run: name}."""
    pairs = [item.partition("=") for item in items]
    if any(not sep or not key.strip() or not value.strip() for key, sep, value in pairs):
        raise UserError("--label takes RUN=NAME, e.g. --label runs/grpo_de=\"RL (De)\"")
    return {key: value for key, _, value in pairs}


def task_list(tasks: str | None) -> list[str] | None:
    if tasks is None:
        return None
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise UserError(f"--tasks names no task family, got {tasks!r}")
    return names


def _not_a_file(path: str | None, flag: str) -> None:
    if path is not None and Path(path).expanduser().exists() and not Path(path).expanduser().is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder")


@dataclass
class ReportRequest:
    """``harness report``: tables and figures of eval / probe / pick-lang runs."""

    inputs: list[str] = option([], help="Eval runs, probe / pick-lang runs, or folders of runs.", nonempty=True)
    format: list[str] = option(["md"], help="md, latex, csv, html, or several: md,html.",
                               source="harness choice: Markdown pastes into a README", choices=FORMATS)
    out: str | None = option(None, help="Write report.<ext>, figures/ and problems.csv here.", nonempty=True)
    base: str | None = option(None, help="The base setup (label or run).", nonempty=True)
    reference: str | None = option(None, help="Reference row of the ablation table.", nonempty=True)
    label: list[str] = option([], help="A reader's name for a run: RUN=NAME.", nonempty=True)
    tasks: str | None = option(None, help="Only these task families, a,b.", nonempty=True)
    metric: str | None = option(None, help="Per-problem metric.", nonempty=True)
    iterations: int = option(DEFAULT_ITERATIONS, help="Bootstrap replicates and permutations.",
                             source=_ITERATIONS, ge=MIN_ITERATIONS, le=MAX_ITERATIONS)
    seed: int = option(0, help="Seed of the resampling.", source=_SEED, ge=0, le=SEED_MAX)
    allow_mismatch: bool = option(False, help="Put side by side runs that differ in task version, problems, ...")
    figures: list[str] = option(["png", "pdf"], help="Figure files to write with --out: png, pdf, svg.",
                                source="harness choice: PNG for pages, PDF for papers", choices=FIGURE_FORMATS)
    langid: bool = option(True, help="Identify response languages where no consistency probe ran.")

    def check(self) -> None:
        if not self.inputs:
            raise UserError("harness report needs at least one run (an eval, probe or pick-lang run, or a folder of runs)")
        if not self.format:
            raise UserError("--format names no format (md, latex, csv, html)")
        _not_a_file(self.out, "--out")
        labels(self.label)
        task_list(self.tasks)


@dataclass
class CompareRequest:
    """``harness compare``: paired differences of two eval runs."""

    a: str = option("", help="First eval run (A).", nonempty=True)
    b: str = option("", help="Second eval run (B).", nonempty=True)
    base: str | None = option(None, help="The base model's eval run, for Gen.", nonempty=True)
    tasks: str | None = option(None, help="Only these task families, a,b.", nonempty=True)
    metric: str | None = option(None, help="Per-problem metric.", nonempty=True)
    iterations: int = option(DEFAULT_ITERATIONS, help="Bootstrap replicates and permutations.",
                             source=_ITERATIONS, ge=MIN_ITERATIONS, le=MAX_ITERATIONS)
    seed: int = option(0, help="Seed of the resampling.", source=_SEED, ge=0, le=SEED_MAX)
    p_value: str = option("permutation", help="permutation (paired) or bootstrap.",
                          source="harness choice: the paired permutation test is exact under the null",
                          choices=P_VALUES)
    label: list[str] = option([], help="A reader's name for a run: RUN=NAME.", nonempty=True)
    allow_mismatch: bool = option(False, help="Compare runs that differ in task version, problems, budget or prompt.")

    def check(self) -> None:
        labels(self.label)
        task_list(self.tasks)
