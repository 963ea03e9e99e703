"""``harness train --num-processes 2``: the training runs as 2 CPU processes under accelerate (DDP
over gloo), through the real CLI, and equals the 1-process run where the maths says it must.

- SFT: with the same global batch, seed and data, the logged losses of 2 processes match 1
  process's (what differs is the order of float sums: gradients are all-reduced across processes
  instead of accumulated in one);
- GRPO: each rollout's prompts are split across the processes, each prompt's group of
  completions drawn once in all, no prompt of the epoch left out or drawn twice;
- a run of 2 processes killed mid-training resumes in 2 processes bit for bit, and in 1 process
  with every step logged once;
- rank 0 alone writes the run's records; the other rank only trains.
"""

from __future__ import annotations

import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HARNESS = str(Path(sys.executable).parent / "harness")
SFT_SETTINGS = {"--batch-size": "8", "--micro-batch-size": "2", "--max-steps": "8", "--save-steps": "2",
                "--logging-steps": "1", "--learning-rate": "1e-3", "--progress": "off"}


def sft(**changes: str) -> list[str]:
    """The SFT command of these tests; ``max_steps="400"`` changes ``--max-steps``."""
    settings = {**SFT_SETTINGS, **{"--" + k.replace("_", "-"): v for k, v in changes.items()}}
    return ["train", "--plugin", "sft", "--model", "tiny", "--data", "toy_easy", "--lang", "en,de", "--num-problems",
            "40", *[x for pair in settings.items() for x in pair]]


SFT = sft()
TIMING = ("runtime", "per_second")


def train(run: Path, *extra: str, args: list[str] = SFT) -> subprocess.CompletedProcess:
    proc = subprocess.run([HARNESS, *args, "--run-dir", str(run), *extra], capture_output=True, text=True, timeout=900)
    return proc


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def losses(run: Path) -> dict[int, float]:
    steps = [r for r in records(run) if "loss" in r and "train_loss" not in r]
    assert len({r["step"] for r in steps}) == len(steps), "a step logged twice"
    return {r["step"]: r["loss"] for r in steps}


def weights(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run / "model" / "model.safetensors"))


@pytest.fixture(scope="module")
def one(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("one") / "run"
    proc = train(run)
    assert proc.returncode == 0, proc.stderr
    return run


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    run = tmp_path_factory.mktemp("two") / "run"
    proc = train(run, "--num-processes", "2")
    assert proc.returncode == 0, proc.stderr
    return run, proc


def test_two_processes_log_the_losses_of_one(one, two):
    run, _ = two
    mine, reference = losses(run), losses(one)
    assert sorted(mine) == list(range(1, 9)) == sorted(reference)
    for step in range(1, 6):
        assert mine[step] == pytest.approx(reference[step], rel=1e-4), step


def test_rank_zero_alone_writes_the_run(two):
    run, proc = two
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["processes"] == 2
    # One record of each event (a second writer would double them), one line of the result.
    events = [r["event"] for r in records(run) if "event" in r]
    assert events and len(events) == len(set(events))
    assert (run / "training_curves.png").is_file() and (run / "result.json").is_file()
    assert proc.stdout.count("done final model") == 1
    assert "(2 processes)" in proc.stdout
    # Both processes saved their random state into each checkpoint: a resume restores both.
    assert {p.name for p in (run / "checkpoints" / "checkpoint-8").glob("rng_state*")} == {"rng_state_0.pth",
                                                                                          "rng_state_1.pth"}


def _kill_tree(pid: int) -> None:
    """SIGKILL a launch and every process under it (the ranks run in sessions of their own)."""
    import psutil

    parent = psutil.Process(pid)
    for proc in [*parent.children(recursive=True), parent]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def kill_after_step(run: Path, step: int, *extra: str) -> None:
    proc = subprocess.Popen([HARNESS, *SFT, "--run-dir", str(run), *extra], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    log = run / "metrics.jsonl"
    while time.monotonic() < deadline and proc.poll() is None:
        lines = log.read_text().splitlines()[:-1] if log.is_file() else []
        if any(json.loads(line).get("step", 0) >= step for line in lines if line.strip()):
            break
        time.sleep(0.05)
    _kill_tree(proc.pid)
    proc.wait()


@pytest.mark.parametrize("processes", [2, 1])
def test_a_killed_two_process_run_resumes(two, tmp_path, processes):
    reference, _ = two
    run = tmp_path / "run"
    kill_after_step(run, 5, "--num-processes", "2")
    assert json.loads((run / "manifest.json").read_text())["status"] == "running"
    proc = train(run, "--resume", "--num-processes", str(processes))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
    mine, theirs = losses(run), losses(reference)
    assert sorted(mine) == list(range(1, 9))  # no step lost, none twice
    if processes == 2:  # the same processes: the same sums, bit for bit
        assert mine == theirs
        for name, tensor in weights(run).items():
            assert tensor.equal(weights(reference)[name]), name
    else:  # the same batches, summed in another order
        for step in range(1, 9):
            assert mine[step] == pytest.approx(theirs[step], rel=1e-4), step


@pytest.mark.parametrize("strategy", ["fsdp1", "fsdp2"])
def test_fsdp_shards_the_model_over_cpu_processes(one, tmp_path, strategy):
    """FSDP over gloo: each process holds half the parameters; the losses are the 1-process ones."""
    run = tmp_path / "run"
    proc = train(run, "--num-processes", "2", "--strategy", strategy, args=sft(save_steps="1000"))
    assert proc.returncode == 0, proc.stderr
    mine, reference = losses(run), losses(one)
    assert sorted(mine) == list(range(1, 9))
    for step in mine:
        assert mine[step] == pytest.approx(reference[step], rel=1e-4), step
    assert json.loads((run / "manifest.json").read_text())["strategy"] == strategy
    assert set(weights(run)) == set(weights(one))  # the final model is saved whole


GRPO = ["train", "--plugin", "grpo", "--model", "tiny", "--data", "toy_easy", "--lang", "en,de", "--num-problems", "8",
        "--prompts-per-rollout", "4", "--num-generations", "4", "--updates-per-rollout", "2", "--micro-batch-size", "2",
        "--max-completion-length", "12", "--num-train-epochs", "1", "--logging-steps", "1", "--progress", "off",
        "--log-rollout-prompts", "true"]


def test_grpo_rollouts_are_split_across_processes(tmp_path):
    run = tmp_path / "run"
    proc = train(run, "--num-processes", "2", args=GRPO)
    assert proc.returncode == 0, proc.stderr
    rollouts = [r for r in records(run) if r.get("event") == "rollout_prompts"]
    # 16 prompts (8 problems in 2 languages), 4 per rollout: 4 rollouts of 2 updates each.
    assert [r["step"] for r in rollouts] == [1, 3, 5, 7]
    epoch = collections.Counter()
    for rollout in rollouts:
        shares = rollout["by_process"]
        assert len(shares) == 2 and len(shares[0]) == len(shares[1]) == 4 * 4 // 2  # each process half the completions
        drawn = collections.Counter(shares[0] + shares[1])
        assert len(drawn) == 4 and set(drawn.values()) == {4}  # 4 prompts, each's group of 4 drawn once in all
        epoch.update(drawn.keys())
    expected = {f"{lang}:toy_easy-train-0-{i:05d}" for lang in ("en", "de") for i in range(8)}
    assert set(epoch) == expected and set(epoch.values()) == {1}  # the epoch: every prompt once


def test_the_launch_module_prints_the_same_run(two, tmp_path):
    """``python -m harness.train.launch --cpu`` prints the accelerate command; run verbatim, it
    trains the run --num-processes 2 trains."""
    reference, _ = two
    run = tmp_path / "run"
    printed = subprocess.run([sys.executable, "-m", "harness.train.launch", "--gpus", "2", "--cpu", "--",
                              *SFT[1:], "--run-dir", str(run)], capture_output=True, text=True, check=True).stdout
    [line] = printed.splitlines()
    argv = shlex.split(line)
    env = dict(os.environ)
    while "=" in argv[0]:
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert losses(run) == losses(reference)


def test_a_stop_signal_reaches_the_processes(tmp_path):
    """SIGTERM to the launching command stops its processes; rank 0 records the run interrupted
    and the command says so (exit 128 + 15)."""
    run = tmp_path / "run"
    proc = subprocess.Popen([HARNESS, *sft(max_steps="400", save_steps="1000"), "--run-dir", str(run),
                             "--num-processes", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (run / "metrics.jsonl").is_file():
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"


def test_refusals_come_before_any_process(tmp_path):
    run = tmp_path / "run"
    proc = train(run, "--num-processes", "3")  # batch 8 is no multiple of micro-batch 2 × 3 processes
    assert proc.returncode == 2 and "processes (2 × 3 = 6)" in proc.stderr, proc.stderr
    proc = train(run, "--num-processes", "2", "--strategy", "zero2")
    assert proc.returncode == 2 and "DeepSpeed has no CPU training" in proc.stderr, proc.stderr
    assert not run.exists()


def test_an_experiment_cell_trains_in_two_processes(tmp_path):
    """A grid's training cell with ``num_processes: 2`` in its train_args runs as 2 processes and
    its evaluation cell reads the model rank 0 saved."""
    from tests.helpers import harness_with, write_registry

    def edit(registry: dict) -> None:
        smoke = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        registry["experiments"] = {"two_procs": {
            **smoke, "paradigms": ["sft"], "languages": ["de"], "eval": {"limit": 1, "max_gen_toks": 8},
            "train_args": {"sft": {"max_steps": 4, "batch_size": 8, "micro_batch_size": 2, "num_processes": 2}},
        }}

    registry = write_registry(tmp_path, edit)
    root = tmp_path / "exp"
    proc = harness_with(registry, "experiment", "run", "two_procs", "--root", str(root), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [manifest] = [m for m in root.rglob("manifest.json") if m.parent.name.startswith("train")]
    assert json.loads(manifest.read_text())["processes"] == 2
    assert sorted(losses(manifest.parent)) == [1, 2, 3, 4]
