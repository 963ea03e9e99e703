"""What every command of the ``harness`` CLI shares: the typer app, the consoles, the loaded
plugin catalog and registry (``harness --registry``), and small flag helpers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from harness.core.errors import UserError

app = typer.Typer(
    name="harness",
    help="Benchmark and training harness for multilingual reasoning after post-training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

state = {"registry": None}


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    registry: Annotated[
        Optional[Path], typer.Option("--registry", help="Use this registry.yaml instead of the packaged one.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the libraries' own logs and progress bars.")] = False,
) -> None:
    from harness.core.quiet import quiet_libraries

    quiet_libraries(verbose or debug)
    state["registry"] = registry


# --- shared loading ----------------------------------------------------------------------------


def loaded_catalog():
    """The plugins' catalog; its load failures are printed once, however often a command asks."""
    from harness.core.plugins import PluginLoadWarning, get_catalog

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        catalog = get_catalog()
    if state.get("warned_for") is not catalog:
        state["warned_for"] = catalog
        for failure in catalog.failures:
            err_console.print(f"[yellow]warning:[/] {failure.message()}", highlight=False)
    return catalog


def loaded_registry():
    from harness.core.registry import load_registry
    from harness.eval.tasks import task_families

    return load_registry(state["registry"], plugins=loaded_catalog().paradigms, task_names=task_families())


def key_values(text: str | None, flag: str) -> dict:
    """``"k=4,max_new_tokens=64"`` as a dict with numbers parsed; a malformed item is a UserError."""
    out: dict = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} takes key=value pairs separated by commas, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def make_table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def typed_flags(ctx: typer.Context, *names: str) -> set[str]:
    """The parameters the user typed (not left at their defaults)."""
    # By name: typer vendors its own click, whose ParameterSource is not click's.
    return {n for n in names if getattr(ctx.get_parameter_source(n), "name", "DEFAULT") != "DEFAULT"}


def reuse_mode(resume: bool, overwrite: bool) -> str:
    if resume and overwrite:
        raise UserError("--resume continues a run and --overwrite starts it again: give one of them")
    return "resume" if resume else "overwrite" if overwrite else "new"


RESUME_HELP = "Continue the run in --run-dir from its last checkpoint."
OVERWRITE_HELP = "Start the run in an existing --run-dir again, removing what it holds."


# --- what each command's options accept: declared once, checked before anything is created --------


@dataclass(frozen=True)
class Declared:
    """The dataclasses whose fields (``harness.core.config.option``, with their bounds) declare a
    command's options, and the arguments of one valid call of it (what tests vary one option of)."""

    command: str
    """The command path: ``eval``, ``experiment run``, ``corpus build``, ..."""
    classes: tuple[type, ...]
    example: tuple[str, ...]


DECLARED: dict[str, Declared] = {}
"""Command path -> what declares its options (tests/test_option_bounds.py reads it)."""


def declares(command: str, *classes: type, example: tuple[str, ...] | list[str] = ()) -> None:
    """Record that ``classes`` declare the options of ``command`` (and a valid call of it)."""
    DECLARED[command] = Declared(command, tuple(classes), tuple(example))
