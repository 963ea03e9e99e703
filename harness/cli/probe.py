"""``harness probe``: mechanism probes on a model alone (they also run after ``harness eval --probes``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    OVERWRITE_HELP, app, console, declares, loaded_catalog, loaded_registry, make_table, reuse_mode,
)
from harness.core.config import check_fields, option
from harness.core.errors import UserError
from harness.core.hookspecs import ProbeOptions


@dataclasses.dataclass
class ProbeRequest:
    """What ``harness probe`` probes (how it samples: :class:`ProbeOptions`)."""

    names: str = option("", help="Probe(s) to run, comma-separated (see `harness ls probes`).", nonempty=True)
    model: str = option("tiny", help="Model alias, training run, eval run, path or hub id.", nonempty=True)
    base: str | None = option(None, help="The base model the studied one was trained from (drift).", nonempty=True)
    lang: list[str] = option([], help="Languages: de, or en,zh,de (default: all ten).")
    samples: str | None = option(None, help="An eval run: probe its responses and questions.", nonempty=True)
    compare: list[str] = option([], help="More trained models for drift, label=model (repeatable).")
    run_dir: str | None = option(None, help="Run directory (default: a new one under runs/).", nonempty=True)

    def check(self) -> None:
        pairs = [item.partition("=") for item in self.compare]
        if any(not sep or not label or not spec for label, sep, spec in pairs):
            raise UserError("--compare takes label=model, e.g. --compare rl_de=runs/train-grpo-de")


_DEFAULTS = ProbeOptions()  # the one set of probe defaults (harness.core.hookspecs)
_HELP = {f.name: f.metadata["help"] for cls in (ProbeOptions, ProbeRequest) for f in dataclasses.fields(cls)}
declares("probe", ProbeRequest, ProbeOptions, example=["perplexity", "--model", "tiny", "--lang", "en", "--num-problems", "1",
                                         "--num-generations", "1", "--max-new-tokens", "4"])


@app.command("probe")
def probe(
    names: Annotated[str, typer.Argument(help=_HELP["names"])],
    model: Annotated[str, typer.Option(help=_HELP["model"])] = "tiny",
    base: Annotated[Optional[str], typer.Option(help=_HELP["base"])] = None,
    lang: Annotated[list[str], typer.Option("--lang", "-l", help=_HELP["lang"])] = [],
    num_problems: Annotated[int, typer.Option(help=_HELP["num_problems"])] = _DEFAULTS.num_problems,
    num_generations: Annotated[int, typer.Option(help=_HELP["num_generations"])] = _DEFAULTS.num_generations,
    max_new_tokens: Annotated[int, typer.Option(help=_HELP["max_new_tokens"])] = _DEFAULTS.max_new_tokens,
    temperature: Annotated[float, typer.Option(help=_HELP["temperature"])] = _DEFAULTS.temperature,
    top_p: Annotated[float, typer.Option("--top-p", help=_HELP["top_p"])] = _DEFAULTS.top_p,
    backend: Annotated[str, typer.Option(help=_HELP["backend"])] = _DEFAULTS.backend,
    batch_size: Annotated[int, typer.Option(help=_HELP["batch_size"])] = _DEFAULTS.batch_size,
    seed: Annotated[int, typer.Option(help=_HELP["seed"])] = _DEFAULTS.seed,
    drift_basis: Annotated[str, typer.Option(help=_HELP["drift_basis"])] = _DEFAULTS.drift_basis,
    data: Annotated[str, typer.Option(help=_HELP["data"])] = _DEFAULTS.data,
    samples: Annotated[Optional[str], typer.Option(help=_HELP["samples"])] = None,
    compare: Annotated[list[str], typer.Option(help=_HELP["compare"])] = [],
    run_dir: Annotated[Optional[str], typer.Option("--run-dir", help=_HELP["run_dir"])] = None,
    overwrite: Annotated[bool, typer.Option(help=OVERWRITE_HELP)] = False,
) -> None:
    """Run mechanism probes on a model alone (they also run after `harness eval --probes`)."""
    from harness.plugins.probes.runner import parse_names, run_standalone

    request = ProbeRequest(names=names, model=model, base=base, lang=lang, samples=samples, compare=compare,
                           run_dir=run_dir)
    check_fields(request)  # before anything is loaded or created; the options are checked by run_standalone
    pairs = [item.partition("=") for item in compare]
    options = ProbeOptions(num_problems=num_problems, num_generations=num_generations, max_new_tokens=max_new_tokens,
                           temperature=temperature, top_p=top_p, backend=backend, batch_size=batch_size, seed=seed,
                           drift_basis=drift_basis, data=data)
    run, results = run_standalone(
        parse_names(names), model=model, base=base, languages=parse_names(lang) or None,
        samples_from=Path(samples) if samples else None, compare={label: spec for label, _, spec in pairs}, label=None,
        run_dir=Path(run_dir) if run_dir else None, probes=loaded_catalog().probes,
        registry=loaded_registry(), mode=reuse_mode(False, overwrite), options=options,
    )
    for name, result in results.items():
        rows = result.get("table") or []
        if not rows:
            console.print(f"[bold]{name}[/]: {result.get('skipped', 'no rows')}", highlight=False)
            continue
        table = make_table(name, *rows[0])
        for row in rows:
            table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
        console.print(f"[dim]{result.get('definition', '')}[/]", highlight=False)
    console.print(f"probes: {run.path / 'probes.json'}", highlight=False, soft_wrap=True)
