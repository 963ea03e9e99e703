"""The training curves of a run, as one PNG beside its metrics log."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

# Plotted when present, in this order (a stage prefix is kept in the panel title).
CURVES = ("loss", "reward", "accuracy", "mean_token_accuracy", "kl", "completions/mean_length")


def read_curves(metrics_path: Path) -> dict[str, tuple[list[float], list[float]]]:
    """``{"[stage/]name": (steps, values)}`` of the curves logged in a metrics JSONL."""
    from harness.core.rundir import read_jsonl  # a run log: missing or torn-tailed is fine

    curves: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for record in read_jsonl(metrics_path):
        step = record.get("step")
        if not isinstance(step, (int, float)):
            continue
        prefix = f"{record['stage']}/" if record.get("stage") else ""
        for key in CURVES:
            value = record.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                steps, values = curves[prefix + key]
                steps.append(step)
                values.append(float(value))
    return dict(curves)


def plot_training_curves(metrics_path: Path, out: Path) -> Path | None:
    """One panel per curve (loss, reward, accuracy, ...) against the optimizer step."""
    curves = read_curves(metrics_path)
    if not curves:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(curves)
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    figure = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    for i, name in enumerate(names):
        axis = figure.add_subplot(rows, cols, i + 1)
        steps, values = curves[name]
        axis.plot(steps, values, marker="." if len(steps) < 30 else None, linewidth=1.2)
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("optimizer step")
        axis.grid(alpha=0.3)
    figure.suptitle(f"Training curves: {metrics_path.parent.name}", fontsize=11)
    figure.savefig(out, dpi=110)
    return out
