"""The cells of a running experiment: a live rich table on a terminal, plain lines elsewhere
(SLURM logs, CI, a pipe), one line per change of state."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.experiment.graph import Experiment
from harness.experiment.state import DONE, cell_state, duration

COLOURS = {"done": "green", "running": "cyan", "queued": "blue", "failed": "red", "blocked": "yellow",
           "interrupted": "magenta"}


class Board:
    def __init__(self, exp: Experiment, names: list[str], console: Console):
        self.exp = exp
        self.names = names
        self.console = console
        self.states = {name: "pending" for name in names}
        self.metrics: dict[str, str] = {}
        self.notes: list[str] = []
        self.live = Live(self.render(), console=console, refresh_per_second=2, transient=False) \
            if console.is_terminal else None
        self.last_refresh = 0.0

    def __enter__(self) -> Board:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self.live.update(self.render())
            self.live.__exit__(*exc)

    def report(self, name: str, state: str) -> None:
        changed = self.states.get(name) != state
        self.states[name] = state
        cell = self.exp.cells[name]
        if changed and state == DONE:
            self.metrics[name] = cell_state(cell.kind, cell.run_dir).metric
        if self.live:
            if changed or time.monotonic() - self.last_refresh > 1:
                self.live.update(self.render())
                self.last_refresh = time.monotonic()
        elif changed:
            metric = f" {self.metrics[name]}" if self.metrics.get(name) else ""
            self.console.print(f"{time.strftime('%H:%M:%S')} {name} {state}{metric} ({cell.run_dir})",
                               highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.live:
            self.live.update(self.render())
        else:
            self.console.print(text, highlight=False, soft_wrap=True)

    def render(self) -> Table:
        table = Table(title=f"Experiment {self.exp.name}", title_justify="left")
        for column in ("cell", "state", "elapsed", "metric"):
            table.add_column(column)
        for name in self.names:
            cell, state = self.exp.cells[name], self.states[name]
            seconds = cell_state(cell.kind, cell.run_dir).seconds if state in ("running", "done", "failed") else None
            colour = COLOURS.get(state, "white")
            table.add_row(name, f"[{colour}]{state}[/]", duration(seconds), self.metrics.get(name, ""))
        if self.notes:
            table.caption = self.notes[-1]
        return table
