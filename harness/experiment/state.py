"""What a cell's run directory says about it: status, duration, key metric, log."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

from harness.core.rundir import MANIFEST, RESULT

CELL_REFUSED = "logs/refused"
"""Written when a cell's command refused its settings before making its run directory (a user
error: one sentence in the cell log, exit code 2), so the cell shows as failed, not pending."""

# Cell states as shown: the run directory's status, plus the ones only the graph knows.
PENDING, RUNNING, DONE, FAILED, INTERRUPTED, BLOCKED, QUEUED = (
    "pending", "running", "done", "failed", "interrupted", "blocked", "queued")


def read_status(run_dir: Path) -> str | None:
    """The manifest's status (running, finished, failed, interrupted), or None when no run is there.

    A manifest that says running while no process holds the directory's lock belongs to a
    command that was killed outright (SIGKILL, a lost node): that run is interrupted.
    """
    try:
        status = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        return None
    if status == "running" and not is_locked(run_dir):
        return "interrupted"
    return status


def is_locked(run_dir: Path) -> bool:
    try:
        handle = open(run_dir / ".lock", "rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno in (errno.EAGAIN, errno.EACCES)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


@dataclass
class CellState:
    state: str
    seconds: float | None = None
    metric: str = ""


def cell_state(kind: str, run_dir: Path) -> CellState:
    status = read_status(run_dir)
    if status is None and (run_dir / CELL_REFUSED).is_file():
        status = "failed"  # refused before its run directory existed
    state = {None: PENDING, "running": RUNNING, "finished": DONE, "failed": FAILED,
             "interrupted": INTERRUPTED}.get(status, status or PENDING)
    return CellState(state, _seconds(run_dir), key_metric(kind, run_dir) if state == DONE else "")


def _seconds(run_dir: Path) -> float | None:
    try:
        manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
        start = dt.datetime.fromisoformat(manifest["started"])
    except (OSError, ValueError, KeyError):
        return None
    end = manifest.get("ended") if manifest.get("status") != "running" else None
    stop = dt.datetime.fromisoformat(end) if end else dt.datetime.now(dt.timezone.utc)
    return max(0.0, (stop - start).total_seconds())


def key_metric(kind: str, run_dir: Path) -> str:
    """One number per cell for tables: Gen (eval), mean accuracy (base), reward or loss (train)."""
    try:
        if kind == "train":
            metrics = json.loads((run_dir / RESULT).read_text(encoding="utf-8")).get("metrics") or {}
            for key in ("reward", "train_loss", "loss"):
                if isinstance(metrics.get(key), (int, float)):
                    return f"{key}={metrics[key]:.3g}"
        elif kind in ("eval", "base"):
            results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
            for family, score in sorted((results.get("gen") or {}).items()):
                if score.get("gen") is not None:
                    return f"Gen {family}={100 * score['gen']:.1f}"
            return _mean_accuracy(results)
        elif kind == "probe":
            probes = json.loads((run_dir / "probes.json").read_text(encoding="utf-8"))
            rows = (probes.get("consistency") or {}).get("table") or []
            values = [r["consistency"] for r in rows if isinstance(r.get("consistency"), (int, float))]
            return f"consistency={100 * sum(values) / len(values):.0f}%" if values else ", ".join(sorted(probes))
    except (OSError, ValueError, AttributeError):
        return ""
    return ""


def _mean_accuracy(results: dict) -> str:
    """The first accuracy-like number of the first task family (format owned by harness eval)."""
    for family, entry in sorted((results.get("families") or results.get("groups") or {}).items()):
        if isinstance(entry, dict):
            for key, value in entry.items():
                if "acc" in key and isinstance(value, (int, float)):
                    return f"{family} {key.split(',')[0]}={100 * value:.1f}"
    return ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
