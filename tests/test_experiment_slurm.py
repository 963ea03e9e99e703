"""harness experiment run --executor slurm against a real SLURM (scripts/slurm-local.sh starts a
single-node cluster on localhost): one job per cell with afterok dependencies; a training job
cancelled mid-run with scancel, and the experiment run again, finishes with every step recorded
once. Skipped, with the reason, where SLURM is absent or its controller is down."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness.experiment.executors import slurm_unavailable
from tests.helpers import harness_with, write_registry

REASON = slurm_unavailable()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(REASON is not None, reason=f"no SLURM here: {REASON} (scripts/slurm-local.sh start)")]
STEPS = 30


def slurm_registry(tmp_path: Path) -> Path:
    def edit(registry: dict) -> None:
        toy = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        registry["experiments"] = {"toy_slurm": {
            **toy, "paradigms": ["sft"], "languages": ["de"], "eval": {"limit": 1, "max_gen_toks": 8},
            # A checkpoint every 5 steps, a metrics record every step: what the kill-and-resume check counts.
            "train_args": {"sft": {"max_steps": STEPS, "save_steps": 5, "logging_steps": 1, "learning_rate": 1.0e-3,
                                   "batch_size": 16}},
        }}

    return write_registry(tmp_path, edit)


def harness(registry: Path, *args: str) -> subprocess.CompletedProcess:
    return harness_with(registry, *args, timeout=900)


def squeue(job_ids: list[str]) -> str:
    return subprocess.run(["squeue", "--states=all", "-o", "%i %j %T %r", "-j", ",".join(job_ids)],
                          capture_output=True, text=True).stdout


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def metric_steps(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip().endswith("}")]
    return [r["step"] for r in records if "loss" in r]


def test_slurm_run_kill_and_resume(tmp_path):
    registry, root = slurm_registry(tmp_path), tmp_path / "exps"
    log: list[str] = []
    submitted = harness(registry, "experiment", "run", "toy_slurm", "--executor", "slurm", "--no-wait",
                        "--root", str(root))
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    jobs = json.loads((root / "toy_slurm" / "slurm_jobs.json").read_text())
    assert set(jobs) == {"base-tiny", "train-sft-de", "eval-sft-de"}
    assert sorted(jobs["eval-sft-de"]["after"]) == sorted([jobs["train-sft-de"]["job_id"], jobs["base-tiny"]["job_id"]])
    ids = [j["job_id"] for j in jobs.values()]
    log.append("submitted:\n" + squeue(ids))

    plan = json.loads(harness(registry, "experiment", "plan", "toy_slurm", "--json", "--root", str(root)).stdout)
    cells = {c["name"]: Path(c["run_dir"]) for c in plan["cells"]}
    train = cells["train-sft-de"]
    # Cancel the training job once it is past its first checkpoint and still going.
    wait_for(lambda: any(s >= 8 for s in metric_steps(train)) and (train / "checkpoints" / "checkpoint-5").is_dir(),
             600, "training past step 8")
    subprocess.run(["scancel", jobs["train-sft-de"]["job_id"]], check=True)
    killed_at = max(metric_steps(train))
    wait_for(lambda: json.loads((train / "manifest.json").read_text())["status"] != "running", 120,
             "the cancelled training to record its status")
    assert killed_at < STEPS
    assert json.loads((train / "manifest.json").read_text())["status"] == "interrupted"
    time.sleep(3)
    log.append(f"after scancel {jobs['train-sft-de']['job_id']} at step {killed_at}:\n" + squeue(ids))
    status = harness(registry, "experiment", "status", "toy_slurm", "--root", str(root))
    log.append(status.stdout)

    resubmitted = harness(registry, "experiment", "run", "toy_slurm", "--executor", "slurm", "--no-wait",
                          "--root", str(root))
    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    new_jobs = json.loads((root / "toy_slurm" / "slurm_jobs.json").read_text())
    assert new_jobs["base-tiny"]["job_id"] == jobs["base-tiny"]["job_id"]  # finished: not submitted again
    train_job = new_jobs["train-sft-de"]["job_id"]
    assert train_job != jobs["train-sft-de"]["job_id"]
    log.append("resubmitted:\n" + resubmitted.stdout + squeue([j["job_id"] for j in new_jobs.values()]))

    # A requeue (what a preemption does) of the resumed job: it starts again and resumes once more.
    wait_for(lambda: any(s >= 18 for s in metric_steps(train)) and (train / "checkpoints" / "checkpoint-15").is_dir(),
             600, "the resumed training past step 18")
    subprocess.run(["scontrol", "requeue", train_job], check=True)
    log.append(f"after scontrol requeue {train_job} at step {max(metric_steps(train))}:\n" + squeue([train_job]))
    # SLURM holds a requeued job back for two minutes (its begin time); the test need not wait.
    wait_for(lambda: " PENDING " in squeue([train_job]), 120, "the requeued job to be pending")
    subprocess.run(["scontrol", "update", f"JobId={train_job}", "StartTime=now"], check=True)
    watched = harness(registry, "experiment", "run", "toy_slurm", "--executor", "slurm", "--root", str(root))
    final_jobs = json.loads((root / "toy_slurm" / "slurm_jobs.json").read_text())
    log.append("watched to the end:\n" + watched.stdout + watched.stderr
               + squeue(sorted({j["job_id"] for j in [*jobs.values(), *final_jobs.values()]})))
    print("\n".join(log))
    (tmp_path / "slurm_log.txt").write_text("\n".join(log))
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert final_jobs["train-sft-de"]["job_id"] == train_job  # the requeued job was kept, not submitted again

    # Every step recorded once, none lost; the run resumed from its checkpoint.
    assert metric_steps(train) == list(range(1, STEPS + 1))
    manifest = json.loads((train / "manifest.json").read_text())
    assert manifest["status"] == "finished" and len(manifest.get("resumed", [])) == 2
    commands = [line for line in (train / "logs" / "cell.log").read_text().splitlines() if line.startswith("$ ")]
    assert [c.endswith(" --resume") for c in commands] == [False, True, True]  # started, after scancel, after requeue
    results = json.loads((cells["eval-sft-de"] / "results.json").read_text())
    assert "toy_xling" in results["gen"]
    for name, run_dir in cells.items():
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "finished", name
        assert (run_dir / "logs" / "cell.log").stat().st_size > 0
