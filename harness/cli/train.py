"""``harness train``: a paradigm plugin on a model and a corpus; the plugin's options follow as flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    OVERWRITE_HELP, RESUME_HELP, app, console, declares, loaded_catalog, loaded_registry, make_table, reuse_mode,
    typed_flags,
)
from harness.core.errors import unknown
from harness.data.corpora import BUILTIN_CORPORA
from harness.train.run import TrainRequest

DATA_HELP = ("Training data: " + ", ".join(n for n, c in BUILTIN_CORPORA.items() if c.generate) + " (built in), "
             + ", ".join(n for n, c in BUILTIN_CORPORA.items() if not c.generate)
             + " (hub or --data-dir mirror), a corpus a plugin registers, or a JSONL file or folder.")


def _print_plugin_help(paradigm, defaults: dict, recipe: str) -> None:
    from harness.core.config import provenance

    # The recipe's effective defaults and where each comes from (a model alias's train_defaults,
    # such as tiny's CPU sizes, replace some of them at run time; the run's config.yaml says which).
    title = f"Options of {recipe!r} (paradigm {paradigm.name!r}: {paradigm.description})"
    table = make_table(title, "flag", "type", "default", "source", "help")
    for row in provenance(paradigm.config_class, defaults, recipe):
        table.add_row(*row)
    console.print(table)


# The request's fields and, from the plugin catalog, each paradigm's config class declare the options;
# the example is one cheap valid run (a refused option never reaches training).
declares("train", TrainRequest,
         example=["--plugin", "sft", "--model", "tiny", "--lang", "de", "--max-steps", "1", "--num-problems", "4"])


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def train(
    ctx: typer.Context,
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p", help="Paradigm plugin or registry recipe.")] = None,
    lang: Annotated[list[str], typer.Option("--lang", "-l", help="Training language(s): de, or en,zh,de.")] = ["en"],
    model: Annotated[str, typer.Option(help="Model alias, run directory, path or hub id.")] = "tiny",
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "toy",
    data_dir: Annotated[Optional[str], typer.Option("--data-dir", help="Local data mirror for named corpora (default: $HARNESS_DATA_DIR, else the HF hub).")] = None,
    num_problems: Annotated[Optional[int], typer.Option(help="Problems per language (default: all; toy: 200).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML recipe, or a run's config.yaml to replay it.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    run_dir: Annotated[Optional[Path], typer.Option(help="Run directory (default: a new one under runs/).")] = None,
    num_processes: Annotated[int, typer.Option("--num-processes", help="Training processes on this machine, under accelerate (DDP over gloo on CPUs); batch sizes stay global.")] = 1,
    strategy: Annotated[str, typer.Option(help="With --num-processes: TRL's accelerate config: multi_gpu (DDP), fsdp1, fsdp2, zero1-3 (DeepSpeed, GPUs only).")] = "multi_gpu",
    resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
    show_help: Annotated[bool, typer.Option("--help", "-h", help="Show this help; with --plugin, its options.")] = False,
) -> None:
    """Train a model with a paradigm plugin; the plugin's own options follow as --flags."""
    if show_help:
        console.print(ctx.get_help())
        if plugin:
            catalog, registry = loaded_catalog(), loaded_registry()
            name, defaults, _ = registry.paradigm_defaults(plugin)
            if name not in catalog.paradigms:
                raise unknown("plugin", plugin, set(catalog.paradigms) | set(registry.paradigms))
            _print_plugin_help(catalog.paradigms[name], defaults, plugin)
        raise typer.Exit(0)
    from harness.train.run import run_training

    mode = reuse_mode(resume, overwrite)
    given = {"lang": "languages"}
    run_training(TrainRequest(
        plugin=plugin, languages=lang, model=model, data=data, data_dir=data_dir,
        num_problems=num_problems, recipe=config, seed=seed, run_dir=run_dir, mode=mode,
        num_processes=num_processes, strategy=strategy,
        plugin_args=list(ctx.args),
        given={given.get(n, n) for n in typed_flags(ctx, "plugin", "lang", "model", "data", "data_dir", "num_problems", "seed")},
    ), catalog=loaded_catalog(), registry=loaded_registry(), console=console)
