"""Run directories as a person uses them: relative paths from a scratch directory, a command run
twice, a run replayed from its own record, two commands on one directory, SIGTERM.

Each test runs the real ``harness`` executable in a subprocess (stdout is not a terminal) with
the example third-party paradigm, whose training takes a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

HARNESS = str(Path(sys.executable).parent / "harness")
QUICK = ["--plugin", "example_lm", "--lang", "de", "--steps", "2", "--batch-size", "2", "--num-problems", "4"]


def harness(cwd: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([HARNESS, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_sentence_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """An empty working directory; runs go where the user says, not to $HARNESS_RUNS_DIR."""
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    work = tmp_path / "scratch"
    work.mkdir()
    return work


def test_relative_run_dirs_chain_from_a_scratch_directory(scratch, tmp_path):
    first = harness(scratch, "train", *QUICK, "--run-dir", "runs/a")
    assert first.returncode == 0, first.stderr
    assert json.loads((scratch / "runs/a/result.json").read_text())["model_path"] == "model"
    # The README's chain: the next step names the run directory, relative to the same cwd.
    second = harness(scratch, "train", *QUICK, "--model", "runs/a", "--run-dir", "runs/b")
    assert second.returncode == 0, second.stderr
    assert "runs/a/model" in second.stdout
    # From another working directory, and after the run was moved, it still resolves.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (scratch / "runs/a").rename(tmp_path / "moved")
    third = harness(elsewhere, "train", *QUICK, "--model", tmp_path / "moved", "--run-dir", "c")
    assert third.returncode == 0, third.stderr
    assert (elsewhere / "c/model/config.json").is_file()


def test_a_reused_run_dir_is_refused_unless_resume_or_overwrite(scratch):
    assert harness(scratch, "train", *QUICK, "--run-dir", "runs/a").returncode == 0
    metrics = (scratch / "runs/a/metrics.jsonl").read_text()
    refused = harness(scratch, "train", *QUICK, "--run-dir", "runs/a")
    assert "already holds a run (finished)" in one_sentence_error(refused)
    assert (scratch / "runs/a/metrics.jsonl").read_text() == metrics  # nothing appended
    assert "already finished" in one_sentence_error(harness(scratch, "train", *QUICK, "--run-dir", "runs/a", "--resume"))
    both = harness(scratch, "train", *QUICK, "--run-dir", "runs/a", "--resume", "--overwrite")
    assert "give one of them" in one_sentence_error(both)
    again = harness(scratch, "train", *QUICK, "--run-dir", "runs/a", "--overwrite")
    assert again.returncode == 0, again.stderr
    lines = (scratch / "runs/a/metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]  # one run's lines, not two


def test_user_errors_leave_no_run_directory(scratch):
    for args in (["--data", "missing.jsonl"], ["--lang", "dee"], ["--model", "tinyy"], ["--num-problems", "0"]):
        proc = harness(scratch, "train", *QUICK, *args, "--run-dir", "runs/bad")
        one_sentence_error(proc)
        assert not (scratch / "runs/bad").exists(), args


def test_a_run_replays_from_its_own_config(scratch):
    assert harness(scratch, "train", *QUICK, "--run-dir", "runs/a", "--learning-rate", "0.002").returncode == 0
    replay = harness(scratch, "train", "--config", "runs/a/config.yaml", "--run-dir", "runs/replay")
    assert replay.returncode == 0, replay.stderr
    original = yaml.safe_load((scratch / "runs/a/config.yaml").read_text())
    replayed = yaml.safe_load((scratch / "runs/replay/config.yaml").read_text())
    assert replayed == original
    assert original["paradigm_config"]["learning_rate"] == 0.002 and original["lang"] == ["de"]
    # Flags still beat the file.
    changed = harness(scratch, "train", "--config", "runs/a/config.yaml", "--steps", "1", "--run-dir", "runs/one")
    assert changed.returncode == 0, changed.stderr
    assert yaml.safe_load((scratch / "runs/one/config.yaml").read_text())["paradigm_config"]["steps"] == 1


def test_resume_with_other_settings_is_refused(scratch):
    run = scratch / "runs/a"
    assert harness(scratch, "train", *QUICK, "--run-dir", "runs/a").returncode == 0
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    message = one_sentence_error(harness(scratch, "train", *QUICK, "--steps", "5", "--run-dir", "runs/a", "--resume"))
    assert "differ from the run's (steps)" in message


def test_a_second_command_on_a_busy_run_dir_is_refused_with_the_holder(scratch):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom harness.core.rundir import run_lifecycle\n"
         "with run_lifecycle('train', 'x', path=__import__('pathlib').Path('runs/a')):\n"
         "    print('ready', flush=True); time.sleep(60)\n"],
        cwd=scratch, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        message = one_sentence_error(harness(scratch, "train", *QUICK, "--run-dir", "runs/a", "--resume"))
        assert f"is in use by PID {holder.pid}" in message
    finally:
        holder.kill()
        holder.wait()
    # The lock died with its process: the run can be continued now.
    assert json.loads((scratch / "runs/a/manifest.json").read_text())["status"] == "running"


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, "interrupted"), (signal.SIGINT, "interrupted")])
def test_signals_record_a_true_status(scratch, signum, status):
    proc = subprocess.Popen([HARNESS, "train", *QUICK, "--steps", "100000", "--run-dir", "runs/a"],
                            cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = scratch / "runs/a/metrics.jsonl"
    deadline = time.monotonic() + 180
    while not (metrics.is_file() and metrics.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    manifest = json.loads((scratch / "runs/a/manifest.json").read_text())
    assert manifest["status"] == status
    assert manifest["signal"] == signal.Signals(signum).name
    assert "Traceback" not in err and "--resume" in err
    assert proc.returncode == (143 if signum == signal.SIGTERM else 130)


def test_listing_commands_import_no_torch():
    code = ("import sys\nfrom harness.cli import main\n"
            "try:\n    main(['ls', 'paradigms'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert "sft" in proc.stdout and "example_lm" in proc.stdout
    assert proc.stderr.strip().endswith("NO TORCH")


NOISE = ("Custom kwargs", "fatal:", "Triton", "%|", "Writing model shards", "huggingface.co/None")


@pytest.mark.slow
def test_eval_is_quiet_guarded_and_replayable(scratch):
    args = ["eval", "--model", "tiny", "--tasks", "toy_xling", "--limit", "1", "--max-gen-toks", "4"]
    first = harness(scratch, *args, "--run-dir", "runs/e")
    assert first.returncode == 0, first.stderr
    for noise in NOISE:
        assert noise not in first.stdout + first.stderr, noise
    assert "results: runs/e/results.json" in first.stdout
    refused = one_sentence_error(harness(scratch, *args, "--run-dir", "runs/e"))
    assert "already holds a run (finished)" in refused
    replay = harness(scratch, "eval", "--config", "runs/e/config.yaml", "--run-dir", "runs/f")
    assert replay.returncode == 0, replay.stderr
    original = yaml.safe_load((scratch / "runs/e/config.yaml").read_text())
    replayed = yaml.safe_load((scratch / "runs/f/config.yaml").read_text())
    assert {k: v for k, v in replayed.items() if k != "run_dir"} == {k: v for k, v in original.items() if k != "run_dir"}
    assert json.loads((scratch / "runs/f/results.json").read_text())["harness"]["limit"] == 1


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "--limit must be at least 1"),
    (["--batch-size", "abc"], "--batch-size must be a positive integer or 'auto'"),
    (["--max-gen-toks", "-5"], "--max-gen-toks must be at least 1"),
    (["--gen-kwargs", "temperature"], "--gen-kwargs takes key=value pairs"),
    (["--model", "tinyy"], "unknown model 'tinyy'"),
])
def test_bad_eval_flags_end_in_one_sentence_before_anything_loads(scratch, args, message):
    proc = harness(scratch, "eval", "--tasks", "toy_xling", *args, "--run-dir", "runs/e", timeout=120)
    assert message in one_sentence_error(proc)
    assert not (scratch / "runs").exists()


def test_a_reused_probe_run_dir_is_refused(scratch):
    (scratch / "runs/p").mkdir(parents=True)
    (scratch / "runs/p/manifest.json").write_text(json.dumps({"status": "finished"}))
    proc = harness(scratch, "probe", "consistency", "--model", "tiny", "--run-dir", "runs/p", timeout=120)
    assert "already holds a run (finished)" in one_sentence_error(proc)


def test_tiny_train_defaults_reach_runs_trained_from_it(tmp_path):
    from harness.core.registry import load_registry
    from harness.train.run import base_alias, model_defaults
    from harness.trainers.grpo import GRPOOptions

    registry = load_registry()
    run = tmp_path / "runs/sft"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"model": "tiny", "paradigm_config": {}}))
    child = tmp_path / "runs/grpo"
    child.mkdir()
    (child / "config.yaml").write_text(yaml.safe_dump({"model": str(run), "paradigm_config": {}}))
    assert base_alias(str(child), registry) == "tiny"
    defaults = model_defaults(registry, str(child), GRPOOptions)
    assert defaults["prompts_per_rollout"] == 16 and defaults["max_completion_length"] == 64
    assert "max_length" not in defaults  # an SFT setting: GRPO has no such field
    assert model_defaults(registry, "qwen2.5-3b", GRPOOptions) == {}
