"""The ``harness`` command line.

User errors end in one sentence and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import UserError, unknown

app = typer.Typer(
    name="harness",
    help="Benchmark and training harness for multilingual reasoning after post-training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

_state = {"registry": None}


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    registry: Annotated[
        Optional[Path], typer.Option("--registry", help="Use this registry.yaml instead of the packaged one.")
    ] = None,
) -> None:
    _state["registry"] = registry


# --- shared loading ----------------------------------------------------------------------------


def _catalog():
    from harness.plugin_manager import PluginLoadWarning, get_catalog

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        catalog = get_catalog()
    for failure in catalog.failures:
        err_console.print(f"[yellow]warning:[/] {failure.message()}", highlight=False)
    return catalog


def _registry():
    from harness.registry import load_registry
    from harness.tasks_index import task_families

    return load_registry(_state["registry"], plugins=_catalog().paradigms, task_names=task_families())


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


# --- plugins, ls, validate ---------------------------------------------------------------------


@app.command()
def plugins() -> None:
    """List loaded plugins and what each contributes (paradigms, rewards, probes)."""
    from importlib.metadata import PackageNotFoundError, version

    catalog = _catalog()
    table = _table("Plugins", "plugin", "version", "contributes")
    for plugin, items in sorted(catalog.by_plugin().items()):
        try:
            ver = version(plugin.split(".")[0].replace("harness", "xling-harness"))
        except PackageNotFoundError:
            ver = ""
        kinds: dict[str, list[str]] = {}
        for kind, name in items:
            kinds.setdefault(kind, []).append(name)
        table.add_row(plugin, ver, "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(kinds.items())))
    console.print(table)


class Listing(str, Enum):
    paradigms = "paradigms"
    rewards = "rewards"
    tasks = "tasks"
    probes = "probes"
    models = "models"
    languages = "languages"
    experiments = "experiments"


@app.command("ls")
def ls(what: Annotated[Listing, typer.Argument(help="What to list.")]) -> None:
    """List registered paradigms, rewards, tasks, probes, models, languages or experiments."""
    catalog, registry = _catalog(), _registry()
    if what in (Listing.paradigms, Listing.rewards, Listing.probes):
        table = _table(what.value.capitalize(), "name", "plugin", "description")
        for name, obj in sorted(getattr(catalog, what.value).items()):
            table.add_row(name, catalog.owner[(what.value, name)], getattr(obj, "description", ""))
        if what is Listing.paradigms:
            for name, entry in sorted(registry.paradigms.items()):
                if name not in catalog.paradigms:
                    table.add_row(name, f"{entry['plugin']} (registry recipe)", entry.get("description", ""))
    elif what is Listing.languages:
        table = _table("Languages", "code", "name", "langid")
        for code, entry in registry.languages.items():
            table.add_row(code, entry["name"], entry["langid"])
    elif what is Listing.models:
        table = _table("Models", "alias", "path", "description")
        for alias, entry in registry.models.items():
            table.add_row(alias, str(entry["path"]), entry.get("description", ""))
    elif what is Listing.tasks:
        table = _table("Tasks", "family", "languages", "description")
        for name, entry in registry.tasks.items():
            table.add_row(name, " ".join(entry.get("languages", [])), entry.get("description", ""))
    else:
        table = _table("Experiments", "name", "paradigms", "languages", "models")
        for name, entry in registry.experiments.items():
            table.add_row(name, " ".join(entry["paradigms"]), " ".join(entry["languages"]), " ".join(entry["models"]))
    console.print(table)


@app.command()
def validate() -> None:
    """Validate registry.yaml against the loaded plugins and the installed task folders."""
    registry = _registry()
    counts = ", ".join(f"{len(getattr(registry, s))} {s}" for s in
                       ("languages", "models", "tasks", "paradigms", "experiments"))
    console.print(f"[green]ok[/] {registry.path}: {counts}")


@app.command("tiny")
def tiny() -> None:
    """Build (once, offline) the tiny model behind the alias `tiny` and print its path."""
    from harness.tiny import tiny_model_path

    console.print(str(tiny_model_path()), highlight=False, soft_wrap=True)


# --- train -------------------------------------------------------------------------------------


def _print_plugin_help(paradigm) -> None:
    from harness.config import describe

    table = _table(f"Options of paradigm {paradigm.name!r}: {paradigm.description}", "flag", "type", "default", "help")
    for row in describe(paradigm.config_class):
        table.add_row(*row)
    console.print(table)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def train(
    ctx: typer.Context,
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p", help="Paradigm plugin or registry recipe.")] = None,
    lang: Annotated[list[str], typer.Option("--lang", "-l", help="Training language(s): de, or en,zh,de.")] = ["en"],
    model: Annotated[str, typer.Option(help="Model alias, run directory, path or hub id.")] = "tiny",
    data: Annotated[str, typer.Option(help="Training data: 'toy' (built in) or a JSONL file.")] = "toy",
    num_problems: Annotated[Optional[int], typer.Option(help="Problems per language (default: all; toy: 200).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML recipe with paradigm settings.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    run_dir: Annotated[Optional[Path], typer.Option(help="Run directory (default: a new one under runs/).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --run-dir from its last checkpoint.")] = False,
    show_help: Annotated[bool, typer.Option("--help", "-h", help="Show this help; with --plugin, its options.")] = False,
) -> None:
    """Train a model with a paradigm plugin; the plugin's own options follow as --flags."""
    if show_help:
        console.print(ctx.get_help())
        if plugin:
            catalog, registry = _catalog(), _registry()
            name, _, _ = registry.paradigm_defaults(plugin)
            if name not in catalog.paradigms:
                raise unknown("plugin", plugin, set(catalog.paradigms) | set(registry.paradigms))
            _print_plugin_help(catalog.paradigms[name])
        raise typer.Exit(0)
    if not plugin:
        raise UserError("harness train needs --plugin NAME (see `harness ls paradigms`)")
    if resume and run_dir is None:
        raise UserError("--resume needs the --run-dir of the run to continue")
    from harness.training import TrainRequest, run_training

    run_training(TrainRequest(
        plugin=plugin, languages=lang, model=model, data=data, num_problems=num_problems, recipe=config,
        seed=seed, run_dir=run_dir, resume=resume, plugin_args=list(ctx.args),
    ), catalog=_catalog(), registry=_registry(), console=console)


# --- eval --------------------------------------------------------------------------------------


@app.command("eval")
def eval_(
    model: Annotated[str, typer.Option(help="Model alias, run directory, path or hub id.")] = "tiny",
    tasks: Annotated[str, typer.Option(help="Comma-separated task families or tasks.")] = "mgsm_xling",
) -> None:
    """Evaluate a model on task families with lm-eval (see `harness ls tasks`)."""
    registry = _registry()
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    for name in names:
        if name not in registry.tasks:
            raise unknown("task", name, registry.tasks)
    raise UserError("no evaluation backend is installed yet")  # replaced when the tasks land


# --- entry point -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        app(args=argv, prog_name="harness")
    except UserError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
