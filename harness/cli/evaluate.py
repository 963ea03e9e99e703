"""``harness eval`` (lm-eval on the task families), ``tasks-path`` and ``gen``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    OVERWRITE_HELP, app, console, err_console, key_values, loaded_catalog, loaded_registry, make_table, reuse_mode,
    typed_flags,
)
from harness.core.errors import UserError


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
    batch_size: Annotated[str, typer.Option("--batch-size", help="hf backend: prompts generated together (an integer or 'auto'; 64 is about twice as fast as 8 for small models on a CPU: bench/bench_eval.py).")] = "64",
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

    from harness.eval.results import language_table
    from harness.eval.run import EvalRequest, request_from_config, run_eval

    registry = loaded_registry()
    values = dict(
        model=model, tasks=[t.strip() for t in tasks.split(",") if t.strip()], backend=backend, limit=limit,
        data_dir=str(data_dir) if data_dir else None, num_repeats=num_repeats, max_gen_toks=max_gen_toks,
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
    check_eval_request(request)
    model, tasks, num_repeats, backend = request.model, ",".join(request.tasks), request.num_repeats, request.backend
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
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
    key_values(request.gen_kwargs, "--gen-kwargs")
    if not request.tasks:
        raise UserError("--tasks needs at least one task family")


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
