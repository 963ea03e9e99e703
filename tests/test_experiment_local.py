"""harness experiment run, locally, end to end: a reduced toy grid really trains, evaluates (with
Gen) and probes; a failing cell blocks only its dependants; a rerun runs nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import harness_with, write_registry


def reduced_registry(tmp_path: Path) -> Path:
    """The project's registry with a reduced toy grid (German only, a few steps) and a paradigm
    recipe whose batch size the tiny model's micro-batch cannot divide: that cell fails."""
    def edit(registry: dict) -> None:
        registry["paradigms"]["sft_broken"] = {"plugin": "sft", "defaults": {"batch_size": 24, "micro_batch_size": 16}}
        toy = registry["experiments"]["smoke"]
        registry["experiments"] = {"toy_reduced": {
            **toy, "paradigms": ["sft", "sft_broken"], "languages": ["de"],
            "eval": {"limit": 2, "max_gen_toks": 16},
            "probes": {"names": ["consistency", "drift"], "languages": ["de"], "num_problems": 2, "num_generations": 2,
                       "max_new_tokens": 16},
            "train_args": {"sft": {"max_steps": 4, "learning_rate": 1.0e-3, "batch_size": 16}},
        }}

    return write_registry(tmp_path, edit)


def harness(registry: Path, *args: str) -> subprocess.CompletedProcess:
    return harness_with(registry, *args, timeout=600)


@pytest.mark.slow
def test_reduced_toy_experiment_end_to_end(tmp_path):
    registry, root = reduced_registry(tmp_path), tmp_path / "exps"
    first = harness(registry, "experiment", "run", "toy_reduced", "--root", str(root))
    assert first.returncode == 1, first.stdout + first.stderr
    plan = json.loads(harness(registry, "experiment", "plan", "toy_reduced", "--json", "--root", str(root)).stdout)
    cells = {c["name"]: Path(c["run_dir"]) for c in plan["cells"]}
    status = {name: json.loads((d / "manifest.json").read_text())["status"] for name, d in cells.items()
              if (d / "manifest.json").is_file()}
    # The broken recipe is refused before its run directory exists: the cell holds only its log.
    assert status == {"base-tiny": "finished", "train-sft-de": "finished", "eval-sft-de": "finished",
                      "probe-sft-de": "finished"}
    assert sorted(p.name for p in cells["train-sft_broken-de"].iterdir()) == ["logs"]
    # The summary names the failure and its log, and what it blocked.
    broken_log = cells["train-sft_broken-de"] / "logs" / "cell.log"
    assert f"failed: train-sft_broken-de (log: {broken_log})" in first.stderr
    assert "must be a multiple of micro_batch_size" in broken_log.read_text()
    assert "blocked: eval-sft_broken-de (needs train-sft_broken-de)" in first.stderr
    assert "blocked: probe-sft_broken-de" in first.stderr
    assert not cells["eval-sft_broken-de"].exists()

    # Every finished cell holds what its command writes.
    train = cells["train-sft-de"]
    assert (train / json.loads((train / "result.json").read_text())["model_path"] / "config.json").is_file()
    steps = [r["step"] for r in map(json.loads, (train / "metrics.jsonl").read_text().splitlines()) if "loss" in r]
    assert steps == [1, 2, 3, 4]
    evaluation = json.loads((cells["eval-sft-de"] / "results.json").read_text())
    assert evaluation["gen"]["toy_xling"]["base_acc"].keys() >= {"de", "en"}
    assert json.loads((cells["base-tiny"] / "results.json").read_text()).get("gen") is None
    probes = json.loads((cells["probe-sft-de"] / "probes.json").read_text())
    assert {"consistency", "drift"} <= set(probes)
    for name in ("base-tiny", "train-sft-de", "eval-sft-de", "probe-sft-de"):
        assert (cells[name] / "logs" / "cell.log").stat().st_size > 0

    # A rerun of the good cells runs nothing: no manifest is touched.
    before = {n: (d / "manifest.json").stat().st_mtime_ns for n, d in cells.items() if n in status}
    started = time.perf_counter()
    again = harness(registry, "experiment", "run", "toy_reduced", "--only", "*-sft-de", "--root", str(root))
    assert again.returncode == 0, again.stderr
    assert time.perf_counter() - started < 30
    assert "4 done" in again.stdout and "running" not in again.stdout
    assert {n: (cells[n] / "manifest.json").stat().st_mtime_ns for n in before} == before

    shown = harness(registry, "experiment", "status", "toy_reduced", "--root", str(root))
    assert shown.returncode == 0
    rows = {line.split()[1]: line for line in shown.stdout.splitlines() if line.startswith("│")}
    assert "done" in rows["train-sft-de"] and "failed" in rows["train-sft_broken-de"]
    assert "blocked" in rows["eval-sft_broken-de"]
    assert "4/7 cells done" in shown.stdout


@pytest.mark.slow
def test_sigterm_stops_the_running_cell_which_records_itself_interrupted(tmp_path):
    def edit(registry: dict) -> None:
        toy = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        registry["experiments"] = {"toy_stop": {
            **toy, "paradigms": ["sft"], "languages": ["de"], "eval": {"limit": 1, "max_gen_toks": 8},
            "train_args": {"sft": {"max_steps": 2000, "save_steps": 10_000, "learning_rate": 1.0e-3,
                                   "batch_size": 16}},
        }}

    registry, root = write_registry(tmp_path, edit), tmp_path / "exps"
    plan = json.loads(harness(registry, "experiment", "plan", "toy_stop", "--json", "--root", str(root)).stdout)
    train = next(Path(c["run_dir"]) for c in plan["cells"] if c["name"] == "train-sft-de")
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "--registry", str(registry), "experiment", "run",
                             "toy_stop", "--root", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        metrics = train / "metrics.jsonl"
        if metrics.is_file() and '"loss"' in metrics.read_text():
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the experiment ended before its training cell trained a step"
    holder = int((train / ".lock").read_text().split()[1])  # "PID <n> (<command>)"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)

    assert proc.returncode == 143, out + err
    assert "stopped by SIGTERM" in err and "harness experiment run toy_stop` again continues them" in err
    assert json.loads((train / "manifest.json").read_text())["status"] == "interrupted"
    with pytest.raises(ProcessLookupError):  # the cell's command ended with the run, no orphan left
        os.kill(holder, 0)
    evaluation = next(Path(c["run_dir"]) for c in plan["cells"] if c["name"] == "eval-sft-de")
    assert not evaluation.exists()  # cells after the stop were not started
