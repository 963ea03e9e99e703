"""``harness train --num-processes N``: the command checks everything, then runs the training as N
processes under ``accelerate launch`` (torchrun underneath; DDP over gloo on CPUs, NCCL on GPUs),
and waits for them.

The N processes are ``harness train`` again, with the same request as flags and an explicit
``--run-dir``; :func:`harness.trainers.common.launched_processes` tells them apart from the
command that launched them.
Rank 0 owns the run directory (lock, config, manifest, metrics, result, curves); the other ranks
only train (:mod:`harness.train.run`). The launching command answers for the run: its exit code
and last lines are the run's, read from the manifest rank 0 wrote.

Signals: SIGTERM and SIGINT go to the launcher, which stops the ranks with SIGTERM (rank 0
records the run as interrupted); SIGUSR1 (checkpoint and stop) goes to each rank, which agree on
the step to stop at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from harness.core.errors import UserError
from harness.core.net import free_port
from harness.trainers.common import launched_processes

# DDP (TRL's multi_gpu.yaml: on CPUs, accelerate starts it over gloo) and FSDP; DeepSpeed needs GPUs.
CPU_STRATEGIES = ("multi_gpu", "fsdp1", "fsdp2")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


def check_processes(requested: int, strategy: str, *, cpu: bool) -> int:
    """The number of training processes; refuses a request that contradicts the launch this
    process is in, and a strategy this hardware cannot run."""
    launched = launched_processes()
    if launched > 1:
        if requested not in (1, launched):
            raise UserError(f"--num-processes {requested} inside a launch of {launched} processes; "
                            f"leave --num-processes out when accelerate or torchrun starts harness train")
        return launched
    if requested > 1 and cpu and strategy not in CPU_STRATEGIES:
        raise UserError(f"--strategy {strategy} needs GPUs (DeepSpeed has no CPU training); on CPUs use "
                        f"{', '.join(CPU_STRATEGIES)}")
    return requested


def launch_command(train_args: list[str], *, processes: int, strategy: str, cpu: bool,
                   registry: Path | None) -> tuple[list[str], dict[str, str]]:
    """``accelerate launch`` of ``harness train <train_args>`` on ``processes`` processes, and
    the environment to start it in (accelerate of this Python, whatever is on the PATH)."""
    from harness.train.launch import training_command

    # A port of its own, not torchrun's 29500: launches side by side on one machine.
    command = training_command(train_args, gpus=range(processes), strategy=strategy, main_process_port=free_port(),
                               registry=registry, cpu=cpu)
    argv = [sys.executable, "-m", "accelerate.commands.launch", *command.argv[2:]]
    env = dict(os.environ)
    if "CUDA_VISIBLE_DEVICES" not in env:  # a scheduler's choice of GPUs wins
        env.update(command.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return argv, env


def run_launch(argv: list[str], env: dict[str, str]) -> tuple[int, int | None]:
    """Start the launch and wait for it, passing signals on; (exit code, the first stop signal
    received or None)."""
    proc = subprocess.Popen(argv, env=env, start_new_session=True)  # Ctrl-C reaches it through us only
    received: list[int] = []

    def forward(signum, frame):
        received.append(signum)
        if signum == signal.SIGUSR1:
            for pid in _ranks(proc.pid):  # the launcher would die of SIGUSR1: the ranks handle it
                _send(pid, signum)
        else:
            _send(proc.pid, signal.SIGTERM)  # torchrun stops its ranks with SIGTERM

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        code = proc.wait()  # a handled signal does not end the wait (PEP 475)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code, (received[0] if received else None)


def _ranks(launcher: int) -> list[int]:
    """The training processes under the launcher (torchrun starts each in a session of its own)."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(launcher).children(recursive=True)
                if "harness.cli" in " ".join(child.cmdline())]
    except psutil.Error:
        return []


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
