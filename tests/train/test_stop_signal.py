"""SIGUSR1, checkpoint and stop: a training finishes its current optimizer step, saves a checkpoint
at that step and ends ``interrupted`` (exit code 138); ``--resume`` continues from that very step
and ends where an uninterrupted run ends (the same metrics, result and weights, bit for bit).

Also: SIGUSR1 outside the training loop stops a command like SIGTERM; the processes of a
multi-process training agree on the step to stop at (a gloo group of two, and ``harness train
--num-processes 2`` end to end); and an experiment cell warned of its SLURM
time limit (submitit's SIGUSR2, simulated here) passes SIGUSR1 on to its training and waits for the
checkpoint before the job is requeued (tests/test_experiment_slurm.py does it on a real SLURM)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.train.test_resume_exact import assert_same_run

HARNESS = str(Path(sys.executable).parent / "harness")
STEPS = 20
ARGS = ["train", "--plugin", "sft", "--model", "tiny", "--data", "toy_easy", "--lang", "en", "--num-problems", "40",
        "--batch-size", "4", "--micro-batch-size", "4", "--max-steps", str(STEPS), "--save-steps", "1000",
        "--logging-steps", "1", "--learning-rate", "1e-3", "--progress", "off"]
"""No checkpoint of its own before the end (save_steps 1000): any checkpoint-N is the stop's."""


def logged_steps(run: Path) -> list[int]:
    path = run / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [json.loads(line)["step"] for line in lines if line.endswith("}") and '"loss"' in line
            and '"train_loss"' not in line]


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stopped_after_three_steps(args: list[str], run: Path) -> tuple[subprocess.Popen, str]:
    """``harness <args> --run-dir run``, sent SIGUSR1 once it has logged three steps; the ended
    process and its stderr."""
    proc = subprocess.Popen([HARNESS, *args, "--run-dir", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_for(lambda: len(logged_steps(run)) >= 3 or proc.poll() is not None, 600, "three steps")
        proc.send_signal(signal.SIGUSR1)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    return proc, err


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    proc = subprocess.run([HARNESS, *ARGS, "--run-dir", str(run)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert logged_steps(run) == list(range(1, STEPS + 1))
    return run


@pytest.mark.slow
def test_sigusr1_checkpoints_the_step_it_stopped_at_and_resume_is_exact(reference, tmp_path):
    run = tmp_path / "run"
    proc, err = stopped_after_three_steps(ARGS, run)
    assert proc.returncode == 128 + signal.SIGUSR1, err
    assert "stopped by SIGUSR1" in err

    stopped_at = logged_steps(run)[-1]
    assert 3 <= stopped_at < STEPS and logged_steps(run) == list(range(1, stopped_at + 1))
    assert f"SIGUSR1: a checkpoint at step {stopped_at}, then stop" in err
    assert [p.name for p in (run / "checkpoints").iterdir()] == [f"checkpoint-{stopped_at}"]
    state = json.loads((run / "checkpoints" / f"checkpoint-{stopped_at}" / "trainer_state.json").read_text())
    assert state["global_step"] == stopped_at
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["signal"] == "SIGUSR1"
    assert not (run / "model").exists() and not (run / "result.json").exists()  # no final model saved

    resumed = subprocess.run([HARNESS, *ARGS, "--run-dir", str(run), "--resume"], capture_output=True, text=True,
                             timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(run, reference)  # every step logged once, the same final loss, the same weights
    assert "resuming from" in (run / "logs" / "harness.log").read_text()


@pytest.mark.slow
def test_two_processes_stop_at_one_step_and_resume(tmp_path):
    """``harness train --num-processes 2``: SIGUSR1 to the launching command (which passes it on to
    each rank) stops both ranks at one step, with one checkpoint holding both ranks' states."""
    run = tmp_path / "run"
    args = [*ARGS, "--num-processes", "2", "--strategy", "multi_gpu", "--micro-batch-size", "2"]
    proc, err = stopped_after_three_steps(args, run)
    assert proc.returncode == 128 + signal.SIGUSR1, err
    stopped_at = logged_steps(run)[-1]
    assert stopped_at < STEPS and [p.name for p in (run / "checkpoints").iterdir()] == [f"checkpoint-{stopped_at}"]
    checkpoint = run / "checkpoints" / f"checkpoint-{stopped_at}"
    assert (checkpoint / "rng_state_0.pth").is_file() and (checkpoint / "rng_state_1.pth").is_file()
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"

    resumed = subprocess.run([HARNESS, *args, "--run-dir", str(run), "--resume"], capture_output=True, text=True,
                             timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    assert logged_steps(run) == list(range(1, STEPS + 1))


def test_sigusr1_outside_training_stops_like_sigterm(tmp_path):
    from harness.core.rundir import Terminated, run_lifecycle

    before = signal.getsignal(signal.SIGUSR1)
    with pytest.raises(Terminated) as stopped:
        with run_lifecycle("train", "x", path=tmp_path / "run"):
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(5)  # the handler raises at once
    assert stopped.value.signal == "SIGUSR1" and stopped.value.exit_code == 138
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["signal"] == "SIGUSR1"
    assert signal.getsignal(signal.SIGUSR1) is before


def _stop_step(rank: int, requested_by: int | None, init: str, out: str) -> None:
    """One process of a two-process group: steps 1 to 6, with a stop requested on rank
    ``requested_by`` (None: no rank) during step 3; writes the step it stopped at."""
    import torch.distributed as dist
    from transformers import TrainerControl, TrainerState

    from harness.trainers.callbacks import CheckpointAndStop

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    callback, args = CheckpointAndStop(), SimpleNamespace(device="cpu")
    state = TrainerState(max_steps=6, is_world_process_zero=rank == 0)
    for step in range(1, 7):
        if step == 3 and rank == requested_by:
            callback.request()
        state.global_step = step
        control = TrainerControl()
        callback.on_step_end(args, state, control)
        if control.should_training_stop:
            assert control.should_save and control.should_log
            break
    Path(out, str(rank)).write_text(json.dumps(callback.stopped_at))
    dist.destroy_process_group()


@pytest.mark.parametrize("requested_by", [1, None])
def test_the_processes_of_a_training_stop_at_the_same_step(tmp_path, requested_by):
    import torch.multiprocessing as mp

    mp.spawn(_stop_step, args=(requested_by, f"file://{tmp_path / 'rendezvous'}", str(tmp_path)), nprocs=2)
    stopped = [json.loads((tmp_path / str(rank)).read_text()) for rank in (0, 1)]
    assert stopped == ([3, 3] if requested_by is not None else [None, None])


def test_a_stop_asked_for_in_the_last_step_lets_the_training_finish():
    from transformers import TrainerControl, TrainerState

    from harness.trainers.callbacks import CheckpointAndStop

    callback, control = CheckpointAndStop(), TrainerControl()
    callback.request()
    callback.on_step_end(SimpleNamespace(device="cpu"), TrainerState(max_steps=5, global_step=5), control)
    assert callback.stopped_at is None and not control.should_save and not control.should_training_stop


# --- an experiment cell warned of its time limit --------------------------------------------------------


def test_a_cell_command_starts_with_the_slurm_warning_and_the_stop_ignored():
    """SLURM signals every process of a job: the command must not die of submitit's SIGUSR2, nor a
    launcher between the cell and its training processes of SIGUSR1 (which harness train handles)."""
    from harness.experiment.cells import CHECKPOINT_AND_STOP, SLURM_WARNING, _ignored_by_children

    def handler(signum, frame):
        pass

    report = ("import signal; print([signal.getsignal(s) == signal.SIG_IGN for s in ({}, {})], "
              "signal.pthread_sigmask(signal.SIG_BLOCK, []))").format(int(SLURM_WARNING), int(CHECKPOINT_AND_STOP))
    previous = signal.signal(SLURM_WARNING, handler)
    try:
        with _ignored_by_children(SLURM_WARNING, CHECKPOINT_AND_STOP):
            child = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True, timeout=60)
        assert child.stdout.strip() == "[True, True] set()"  # ignored, not blocked: a handler set later works
        assert signal.getsignal(SLURM_WARNING) is handler  # this process keeps its own
    finally:
        signal.signal(SLURM_WARNING, previous)


@pytest.mark.slow
def test_a_warned_cell_job_checkpoints_its_training_before_the_requeue(tmp_path):
    """What submitit does on the warning, without SLURM: its SIGUSR2 handler (main thread, while
    run_cell waits for the command) calls CellJob.checkpoint, then requeues and exits. The
    training must have saved its checkpoint and ended by the time checkpoint returns."""
    from harness.experiment.cells import STOPPING, CellJob, run_cell
    from harness.experiment.state import CELL_REFUSED

    run = tmp_path / "cell"
    argv = [*ARGS[:ARGS.index("--max-steps") + 1], "5000", *ARGS[ARGS.index("--max-steps") + 2:], "--run-dir", str(run)]
    spec = {"name": "train-sft-en", "kind": "train", "argv": argv, "run_dir": str(run), "env": {}, "gpus": 0}
    seen: dict = {}

    class Requeued(Exception):
        pass

    def submitit_handler(signum, frame):
        seen["checkpoint"] = CellJob(stop_wait_s=120).checkpoint(spec)
        seen["steps"] = logged_steps(run)
        seen["checkpoints"] = sorted(p.name for p in (run / "checkpoints").iterdir())
        seen["status"] = json.loads((run / "manifest.json").read_text())["status"]
        raise Requeued  # submitit: scontrol requeue, then sys.exit

    def warn_after_three_steps():
        wait_for(lambda: len(logged_steps(run)) >= 3, 600, "three steps")
        os.kill(os.getpid(), signal.SIGUSR2)

    previous = signal.signal(signal.SIGUSR2, submitit_handler)
    STOPPING.clear()
    try:
        threading.Thread(target=warn_after_three_steps, daemon=True).start()
        with pytest.raises(Requeued):
            run_cell(spec)
    finally:
        signal.signal(signal.SIGUSR2, previous)
        STOPPING.clear()
        _kill_children()
    stopped_at = seen["steps"][-1]
    assert seen["checkpoints"] == [f"checkpoint-{stopped_at}"] and seen["status"] == "interrupted"
    assert seen["checkpoint"].args == (spec,)  # the requeued job runs the cell again: with --resume
    log = (run / "logs" / "cell.log").read_text()
    assert f"SIGUSR1: a checkpoint at step {stopped_at}, then stop" in log and "stopped by SIGUSR1" in log
    assert not (run / CELL_REFUSED).exists()


def _kill_children() -> None:
    """The cell command this test started, if it outlived the test (a stop that did not work)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        if "harness.cli" in " ".join(child.cmdline()):
            child.kill()
