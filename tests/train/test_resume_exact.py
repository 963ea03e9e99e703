"""A killed training resumed with --resume ends where an uninterrupted run ends: the same final
weights, the same metrics lines (none twice, none lost), the same result (timings aside).

Kill points: SIGKILL mid-training; a checkpoint torn by a kill while it was written; a kill
during the final save (every step done, the model not yet saved); and after the end (a finished
run is not resumed: it is refused)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HARNESS = str(Path(sys.executable).parent / "harness")
ARGS = ["train", "--plugin", "sft", "--model", "tiny", "--data", "toy_easy", "--lang", "en", "--num-problems", "40",
        "--batch-size", "4", "--micro-batch-size", "4", "--max-steps", "8", "--save-steps", "2",
        "--learning-rate", "1e-3", "--progress", "off"]
TIMING = ("runtime", "per_second")


def train(run: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([HARNESS, *ARGS, "--run-dir", str(run), *extra], capture_output=True, text=True,
                          timeout=900)


def weights(run: Path) -> dict:
    from safetensors.torch import load_file

    result = json.loads((run / "result.json").read_text())
    return load_file(str(run / result["model_path"] / "model.safetensors"))


def untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if not any(t in k for t in TIMING)}


def metrics(run: Path) -> list[dict]:
    return [untimed(json.loads(line)) for line in (run / "metrics.jsonl").read_text().splitlines()]


def result(run: Path) -> dict:
    data = json.loads((run / "result.json").read_text())
    return {**data, "metrics": untimed(data["metrics"])}


def assert_same_run(run: Path, reference: Path) -> None:
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
    assert metrics(run) == metrics(reference)
    assert result(run) == result(reference)
    mine, theirs = weights(run), weights(reference)
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert mine[name].equal(theirs[name]), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    proc = train(run)
    assert proc.returncode == 0, proc.stderr
    steps = [r["step"] for r in metrics(run) if "loss" in r and "train_loss" not in r]
    assert steps == list(range(1, 9))
    return run


def kill_after_step(run: Path, step: int) -> None:
    proc = subprocess.Popen([HARNESS, *ARGS, "--run-dir", str(run)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    log = run / "metrics.jsonl"
    while time.monotonic() < deadline:
        if log.is_file() and any(json.loads(line).get("step", 0) >= step for line in log.read_text().splitlines()[:-1]
                                 if line.strip()):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_mid_training_resumes_exactly(reference, tmp_path):
    run = tmp_path / "run"
    kill_after_step(run, 5)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "running"  # SIGKILL: nothing could record it; --resume may continue
    proc = train(run, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert_same_run(run, reference)


def test_a_checkpoint_torn_by_a_kill_is_passed_over(reference, tmp_path):
    run = tmp_path / "run"
    kill_after_step(run, 5)
    checkpoints = sorted((run / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    # What a kill while writing it leaves (trainer_state.json is written last); under load the kill
    # may already have landed mid-save and left the newest checkpoint just so.
    (checkpoints[-1] / "trainer_state.json").unlink(missing_ok=True)
    proc = train(run, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert_same_run(run, reference)


def test_killed_during_the_final_save_trains_no_extra_step(reference, tmp_path):
    run = tmp_path / "run"
    assert train(run).returncode == 0
    # Every step done and checkpointed, the final model not yet written, the manifest still running.
    for name in ("model", "result.json"):
        path = run / name
        subprocess.run(["rm", "-rf", str(path)], check=True)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    # A torn last metrics line, as a kill mid-write leaves it.
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 9, "lo')
    proc = train(run, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert_same_run(run, reference)
    assert json.loads((run / "result.json").read_text())["metrics"]["global_step"] == 8.0


def test_a_finished_run_is_not_resumed(reference, tmp_path):
    proc = train(reference, "--resume")
    assert proc.returncode == 2 and "already finished" in proc.stderr
