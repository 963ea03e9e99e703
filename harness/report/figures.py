"""The report's figures (matplotlib, Agg backend): grouped bars with interval whiskers, a language x
setup heatmap of the gain over the base, and the drift scatter. Each is written as PNG and as
PDF/SVG, labelled with setup names and languages as a reader sees them in the tables."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.report import stats
from harness.report.build import Figure, Report
from harness.report.layouts import FamilyResult, drift_of, drift_runs
from harness.report.requests import FIGURE_FORMATS  # noqa: F401  (declared with the options)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window, works without a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, key: str, title: str, caption: str, out: Path | None, formats: Sequence[str]) -> Figure:
    figure = Figure(key, title, caption)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    figure.png = buffer.getvalue()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            path = out / f"{key}.{fmt}"
            if fmt == "png":
                path.write_bytes(figure.png)
            else:
                fig.savefig(path, format=fmt, bbox_inches="tight")
            figure.paths[fmt] = path
    _pyplot().close(fig)
    return figure


def _colors(plt, setups: Sequence[str]) -> dict[str, tuple]:
    cycle = plt.get_cmap("tab10" if len(setups) <= 10 else "tab20").colors
    return {setup: cycle[i % len(cycle)] for i, setup in enumerate(setups)}


def _errors(points: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """Whisker lengths below and above each point (0 where an interval is missing)."""
    below, above = np.nan_to_num(points - lows), np.nan_to_num(highs - points)
    return np.vstack([np.maximum(below, 0), np.maximum(above, 0)])


def _summary(result: FamilyResult, setup: str, metric: str) -> tuple[float, float, float]:
    point, samples = result.reps.samples(setup, metric)
    low, high = stats.interval(samples)
    return 100 * point, 100 * low, 100 * high


def bars(result: FamilyResult, out: Path | None, formats: Sequence[str]) -> Figure:
    plt = _pyplot()
    langs, setups = result.reps.languages, result.setups
    columns = langs + ["Avg"]
    with_gen = result.base is not None
    fig, axes = plt.subplots(1, 2 if with_gen else 1, figsize=(max(6.0, 0.75 * len(columns) * max(1, len(setups) / 3)) + 2, 3.8),
                             gridspec_kw={"width_ratios": [len(columns), 1.6]} if with_gen else None, squeeze=False)
    width = 0.8 / len(setups)
    palette = _colors(plt, setups)
    colors = [palette[s] for s in setups]
    for i, setup in enumerate(setups):
        values = np.array([_summary(result, setup, c if c != "Avg" else "avg") for c in columns])
        x = np.arange(len(columns)) + (i - (len(setups) - 1) / 2) * width
        axes[0, 0].bar(x, values[:, 0], width, yerr=_errors(*values.T), capsize=2, label=setup,
                       color=colors[i % len(colors)], error_kw={"elinewidth": 0.8})
    if with_gen:
        gen = np.array([_summary(result, setup, "gen") for setup in setups])
        axes[0, 1].bar(np.arange(len(setups)), gen[:, 0], 0.8, yerr=_errors(*gen.T), capsize=2,
                       color=[colors[i % len(colors)] for i in range(len(setups))])
    axes[0, 0].set_xticks(np.arange(len(columns)), columns)
    axes[0, 0].set_ylabel(f"{result.data.metric} (%)")
    axes[0, 0].set_ylim(0, 100)  # accuracy on its full scale, so near-zero setups read as such
    axes[0, 0].set_title(f"{result.family}: accuracy per question language")
    axes[0, 0].legend(fontsize=8, ncol=min(4, len(setups)), loc="upper left", bbox_to_anchor=(0, -0.12), frameon=False)
    if with_gen:
        axes[0, 1].set_xticks(range(len(setups)), setups, rotation=45, ha="right", fontsize=8)
        axes[0, 1].axhline(0, color="black", linewidth=0.6)
        low, high = axes[0, 1].get_ylim()
        axes[0, 1].set_ylim(min(low, 0.0), max(high, 10.0))
        axes[0, 1].set_title(f"Gen vs {result.base} (%)")
    fig.tight_layout()
    return _save(fig, f"bars_{result.family}", f"{result.family}: accuracy and Gen per setup",
                 "Bars: point estimates; whiskers: 95% paired-bootstrap intervals.", out, formats)


def heatmap(result: FamilyResult, out: Path | None, formats: Sequence[str]) -> Figure | None:
    """Gain over the base (percentage points) per setup and question language."""
    if result.base is None or len(result.setups) < 2:
        return None
    plt = _pyplot()
    setups = [s for s in result.setups if s != result.base]
    columns = result.reps.languages + ["avg"]
    gain = np.zeros((len(setups), len(columns)))
    unclear = np.zeros_like(gain, dtype=bool)
    for i, setup in enumerate(setups):
        for j, column in enumerate(columns):
            (pa, sa), (pb, sb) = result.reps.samples(setup, column), result.reps.samples(result.base, column)
            low, high = stats.interval(sa - sb)
            gain[i, j], unclear[i, j] = 100 * (pa - pb), low <= 0 <= high
    limit = max(1.0, float(np.abs(gain).max()))
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(columns), 1.2 + 0.45 * len(setups)))
    image = ax.imshow(gain, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(len(setups)):
        for j in range(len(columns)):
            ax.text(j, i, f"{gain[i, j]:+.1f}" + ("°" if unclear[i, j] else ""), ha="center", va="center", fontsize=8,
                    color="black" if abs(gain[i, j]) < 0.6 * limit else "white")
    ax.set_xticks(range(len(columns)), [c if c != "avg" else "Avg" for c in columns])
    ax.set_yticks(range(len(setups)), setups)
    ax.set_title(f"{result.family}: gain over {result.base} (points; ° = interval covers 0)", fontsize=10)
    fig.colorbar(image, ax=ax, label="accuracy gain (points)")
    fig.tight_layout()
    return _save(fig, f"heatmap_{result.family}", f"{result.family}: gain over {result.base}",
                 "Accuracy gain over the base in points; ° marks gains whose 95% paired interval covers 0.",
                 out, formats)


def drift_scatter(report: Report, out: Path | None, formats: Sequence[str]) -> Figure | None:
    """Drift spread of each setup (x) against its Avg (y, with its interval), first family."""
    result = report.results[0]
    points = [(run.label, name, drift_of(run)["spread"]) for name, run in drift_runs(report.runs).items()
              if run.label in result.setups]
    if not points:
        return None
    plt = _pyplot()
    colors = _colors(plt, result.setups)  # the same colour per setup as in the bar chart
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, name, spread in points:
        avg = np.array([_summary(result, label, "avg")])
        ax.errorbar([spread], avg[:, 0], yerr=_errors(*avg.T), fmt="o", capsize=3, label=name, color=colors[label])
    ax.legend(fontsize=8, frameon=False)  # a legend, not annotations: close points would overlap
    ax.set_xlabel("drift spread (mean distance to the drift centroid)")
    ax.set_ylabel(f"{result.family} Avg (%)")
    ax.set_title("Representation drift vs accuracy")
    fig.tight_layout()
    return _save(fig, "drift_scatter", "Drift spread against Avg",
                 f"Each setup's drift spread from the base and its {result.family} Avg with its 95% interval.",
                 out, formats)


def make_figures(report: Report, out: Path | None, formats: Sequence[str] = ("png", "pdf")) -> list[Figure]:
    figures: list[Figure | None] = []
    for result in report.results:
        figures += [bars(result, out, formats), heatmap(result, out, formats)]
    figures.append(drift_scatter(report, out, formats))
    report.figures = [f for f in figures if f is not None]
    return report.figures
