"""The probes' plots: matplotlib's object API on the Agg canvas (no pyplot state, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.core.literals import STUDY_LANGUAGES

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _wrap(title: str, width: int = 56) -> str:
    """Run names make long titles; wrapped, they stay inside the figure."""
    import textwrap

    return "\n".join(textwrap.wrap(title, width)) or title


def _colors(names: Sequence[str]) -> dict[str, tuple]:
    """A fixed color per language (study order), grey for undetermined, so plots agree."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    order = list(STUDY_LANGUAGES) + sorted(n for n in names if n not in STUDY_LANGUAGES and n != "und")
    colors = {name: cmap(i % 20) for i, name in enumerate(order)}
    colors["und"] = (0.6, 0.6, 0.6, 1.0)
    return colors


def stacked_shares(path: Path, title: str, shares: Mapping[str, Mapping[str, float]],
                   highlight: Mapping[str, float] | None = None) -> Path:
    """One bar per question language, split into the shares of each response language;
    ``highlight`` (question language -> value) is written above each bar."""
    rows = list(shares)
    parts = sorted({p for mix in shares.values() for p in mix},
                   key=lambda p: (p == "und", STUDY_LANGUAGES.index(p) if p in STUDY_LANGUAGES else 99, p))
    colors = _colors(parts)
    figure = _figure(max(4.0, 0.7 * len(rows) + 2.5), 3.8)
    ax = figure.add_subplot()
    bottom = np.zeros(len(rows))
    for part in parts:
        values = np.array([shares[row].get(part, 0.0) for row in rows])
        ax.bar(rows, values, bottom=bottom, color=colors[part], label=part, edgecolor="white", linewidth=0.5)
        bottom += values
    for x, row in enumerate(rows):
        if highlight and row in highlight:
            ax.text(x, 1.02, f"{highlight[row]:.0%}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("question language")
    ax.set_ylabel("share of response text")
    ax.set_title(_wrap(title), fontsize=10)
    ax.legend(title="response language", fontsize=7, title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.savefig(path, bbox_inches="tight")  # keep titles and outside legends whole
    return path


def bars(path: Path, title: str, series: Mapping[str, Mapping[str, float]], ylabel: str, *,
         log: bool = False) -> Path:
    """Grouped bars: x = language, one bar per series (e.g. responses vs problems)."""
    langs = list(dict.fromkeys(lang for values in series.values() for lang in values))
    figure = _figure(max(4.0, 0.6 * len(langs) * max(1, len(series)) / 1.5 + 2), 3.5)
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    x = np.arange(len(langs))
    for i, (name, values) in enumerate(series.items()):
        heights = [np.nan if values.get(lang) is None else values[lang] for lang in langs]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xticks(x, langs)
    ax.set_xlabel("language")
    ax.set_ylabel(ylabel)
    ax.set_title(_wrap(title), fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.savefig(path, bbox_inches="tight")  # keep titles and outside legends whole
    return path


def drift_scatter(path: Path, title: str, points: Mapping[str, np.ndarray], langs: Sequence[str],
                  axis_labels: tuple[str, str]) -> Path:
    """2-D projections of drift vectors: color = run, marker = problem language, + = the base."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    markers = {lang: MARKERS[i % len(MARKERS)] for i, lang in enumerate(dict.fromkeys(langs))}
    figure = _figure(6.0, 4.6)
    ax = figure.add_subplot()
    for r, (run, xy) in enumerate(points.items()):
        color = cmap(r % 10)
        for lang, marker in markers.items():
            mine = np.array([row for row, lg in zip(xy, langs) if lg == lang])
            if len(mine):
                ax.scatter(mine[:, 0], mine[:, 1], color=color, marker=marker, s=22, alpha=0.75)
        centroid = xy.mean(axis=0)
        ax.scatter(*centroid, color=color, marker="X", s=140, edgecolor="black", linewidth=0.8, label=f"{run} (centroid)")
    ax.scatter(0, 0, color="black", marker="+", s=160, label="base (no drift)")
    for lang, marker in markers.items():
        ax.scatter([], [], color="grey", marker=marker, label=lang)
    ax.axhline(0, color="grey", linewidth=0.4)
    ax.axvline(0, color="grey", linewidth=0.4)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(_wrap(title), fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.savefig(path, bbox_inches="tight")  # keep titles and outside legends whole
    return path
