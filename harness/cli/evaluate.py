"""``harness eval`` (lm-eval on the task families), ``tasks-path`` and ``gen``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    OVERWRITE_HELP, app, console, declares, err_console, key_values, loaded_catalog, loaded_registry, make_table,
    reuse_mode, typed_flags,
)
from harness.eval.run import EvalRequest


_EVAL = EvalRequest()  # the one set of eval defaults, with their bounds (harness.eval.run)
_HELP = {f.name: f.metadata["help"] for f in dataclasses.fields(EvalRequest)}
declares("eval", EvalRequest, example=["--model", "tiny", "--tasks", "toy_xling", "--limit", "1", "--max-gen-toks", "8"])


@app.command("eval")
def eval_(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help=_HELP["model"])] = _EVAL.model,
    tasks: Annotated[str, typer.Option(help="Comma-separated task families or tasks (mgsm_xling, mgsm_xling_de).")] = ",".join(_EVAL.tasks),
    backend: Annotated[str, typer.Option(help=_HELP["backend"])] = _EVAL.backend,
    limit: Annotated[Optional[int], typer.Option(help=_HELP["limit"])] = _EVAL.limit,
    data_dir: Annotated[Optional[str], typer.Option("--data-dir", help=_HELP["data_dir"])] = _EVAL.data_dir,
    num_repeats: Annotated[int, typer.Option("--num-repeats", "-k", help=_HELP["num_repeats"])] = _EVAL.num_repeats,
    max_gen_toks: Annotated[Optional[int], typer.Option("--max-gen-toks", help=_HELP["max_gen_toks"])] = _EVAL.max_gen_toks,
    temperature: Annotated[float, typer.Option(help=_HELP["temperature"])] = _EVAL.temperature,
    top_p: Annotated[float, typer.Option("--top-p", help=_HELP["top_p"])] = _EVAL.top_p,
    seed: Annotated[int, typer.Option(help=_HELP["seed"])] = _EVAL.seed,
    batch_size: Annotated[str, typer.Option("--batch-size", help=_HELP["batch_size"])] = _EVAL.batch_size,
    max_model_len: Annotated[Optional[int], typer.Option("--max-model-len", help=_HELP["max_model_len"])] = _EVAL.max_model_len,
    consistency: Annotated[bool, typer.Option("--consistency-prompt/--no-consistency-prompt", help=_HELP["consistency"])] = _EVAL.consistency,
    gen_kwargs: Annotated[Optional[str], typer.Option("--gen-kwargs", help=_HELP["gen_kwargs"])] = _EVAL.gen_kwargs,
    base: Annotated[Optional[str], typer.Option(help=_HELP["base"])] = _EVAL.base,
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help=_HELP["run_dir"])] = _EVAL.run_dir,
    probes: Annotated[Optional[str], typer.Option(help=_HELP["probes"])] = _EVAL.probes,
    probe_options: Annotated[Optional[str], typer.Option("--probe-options", help=_HELP["probe_options"])] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="An eval run's config.yaml (or a YAML of these settings) to replay.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the evaluation in --run-dir, keeping its finished repeats.")] = False,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
    tensor_parallel_size: Annotated[int, typer.Option("--tensor-parallel-size", help=_HELP["tensor_parallel_size"])] = _EVAL.tensor_parallel_size,
    data_parallel_size: Annotated[int, typer.Option("--data-parallel-size", help=_HELP["data_parallel_size"])] = _EVAL.data_parallel_size,
    model_args: Annotated[Optional[str], typer.Option("--model-args", help=_HELP["model_args"])] = _EVAL.model_args,
) -> None:
    """Evaluate a model on task families with lm-eval (see `harness ls tasks`)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from harness.core.config import check_fields
    from harness.eval.results import language_table
    from harness.eval.run import request_from_config, run_eval

    registry = loaded_registry()
    values = dict(
        model=model, tasks=[t.strip() for t in tasks.split(",") if t.strip()], backend=backend, limit=limit,
        data_dir=data_dir, num_repeats=num_repeats, max_gen_toks=max_gen_toks,
        temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size, max_model_len=max_model_len,
        consistency=consistency, gen_kwargs=gen_kwargs, base=base, run_dir=run_dir,
        probes=probes, probe_options=key_values(probe_options, "--probe-options"), mode=reuse_mode(resume, overwrite),
        tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size, model_args=model_args,
    )
    if config is not None:  # a replay: the file's settings, then the flags the user typed
        typed = typed_flags(ctx, *[n for n in values if n not in ("mode", "run_dir")])
        request = request_from_config(config, {k: v for k, v in values.items() if k in typed or k in ("mode", "run_dir")})
    else:
        request = EvalRequest(**values)
    check_fields(request)  # run_eval checks again, and the model-dependent rules, before anything is created
    model, tasks, num_repeats, backend = request.model, ",".join(request.tasks), request.num_repeats, request.backend
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        bar = progress.add_task(f"evaluating {model} on {tasks}", total=num_repeats)

        def on_run(i: int, total: int) -> None:
            progress.update(bar, completed=i, description=f"run {i + 1}/{total}: {model} on {tasks} ({backend})")

        run, results = run_eval(request, registry, loaded_catalog(), on_run=on_run)
    header, rows = language_table(results, request.tasks)
    table = make_table(f"Accuracy (%) of {model}" + (f", mean ± std of {num_repeats} runs" if num_repeats > 1 else ""), *header)
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


@app.command("tasks-path")
def tasks_path() -> None:
    """Print the task folder to give lm-eval as --include_path."""
    from harness.eval.tasks import tasks_dir

    typer.echo(str(tasks_dir()))


@app.command("gen")
def gen(
    results: Annotated[list[str], typer.Argument(help="Eval runs or results files of the trained models.")],
    base: Annotated[str, typer.Option(help="The base model's eval run or results file.")],
    metric: Annotated[Optional[str], typer.Option(help="Metric to use (default: strict_acc, else the first found).")] = None,
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help="Compare runs that differ in task version, problems, budget or prompt (they are marked).")] = False,
) -> None:
    """Gen: mean over languages of (Acc(M) - Acc(base)) / (1 - Acc(base)), per task family."""
    from harness.plugins.gen import check_comparable, compute_gen, load_results

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
        table = make_table(f"Gen {family} ({score['metric']}): "
                       + ("n/a" if score["gen"] is None else f"{100 * score['gen']:.1f}"),
                       "language", "base %", "model %", "term")
        for lang, acc in score["model_acc"].items():
            term = score["terms"].get(lang)
            table.add_row(lang, f"{100 * score['base_acc'][lang]:.1f}", f"{100 * acc:.1f}",
                          "left out (base 100%)" if term is None else f"{100 * term:.1f}")
        console.print(table)
