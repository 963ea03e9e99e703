"""The ``harness`` command line.

User errors end in one sentence and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from harness.errors import UserError, unknown
from harness.rundir import Terminated

# Errors of the machine, not of the harness: a full disk, a read-only or forbidden folder.
MACHINE_SAYS_NO = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}

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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the libraries' own logs and progress bars.")] = False,
) -> None:
    from harness.quiet import quiet_libraries

    quiet_libraries(verbose or debug)
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


def _key_values(text: str | None, flag: str) -> dict:
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


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


# --- plugins, ls, validate ---------------------------------------------------------------------


@app.command()
def plugins() -> None:
    """List loaded plugins and what each contributes (paradigms, rewards, probes)."""
    from harness import __version__

    catalog = _catalog()
    table = _table("Plugins", "plugin", "package", "contributes")
    for plugin, items in sorted(catalog.by_plugin().items()):
        ver = catalog.packages.get(plugin, f"xling-harness {__version__} (built in)")
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


def _print_plugin_help(paradigm, defaults: dict, recipe: str) -> None:
    from harness.config import provenance

    # The recipe's effective defaults and where each comes from (a model alias's train_defaults,
    # such as tiny's CPU sizes, replace some of them at run time; the run's config.yaml says which).
    title = f"Options of {recipe!r} (paradigm {paradigm.name!r}: {paradigm.description})"
    table = _table(title, "flag", "type", "default", "source", "help")
    for row in provenance(paradigm.config_class, defaults, recipe):
        table.add_row(*row)
    console.print(table)


def _given(ctx: typer.Context, *names: str) -> set[str]:
    """The parameters the user typed (not left at their defaults)."""
    # By name: typer vendors its own click, whose ParameterSource is not click's.
    return {n for n in names if getattr(ctx.get_parameter_source(n), "name", "DEFAULT") != "DEFAULT"}


def _reuse_mode(resume: bool, overwrite: bool) -> str:
    if resume and overwrite:
        raise UserError("--resume continues a run and --overwrite starts it again: give one of them")
    return "resume" if resume else "overwrite" if overwrite else "new"


RESUME_HELP = "Continue the run in --run-dir from its last checkpoint."
OVERWRITE_HELP = "Start the run in an existing --run-dir again, removing what it holds."


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def train(
    ctx: typer.Context,
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p", help="Paradigm plugin or registry recipe.")] = None,
    lang: Annotated[list[str], typer.Option("--lang", "-l", help="Training language(s): de, or en,zh,de.")] = ["en"],
    model: Annotated[str, typer.Option(help="Model alias, run directory, path or hub id.")] = "tiny",
    data: Annotated[str, typer.Option(help="Training data: toy, toy_easy (built in), gsm8k, gsm8k_parallel, luffy "
                                           "(hub or --data-dir mirror), or a JSONL file or folder.")] = "toy",
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Local data mirror for named corpora (default: $HARNESS_DATA_DIR, else the HF hub).")] = None,
    num_problems: Annotated[Optional[int], typer.Option(help="Problems per language (default: all; toy: 200).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML recipe, or a run's config.yaml to replay it.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    run_dir: Annotated[Optional[Path], typer.Option(help="Run directory (default: a new one under runs/).")] = None,
    resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
    show_help: Annotated[bool, typer.Option("--help", "-h", help="Show this help; with --plugin, its options.")] = False,
) -> None:
    """Train a model with a paradigm plugin; the plugin's own options follow as --flags."""
    if show_help:
        console.print(ctx.get_help())
        if plugin:
            catalog, registry = _catalog(), _registry()
            name, defaults, _ = registry.paradigm_defaults(plugin)
            if name not in catalog.paradigms:
                raise unknown("plugin", plugin, set(catalog.paradigms) | set(registry.paradigms))
            _print_plugin_help(catalog.paradigms[name], defaults, plugin)
        raise typer.Exit(0)
    from harness.training import TrainRequest, run_training

    mode = _reuse_mode(resume, overwrite)
    given = {"lang": "languages"}
    run_training(TrainRequest(
        plugin=plugin, languages=lang, model=model, data=data, data_dir=str(data_dir) if data_dir else None,
        num_problems=num_problems, recipe=config, seed=seed, run_dir=run_dir, mode=mode,
        plugin_args=list(ctx.args),
        given={given.get(n, n) for n in _given(ctx, "plugin", "lang", "model", "data", "data_dir", "num_problems", "seed")},
    ), catalog=_catalog(), registry=_registry(), console=console)


# --- eval, tasks-path, gen (owned by the evaluation issue) --------------------------------------


@app.command("eval")
def eval_(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help="Model alias, run directory, path or hub id.")] = "tiny",
    tasks: Annotated[str, typer.Option(help="Comma-separated task families or tasks (mgsm_xling, mgsm_xling_de).")] = "mgsm_xling",
    backend: Annotated[str, typer.Option(help="Inference backend: hf (transformers) or vllm.")] = "hf",
    limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N problems of each task.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Local data mirror (default: $HARNESS_DATA_DIR, else the HF hub).")] = None,
    num_repeats: Annotated[int, typer.Option("--num-repeats", "-k", help="Sampling runs with different seeds (1: one greedy run).")] = 1,
    max_gen_toks: Annotated[Optional[int], typer.Option("--max-gen-toks", help="Token budget per response (default: each task's own).")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature when --num-repeats > 1.")] = 0.6,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling when --num-repeats > 1.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the first run (run i uses seed + i).")] = 0,
    batch_size: Annotated[str, typer.Option("--batch-size", help="hf backend batch size (an integer or 'auto').")] = "8",
    max_model_len: Annotated[Optional[int], typer.Option("--max-model-len", help="Context length (prompt + response) to allocate.")] = None,
    consistency: Annotated[bool, typer.Option("--consistency-prompt/--no-consistency-prompt", help="Add the reason-in-the-question's-language instruction.")] = False,
    gen_kwargs: Annotated[Optional[str], typer.Option("--gen-kwargs", help="Extra generation kwargs, key=value,...")] = None,
    base: Annotated[Optional[str], typer.Option(help="Base model's eval run or results file: adds Gen to the results.")] = None,
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory (default: a new one under runs/).")] = None,
    probes: Annotated[Optional[str], typer.Option(help="Probes to run afterwards, a,b (see `harness ls probes`).")] = None,
    probe_options: Annotated[Optional[str], typer.Option("--probe-options", help="Probe settings, key=value,... (k, max_new_tokens, num_problems).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="An eval run's config.yaml (or a YAML of these settings) to replay.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the evaluation in --run-dir, keeping its finished repeats.")] = False,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
    tensor_parallel_size: Annotated[int, typer.Option("--tensor-parallel-size", help="vLLM: GPUs one model is split over.")] = 1,
    data_parallel_size: Annotated[int, typer.Option("--data-parallel-size", help="vLLM: model replicas, one per GPU group.")] = 1,
    model_args: Annotated[Optional[str], typer.Option("--model-args", help="Backend arguments, lm-eval style: dtype=bfloat16,revision=main,gpu_memory_utilization=0.9,max_model_len=4096.")] = None,
) -> None:
    """Evaluate a model on task families with lm-eval (see `harness ls tasks`)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from harness.evaluation import EvalRequest, language_table, run_eval

    from harness.evaluation import request_from_config

    registry = _registry()
    values = dict(
        model=model, tasks=[t.strip() for t in tasks.split(",") if t.strip()], backend=backend, limit=limit,
        data_dir=str(data_dir) if data_dir else None, num_repeats=num_repeats, max_gen_toks=max_gen_toks,
        temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size, max_model_len=max_model_len,
        consistency=consistency, gen_kwargs=gen_kwargs, base=base, run_dir=run_dir,
        probes=probes, probe_options=_key_values(probe_options, "--probe-options"), mode=_reuse_mode(resume, overwrite),
        tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size, model_args=model_args,
    )
    if config is not None:  # a replay: the file's settings, then the flags the user typed
        typed = _given(ctx, *[n for n in values if n not in ("mode", "run_dir")])
        request = request_from_config(config, {k: v for k, v in values.items() if k in typed or k in ("mode", "run_dir")})
    else:
        request = EvalRequest(**values)
    check_eval_request(request)
    model, tasks, num_repeats, backend = request.model, ",".join(request.tasks), request.num_repeats, request.backend
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        bar = progress.add_task(f"evaluating {model} on {tasks}", total=num_repeats)

        def on_run(i: int, total: int) -> None:
            progress.update(bar, completed=i, description=f"run {i + 1}/{total}: {model} on {tasks} ({backend})")

        run, results = run_eval(request, registry, on_run=on_run)
    header, rows = language_table(results, request.tasks)
    table = _table(f"Accuracy (%) of {model}" + (f", mean ± std of {num_repeats} runs" if num_repeats > 1 else ""), *header)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if "gen" in results:
        _print_gen(results["gen"])
    for name, figures in results.get("probes", {}).items():
        console.print(f"probe {name}: {run.path / 'probes.json'}", highlight=False, soft_wrap=True)
    if "gen_error" in results:
        err_console.print(f"[yellow]warning:[/] no Gen: {results['gen_error']}", highlight=False)
    console.print(f"results: {run.path / 'results.json'}", highlight=False, soft_wrap=True)


def check_eval_request(request) -> None:
    """What can be checked in the flags, before anything is loaded."""
    if request.limit is not None and request.limit < 1:
        raise UserError(f"--limit must be at least 1, got {request.limit}")
    if request.max_gen_toks is not None and request.max_gen_toks < 1:
        raise UserError(f"--max-gen-toks must be at least 1, got {request.max_gen_toks}")
    if request.max_model_len is not None and request.max_model_len < 1:
        raise UserError(f"--max-model-len must be at least 1, got {request.max_model_len}")
    if request.num_repeats < 1:
        raise UserError(f"--num-repeats must be at least 1, got {request.num_repeats}")
    if not (str(request.batch_size) == "auto" or str(request.batch_size).isdigit() and int(request.batch_size) > 0):
        raise UserError(f"--batch-size must be a positive integer or 'auto', got {request.batch_size!r}")
    if request.temperature < 0 or not 0 < request.top_p <= 1:
        raise UserError("--temperature must be >= 0 and --top-p in (0, 1]")
    _key_values(request.gen_kwargs, "--gen-kwargs")
    if not request.tasks:
        raise UserError("--tasks needs at least one task family")


@app.command("tasks-path")
def tasks_path() -> None:
    """Print the task folder to give lm-eval as --include_path."""
    from harness.tasks_index import tasks_dir

    typer.echo(str(tasks_dir()))


@app.command("gen")
def gen(
    results: Annotated[list[str], typer.Argument(help="Eval runs or results files of the trained models.")],
    base: Annotated[str, typer.Option(help="The base model's eval run or results file.")],
    metric: Annotated[Optional[str], typer.Option(help="Metric to use (default: strict_acc, else the first found).")] = None,
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help="Compare runs that differ in task version, problems, budget or prompt (they are marked).")] = False,
) -> None:
    """Gen: mean over languages of (Acc(M) - Acc(base)) / (1 - Acc(base)), per task family."""
    from harness.gen import check_comparable, compute_gen, load_results

    base_results = load_results(base)
    loaded = {spec: load_results(spec) for spec in results}
    for spec, model_results in loaded.items():
        notes = check_comparable({"base": base_results, spec: model_results}, allow_mismatch)
        console.print(f"[bold]{spec}[/]" + (" [yellow](mismatch)[/]" if notes else ""), highlight=False)
        for note in notes:
            err_console.print(f"[yellow]mismatch:[/] {note}", highlight=False, soft_wrap=True)
        scores = compute_gen(model_results, base_results, metric)
        _print_gen({f: s.to_dict() for f, s in scores.items()})


def _print_gen(scores: dict) -> None:
    for family, score in sorted(scores.items()):
        table = _table(f"Gen {family} ({score['metric']}): "
                       + ("n/a" if score["gen"] is None else f"{100 * score['gen']:.1f}"),
                       "language", "base %", "model %", "term")
        for lang, acc in score["model_acc"].items():
            term = score["terms"].get(lang)
            table.add_row(lang, f"{100 * score['base_acc'][lang]:.1f}", f"{100 * acc:.1f}",
                          "left out (base 100%)" if term is None else f"{100 * term:.1f}")
        console.print(table)


# --- probe (owned by the probes issue; the probes live in plugins/probes/) ---------------------


@app.command("probe")
def probe(
    names: Annotated[str, typer.Argument(help="Probe(s) to run, comma-separated (see `harness ls probes`).")],
    model: Annotated[str, typer.Option(help="Model alias, training run, eval run, path or hub id.")] = "tiny",
    base: Annotated[Optional[str], typer.Option(help="The base model the studied one was trained from (drift).")] = None,
    lang: Annotated[list[str], typer.Option("--lang", "-l", help="Languages: de, or en,zh,de (default: all ten).")] = [],
    num_problems: Annotated[int, typer.Option(help="Problems per language.")] = 16,
    k: Annotated[int, typer.Option("--k", help="Responses sampled per problem.")] = 4,
    max_new_tokens: Annotated[int, typer.Option(help="Longest sampled response, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")] = 0.95,
    backend: Annotated[str, typer.Option(help="Sampler: hf (transformers), or vllm when installed.")] = "hf",
    batch_size: Annotated[int, typer.Option(help="Prompts per forward pass.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of sampling and problem selection.")] = 0,
    data: Annotated[str, typer.Option(help="Problems: 'toy' or an MGSM mirror folder (mgsm_<lang>.tsv).")] = "toy",
    samples: Annotated[Optional[Path], typer.Option(help="An eval run: probe its responses and questions.")] = None,
    compare: Annotated[list[str], typer.Option(help="More trained models for drift, label=model (repeatable).")] = [],
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory (default: a new one under runs/).")] = None,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
) -> None:
    """Run mechanism probes on a model alone (they also run after `harness eval --probes`)."""
    from harness.plugins.probes.build import ProbeOptions, run_standalone
    from harness.probe import parse_names

    pairs = [item.partition("=") for item in compare]
    if any(not sep or not label or not spec for label, sep, spec in pairs):
        raise UserError("--compare takes label=model, e.g. --compare rl_de=runs/train-grpo-de")
    run, results = run_standalone(
        parse_names(names), model=model, base=base, languages=parse_names(lang) or None, samples_from=samples,
        compare={label: spec for label, _, spec in pairs}, label=None, run_dir=run_dir, probes=_catalog().probes,
        mode=_reuse_mode(False, overwrite),
        options=ProbeOptions(num_problems=num_problems, k=k, max_new_tokens=max_new_tokens, temperature=temperature,
                             top_p=top_p, backend=backend, batch_size=batch_size, seed=seed, data=data),
    )
    for name, result in results.items():
        rows = result.get("table") or []
        if not rows:
            console.print(f"[bold]{name}[/]: {result.get('skipped', 'no rows')}", highlight=False)
            continue
        table = _table(name, *rows[0])
        for row in rows:
            table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
        console.print(f"[dim]{result.get('definition', '')}[/]", highlight=False)
    console.print(f"probes: {run.path / 'probes.json'}", highlight=False, soft_wrap=True)


# --- commands that live in their own modules ----------------------------------------------------
# Each module defines ``register(app)`` and keeps its top-level imports light (no torch).

def _register_plugin_commands() -> None:
    """Add the commands plugins contribute through ``register_commands`` (the built-in report,
    corpus and experiment commands among them); a core command keeps its name."""
    from harness.plugin_manager import PluginLoadError, PluginLoadWarning, collect, get_plugin_manager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginLoadWarning)  # printed once, by _catalog()
            catalog = collect(get_plugin_manager(), kinds=("commands",))
    except PluginLoadError:
        return  # strict mode: the command that runs loads the plugins again and exits 2
    core = {info.name or info.callback.__name__.lower().replace("_", "-") for info in app.registered_commands}
    for name, command in catalog.commands.items():
        if name in core:
            err_console.print(f"[yellow]warning:[/] plugin {catalog.owner[('commands', name)]!r} "
                              f"registers command {name!r}, which is a core command; ignored", highlight=False)
        elif hasattr(command, "registered_commands"):  # a typer.Typer group
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)


_register_plugin_commands()


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
        err_console.print("[yellow]interrupted[/] (the run directory records it; continue with --resume)")
        sys.exit(130)
    except Terminated as exc:
        err_console.print(f"[yellow]stopped[/] by {exc.signal}: the run directory records it as interrupted; "
                          f"continue with --resume", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - only the machine's refusals are turned into a sentence
        sentence = machine_says_no(exc)
        if sentence is None:
            raise
        if debug:
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {sentence} (the run directory records the failure)",
                          highlight=False, soft_wrap=True)
        sys.exit(2)


def machine_says_no(exc: BaseException) -> str | None:
    """One sentence for a full disk or a forbidden/read-only folder, wherever in the exception
    chain it is (libraries wrap it: safetensors reports "No space left on device (os error 28)")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in MACHINE_SAYS_NO:
            return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
        for number in MACHINE_SAYS_NO:
            if f"(os error {number})" in str(exc):
                return f"{os.strerror(number)} ({type(exc).__name__} while writing)"
        exc = exc.__cause__ or exc.__context__
    return None


if __name__ == "__main__":
    main()
