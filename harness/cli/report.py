"""``harness report``, ``harness compare`` and ``harness pick-lang``.

Top-level imports stay light (typer, rich): numpy, matplotlib and the model stack load inside the
commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import OVERWRITE_HELP, app, declares
from harness.core.errors import UserError, unknown
from harness.report.requests import CompareRequest, ReportRequest
from harness.report.requests import labels as _labels

_HELP_LABEL = "A reader's name for a run: RUN=NAME (repeatable), e.g. runs/x=\"RL (De)\"."


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


declares("report", ReportRequest, example=["@EVAL_RUN"])
declares("compare", CompareRequest, example=["@EVAL_RUN", "@OTHER_EVAL_RUN"])


@app.command("report")
def report(
    inputs: Annotated[list[str], typer.Argument(help="Eval runs, probe / pick-lang runs, or folders of runs (an experiment).")],
    format: Annotated[str, typer.Option("--format", "-f", help="md, latex, csv, html, or several: md,html.")] = "md",
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write report.<ext>, figures/ and problems.csv here.")] = None,
    base: Annotated[Optional[str], typer.Option(help="The base setup (label or run); default: the untrained model's run.")] = None,
    reference: Annotated[Optional[str], typer.Option(help="Reference row of the ablation table (default: the base).")] = None,
    label: Annotated[list[str], typer.Option("--label", help=_HELP_LABEL)] = [],
    tasks: Annotated[Optional[str], typer.Option(help="Only these task families, a,b.")] = None,
    metric: Annotated[Optional[str], typer.Option(help="Per-problem metric (default: strict_acc, else the first found).")] = None,
    iterations: Annotated[int, typer.Option("--iterations", "-B", help="Bootstrap replicates and permutations (100 to 1,000,000).")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the resampling (0 to 2**32-1).")] = 0,
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help="Put side by side runs that differ in task version, problems, budget or prompt (marked †).")] = False,
    figures: Annotated[str, typer.Option(help="Figure files to write with --out: png, pdf, svg (any of them).")] = "png,pdf",
    langid: Annotated[bool, typer.Option(help="Identify response languages where no consistency probe ran.")] = True,
) -> None:
    """Tables of the study (per-language accuracy, Avg, Gen, ablations, consistency, probes) with
    95% paired-bootstrap intervals, as Markdown, LaTeX, CSV or one HTML page, plus figures."""
    from harness.core.config import check_fields
    from harness.report.requests import SUFFIXES, task_list

    request = ReportRequest(inputs=list(inputs), format=_names(format), out=out, base=base, reference=reference,
                            label=list(label), tasks=tasks, metric=metric, iterations=iterations, seed=seed,
                            allow_mismatch=allow_mismatch, figures=_names(figures), langid=langid)
    check_fields(request)  # before a run is read or a file written

    from harness.report.build import ReportOptions, build_report
    from harness.report.figures import make_figures
    from harness.report.render import render

    formats, out_dir = request.format, Path(out).expanduser() if out is not None else None
    options = ReportOptions(iterations=iterations, seed=seed, base=base, reference=reference, metric=metric,
                            tasks=task_list(tasks), allow_mismatch=allow_mismatch, labels=_labels(label),
                            langid=langid)
    built = build_report(request.inputs, options)
    if out_dir is not None or "html" in formats:
        make_figures(built, out_dir / "figures" if out_dir is not None else None, request.figures)
    if out_dir is None:
        for name in formats:
            typer.echo(render(built, name))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in formats:
        path = out_dir / f"report.{SUFFIXES[name]}"
        path.write_text(render(built, name), encoding="utf-8")
        typer.echo(f"{name}: {path}")
    (out_dir / "problems.csv").write_text(built.problems.to_csv(), encoding="utf-8")
    typer.echo(f"per-problem scores: {out_dir / 'problems.csv'}")
    for figure in built.figures:
        typer.echo(f"figure {figure.key}: " + ", ".join(str(p) for p in figure.paths.values()))


@app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="First eval run (A).")],
    b: Annotated[str, typer.Argument(help="Second eval run (B).")],
    base: Annotated[Optional[str], typer.Option(help="The base model's eval run, for Gen (default: A or B if untrained).")] = None,
    tasks: Annotated[Optional[str], typer.Option(help="Only these task families, a,b.")] = None,
    metric: Annotated[Optional[str], typer.Option(help="Per-problem metric (default: strict_acc, else the first found).")] = None,
    iterations: Annotated[int, typer.Option("--iterations", "-B", help="Bootstrap replicates and permutations (100 to 1,000,000).")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the resampling (0 to 2**32-1).")] = 0,
    p_value: Annotated[str, typer.Option("--p-value", help="permutation (paired, default) or bootstrap.")] = "permutation",
    label: Annotated[list[str], typer.Option("--label", help=_HELP_LABEL)] = [],
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help="Compare runs that differ in task version, problems, budget or prompt.")] = False,
) -> None:
    """Paired differences A - B per language, Avg and Gen, with 95% intervals and p-values."""
    from harness.core.config import check_fields
    from harness.report.requests import task_list

    request = CompareRequest(a=a, b=b, base=base, tasks=tasks, metric=metric, iterations=iterations, seed=seed,
                             p_value=p_value, label=list(label), allow_mismatch=allow_mismatch)
    check_fields(request)  # before a run is read

    from rich.console import Console
    from rich.table import Table

    from harness.report.build import ReportOptions, compare_runs
    from harness.report.render import _num, _p

    options = ReportOptions(iterations=iterations, seed=seed, base=base, metric=metric, tasks=task_list(tasks),
                            allow_mismatch=allow_mismatch, labels=_labels(label))
    comparisons, notes = compare_runs(a, b, options, p_value)
    console = Console()
    for note in notes:
        console.print(f"[yellow]mismatch:[/] {note}", highlight=False, soft_wrap=True)
    for c in comparisons:
        problems = sorted(set(c.problems.values()))
        table = Table(title=f"{c.family} ({c.metric}): A = {c.a}, B = {c.b}; {'/'.join(map(str, problems))} problems "
                            f"per language; {iterations:,} replicates; p: {p_value}", title_justify="left")
        for column in ("metric", "A %", "B %", "A - B", "95% interval", "p", ""):
            table.add_column(column)
        for d in c.differences:
            name = {"avg": "Avg", "gen": f"Gen (vs {c.base})"}.get(d.metric, d.metric)
            verdict = "" if d.distinguishable else "not distinguishable at 95%"
            table.add_row(name, _num(100 * d.a), _num(100 * d.b), _num(100 * d.diff, sign=True),
                          f"[{_num(100 * d.low, sign=True)}, {_num(100 * d.high, sign=True)}]", _p(d.p), verdict)
        console.print(table)


from dataclasses import fields as _fields  # noqa: E402 - pick-lang's own, beside its command

from harness.report.picklang import PickLangRequest  # noqa: E402

_PICK = PickLangRequest()  # the pick-lang defaults, with their bounds (harness.report.picklang)
_PICK_HELP = {f.name: f.metadata["help"] for f in _fields(PickLangRequest)}
declares("pick-lang", PickLangRequest, example=["--model", "tiny", "--candidates", "en,de", "--num-problems", "1",
                                                "--num-generations", "2", "--max-new-tokens", "4"])


@app.command("pick-lang")
def pick_lang(
    model: Annotated[str, typer.Option(help=_PICK_HELP["model"])] = _PICK.model,
    candidates: Annotated[str, typer.Option(help=_PICK_HELP["candidates"])] = ",".join(_PICK.candidates),
    base_eval: Annotated[Optional[Path], typer.Option("--base-eval", help=_PICK_HELP["base_eval"])] = None,
    num_problems: Annotated[int, typer.Option(help=_PICK_HELP["num_problems"])] = _PICK.num_problems,
    num_generations: Annotated[int, typer.Option(help=_PICK_HELP["num_generations"])] = _PICK.num_generations,
    max_new_tokens: Annotated[int, typer.Option(help=_PICK_HELP["max_new_tokens"])] = _PICK.max_new_tokens,
    data: Annotated[str, typer.Option(help=_PICK_HELP["data"])] = _PICK.data,
    backend: Annotated[str, typer.Option(help=_PICK_HELP["backend"])] = _PICK.backend,
    seed: Annotated[int, typer.Option(help=_PICK_HELP["seed"])] = _PICK.seed,
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help=_PICK_HELP["run_dir"])] = None,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
) -> None:
    """Rank candidate training languages by the base model's uncertainty in each (problem
    perplexity, self-similarity of sampled solutions, optionally accuracy headroom)."""
    from rich.console import Console

    from harness.report.picklang import print_ranking, run_pick_lang

    request = PickLangRequest(model=model, candidates=[c.strip() for c in candidates.split(",") if c.strip()],
                              base_eval=base_eval, num_problems=num_problems, num_generations=num_generations,
                              max_new_tokens=max_new_tokens, data=data, backend=backend, seed=seed, run_dir=run_dir,
                              mode="overwrite" if overwrite else "new")
    from harness.cli import common as cli

    run, result = run_pick_lang(request, cli.loaded_catalog().probes, cli.loaded_registry())
    print_ranking(Console(), result)
    typer.echo(f"pick-lang: {run.path / 'picklang.json'}")
