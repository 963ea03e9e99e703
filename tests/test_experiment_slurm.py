"""harness experiment run --executor slurm against a real SLURM (scripts/slurm-local.sh starts a
single-node cluster on localhost): one job per cell with afterok dependencies; a training job
cancelled mid-run with scancel, and the experiment run again, finishes with every step recorded
once; a training longer than its job's time limit is warned (submitit's SIGUSR2), saves a
checkpoint, is requeued and finishes with every step trained once; ``--max-parallel 1`` runs one
job at a time while the others wait. Skipped, with the reason, where SLURM is absent or its
controller is down."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.experiment.executors import JOBS_FILE, slurm_unavailable
from tests.helpers import harness_with, write_registry

REASON = slurm_unavailable()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(REASON is not None, reason=f"no SLURM here: {REASON} (scripts/slurm-local.sh start)")]
STEPS = 60
"""Enough that the training is still going when it is cancelled (after step 8) and requeued (after
step 18) on a fast machine: about 0.2 s per step here when nothing else runs."""


ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")


@pytest.fixture(autouse=True)
def no_jobs_left_behind(tmp_path):
    """After each test, cancel the jobs of its experiments that have not ended (a failed test's)."""
    yield
    job_ids = [str(j["job_id"]) for path in tmp_path.glob(f"*/*/{JOBS_FILE}")
               for j in json.loads(path.read_text()).values()]
    unfinished = [i for i in job_ids if scontrol_job(i).get("JobState") not in ENDED]
    if unfinished:
        subprocess.run(["scancel", *unfinished], capture_output=True)


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
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def metric_steps(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip().endswith("}")]
    return [r["step"] for r in records if "loss" in r]


def newest_checkpoint(run_dir: Path) -> int:
    """The step of the newest checkpoint (0: none); older ones are deleted (save_total_limit)."""
    steps = [int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").glob("checkpoint-*")]
    return max(steps, default=0)


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
    wait_for(lambda: any(s >= 8 for s in metric_steps(train)) and newest_checkpoint(train) >= 5, 600,
             "training past step 8")
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
    wait_for(lambda: any(s >= 18 for s in metric_steps(train)) and newest_checkpoint(train) >= 15, 600,
             "the resumed training past step 18")
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


# --- a time limit: warned, checkpointed, requeued, finished ---------------------------------------

LIMIT_MIN = 2
"""The training job's time limit. SLURM checks limits every 30 s and sends the warning at the first
check within ``SIGNAL_S`` + 30 s of the limit: 60 to 90 s into a 2-minute job."""
SIGNAL_S = 30
TRAINING_S = 110
"""Training time the cell needs (startup aside): more than the ~80 s a job trains before its
warning, less than the ~50 s that each of the 4 runs submitit allows (3 requeues) trains at the
least: 1 to 3 requeues while this machine's speed stays within -25 % and +70 % of its calibration."""
LIMIT_ARGS = {"save_steps": 100_000, "logging_steps": 1, "learning_rate": 1.0e-3, "batch_size": 4,
              "micro_batch_size": 4, "progress": "plain", "progress_every": 1}


@pytest.fixture(scope="module")
def seconds_per_step(tmp_path_factory) -> float:
    """This machine's time per step of the training below, once started (so that its steps take
    TRAINING_S here): the mean gap between its progress lines after the first few."""
    run = tmp_path_factory.mktemp("calibration") / "run"
    settings = {**LIMIT_ARGS, "max_steps": 25}
    args = [x for key, value in settings.items() for x in (f"--{key.replace('_', '-')}", str(value))]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "train", "--plugin", "sft", "--model", "tiny", "--data",
                             "toy_easy", "--lang", "de", *args, "--run-dir", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = [time.monotonic() for line in proc.stdout if line.startswith("step ")]
    assert proc.wait(timeout=600) == 0 and len(seen) == 25
    return (seen[-1] - seen[5]) / (len(seen) - 6)


def limit_registry(tmp_path: Path, steps: int) -> Path:
    def edit(registry: dict) -> None:
        smoke = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        minutes = LIMIT_MIN / 60
        registry["experiments"] = {"toy_limit": {
            **smoke, "paradigms": ["sft"], "languages": ["de"],
            "train_args": {"sft": {**LIMIT_ARGS, "max_steps": steps}},
            "resources": {"default": smoke["resources"]["default"],
                          "train": {"gpus": 0, "cpus": 1, "mem_gb": 3, "hours": minutes}},
        }}

    return write_registry(tmp_path, edit)


def scontrol_job(job_id: str) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def test_a_time_limit_checkpoints_requeues_and_finishes(tmp_path, seconds_per_step):
    steps = math.ceil(TRAINING_S / seconds_per_step)
    registry, root = limit_registry(tmp_path, steps), tmp_path / "exps"
    started = time.monotonic()
    run = harness(registry, "experiment", "run", "toy_limit", "--executor", "slurm", "--only", "train-*",
                  "--signal-s", str(SIGNAL_S), "--root", str(root))
    job_id = str(json.loads((root / "toy_limit" / JOBS_FILE).read_text())["train-sft-de"]["job_id"])
    # `run` returns once the run directory says finished; the job ends a moment later.
    wait_for(lambda: scontrol_job(job_id).get("JobState") in ENDED, 120, "the job to end")
    wall_s = time.monotonic() - started
    job = scontrol_job(job_id)
    train = next((root / "toy_limit").glob("train-sft-de-*"))
    cell_log = (train / "logs" / "cell.log").read_text()
    folder = root / "toy_limit" / ".submitit" / job_id
    submitit_log = "".join(p.read_text() for p in sorted(folder.glob("*_log.out")))  # its INFO and WARNING lines
    srun_log = "".join(p.read_text() for p in sorted(folder.glob("*_log.err")))  # its WARNING lines and srun's
    write_requeue_log(tmp_path / "slurm_requeue_log.txt", job_id, job, wall_s, steps, seconds_per_step, train,
                      cell_log, submitit_log, srun_log)
    assert run.returncode == 0, run.stdout + run.stderr
    restarts = int(job["Restarts"])
    assert job["JobState"] == "COMPLETED" and 1 <= restarts <= 3, job

    # Warned before the limit (submitit's SIGUSR2), the training asked to stop, the job requeued: once per restart.
    assert submitit_log.count("Caught signal SIGUSR2") == restarts, submitit_log
    assert submitit_log.count(f"Requeued job {job_id}") == restarts, submitit_log
    assert srun_log.count("DUE TO JOB REQUEUE") >= restarts
    assert "DUE TO TIME LIMIT" not in srun_log  # never killed at the limit
    stops = [int(k) for k in re.findall(r"SIGUSR1: a checkpoint at step (\d+), then stop", cell_log)]
    assert len(stops) == restarts and cell_log.count("stopped by SIGUSR1") == restarts, cell_log
    commands = [line for line in cell_log.splitlines() if line.startswith("$ ")]
    assert [c.endswith(" --resume") for c in commands] == [False] + [True] * restarts

    # Every step trained once (each run resumed at the step where the last one stopped) and recorded once.
    trained = [int(k) for k in re.findall(rf"^step (\d+)/{steps} ", cell_log, flags=re.MULTILINE)]
    assert trained == list(range(1, steps + 1)), f"trained steps {trained}"
    assert metric_steps(train) == list(range(1, steps + 1))
    manifest = json.loads((train / "manifest.json").read_text())
    assert manifest["status"] == "finished" and len(manifest["resumed"]) == restarts
    assert (train / "model").is_dir()


def test_a_warning_in_the_first_half_of_a_time_limit_is_refused(tmp_path):
    registry, root = limit_registry(tmp_path, 10), tmp_path / "exps"
    refused = harness(registry, "experiment", "run", "toy_limit", "--executor", "slurm", "--only", "train-*",
                      "--signal-s", "61", "--root", str(root))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--signal-s 61 is more than half of cell train-sft-de's time limit (2 min)" in refused.stderr
    assert not root.exists()  # nothing submitted, no folder made


def write_requeue_log(path: Path, job_id: str, job: dict, wall_s: float, steps: int, per_step: float, train: Path,
                      cell_log: str, submitit_log: str, srun_log: str) -> None:
    """What SLURM and submitit said about the job, and the cell's stops and resumes (printed too)."""
    ctld = Path("/var/log/slurm-local/slurmctld.log")
    ctld_lines = [line for line in (ctld.read_text(errors="replace").splitlines() if ctld.is_file() else [])
                  if re.search(rf"JobId={job_id}\b|job {job_id}\b", line, flags=re.IGNORECASE)]
    harness_log = (train / "logs" / "harness.log").read_text() if (train / "logs" / "harness.log").is_file() else ""
    lines = cell_log.splitlines()
    keep = re.compile(r"^\$ |SIGUSR|stopped by|resum|done final")
    # The steps around each stop and resume: the last step before a stop, the first after a command starts.
    around = {i - 1 for i, line in enumerate(lines) if line.startswith("SIGUSR1")}
    around |= {next((j for j in range(i, len(lines)) if lines[j].startswith("step ")), i)
               for i, line in enumerate(lines) if line.startswith("$ ")}
    text = "\n".join([
        f"# job {job_id}: {steps} steps at {per_step:.2f} s/step, time limit {LIMIT_MIN} min, --signal-s {SIGNAL_S}; "
        f"{wall_s:.0f} s from submission to the end",
        "## scontrol show job -o " + job_id,
        " ".join(f"{k}={job[k]}" for k in ("JobId", "JobName", "JobState", "Restarts", "TimeLimit", "SubmitTime",
                                           "StartTime", "EndTime") if k in job),
        f"## slurmctld.log ({ctld})", *ctld_lines,
        "## submitit log (" + str(train.parent / ".submitit" / job_id) + ")",
        *[line for line in submitit_log.splitlines() if "submitit" in line or "cell " in line],
        "## srun and slurmstepd (the job's stderr)",
        *[line for line in srun_log.splitlines() if "submitit" not in line],
        "## cell.log (its commands, stops and resumes, and the steps around them)",
        *[line for i, line in enumerate(lines) if keep.search(line) or i in around],
        "## harness.log (stops and resumes)",
        *[line for line in harness_log.splitlines() if "SIGUSR1" in line or "resuming" in line],
    ])
    path.write_text(text + "\n")
    print(text)


# --- --max-parallel: one job at a time, the others wait ------------------------------------------------


def parallel_registry(tmp_path: Path) -> Path:
    def edit(registry: dict) -> None:
        smoke = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        registry["experiments"] = {"toy_parallel": {
            **smoke, "paradigms": ["sft"], "languages": ["en", "de", "zh"],
            "train_args": {"sft": {"max_steps": 2, "batch_size": 4, "micro_batch_size": 4, "progress": "off"}},
        }}

    return write_registry(tmp_path, edit)


def test_max_parallel_runs_one_job_at_a_time(tmp_path):
    registry, root = parallel_registry(tmp_path), tmp_path / "exps"
    submitted = harness(registry, "experiment", "run", "toy_parallel", "--executor", "slurm", "--only", "train-*",
                        "--max-parallel", "1", "--no-wait", "--root", str(root))
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    jobs = json.loads((root / "toy_parallel" / JOBS_FILE).read_text())
    assert sorted(jobs) == ["train-sft-de", "train-sft-en", "train-sft-zh"]
    assert {j["slot"] for j in jobs.values()} == {0}
    job_ids = [str(j["job_id"]) for j in jobs.values()]
    seen: list[dict[str, tuple[str, str]]] = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        states = {i: (job["JobState"], job.get("Reason", "")) for i in job_ids for job in [scontrol_job(i)]}
        seen.append(states)
        if all(state in ENDED for state, _ in states.values()):
            break
        time.sleep(0.5)
    running = [sum(state == "RUNNING" for state, _ in states.values()) for states in seen]
    assert max(running) == 1, f"jobs running at once: {running}"
    assert any(sum(state == "RUNNING" for state, _ in s.values()) == 1
               and any(state == "PENDING" and reason == "Dependency" for state, reason in s.values()) for s in seen)
    assert all(state == "COMPLETED" for state, _ in seen[-1].values()), seen[-1]
    for run_dir in (root / "toy_parallel").glob("train-sft-*"):
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "finished", run_dir
    status = harness(registry, "experiment", "status", "toy_parallel", "--root", str(root))
    assert "3/7 cells done" in status.stdout, status.stdout  # the 3 trainings of base, 3 trainings, 3 evaluations


# --- a training cell of 2 processes, as one SLURM job ----------------------------------------------


def test_a_two_process_training_cell_runs_as_one_job(tmp_path):
    """train_args ``num_processes: 2``: the cell's job (2 CPUs) runs ``harness train
    --num-processes 2``, whose 2 processes train over gloo inside it; rank 0 records the run."""
    def edit(registry: dict) -> None:
        smoke = {k: v for k, v in registry["experiments"]["smoke"].items() if k != "probes"}
        registry["experiments"] = {"toy_two": {
            **smoke, "paradigms": ["sft"], "languages": ["de"],
            "train_args": {"sft": {"max_steps": 4, "batch_size": 8, "micro_batch_size": 2, "logging_steps": 1,
                                   "num_processes": 2, "progress": "off"}},
            "resources": {"default": smoke["resources"]["default"],
                          "train": {"gpus": 0, "cpus": 2, "mem_gb": 4, "hours": 0.25}},
        }}

    registry, root = write_registry(tmp_path, edit), tmp_path / "exps"
    job_id = None
    try:
        run = harness(registry, "experiment", "run", "toy_two", "--executor", "slurm", "--only", "train-*",
                      "--root", str(root))
        job_id = str(json.loads((root / "toy_two" / JOBS_FILE).read_text())["train-sft-de"]["job_id"])
    finally:
        if job_id:
            subprocess.run(["scancel", job_id], capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scontrol_job(job_id)["NumCPUs"] == "2"
    train = next((root / "toy_two").glob("train-sft-de-*"))
    manifest = json.loads((train / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["processes"] == 2
    assert metric_steps(train) == [1, 2, 3, 4]
    assert "launch 2 processes" in (train / "logs" / "cell.log").read_text()
