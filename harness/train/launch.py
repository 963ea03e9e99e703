"""Multi-GPU launch commands for ``harness train``: accelerate with TRL's shipped configs, and
vLLM in server mode on GPUs of its own.

Nothing here starts a process: the functions build argv lists (tested as such), and
``python -m harness.train.launch`` prints them as shell lines::

    python -m harness.train.launch --gpus 8 --strategy zero3 --vllm server --vllm-gpus 2 -- \\
        --plugin grpo --lang de --model qwen2.5-3b

- Strategies are the files of ``trl/accelerate_configs`` (zero1-3 = DeepSpeed ZeRO stages, fsdp1/2,
  multi_gpu = DDP); ``--num_processes`` overrides the file's 8.
- vLLM ``colocate`` runs inside each training process (``--use-vllm true``): nothing to start.
- vLLM ``server``: ``vllm serve`` on the first ``vllm_gpus`` GPUs, built by TRL's own
  ``trl.scripts.vllm_serve.build_command`` (the flags TRL's client needs: NCCL weight transfer,
  processed logprobs, ``VLLM_SERVER_DEV_MODE=1``; ``trl vllm-serve`` is deprecated in TRL 1.16 in
  favour of exactly this), and training on the remaining GPUs with ``--vllm-mode server``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import UserError, unknown

STRATEGIES = ("zero1", "zero2", "zero3", "fsdp1", "fsdp2", "multi_gpu", "single_gpu")
VLLM_MODES = ("none", "colocate", "server")


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    background: bool = False
    """Started first and left running (the vLLM server)."""

    def shell(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        line = shlex.join(self.argv)
        return f"{env} {line}".strip() + (" &" if self.background else "")


def accelerate_config(strategy: str) -> Path:
    """The accelerate config file TRL ships for ``strategy``."""
    if strategy not in STRATEGIES:
        raise unknown("strategy", strategy, STRATEGIES)
    import trl

    path = Path(trl.__file__).parent / "accelerate_configs" / f"{strategy}.yaml"
    if not path.is_file():
        raise UserError(f"this TRL ({trl.__version__}) ships no accelerate config {path.name}")
    return path


def deepspeed_config(strategy: str, arguments: Any, processes: int) -> dict[str, Any]:
    """The DeepSpeed configuration a launch with ``strategy`` (zero1-3) hands DeepSpeed for a
    trainer's ``arguments`` (an SFTConfig/GRPOConfig) on ``processes`` processes, built as
    accelerate and transformers build it: accelerate's DeepSpeedPlugin from TRL's config file,
    then transformers' fill of its ``auto`` values from the arguments. Left ``auto`` are only the
    sizes transformers derives from the model later (ZeRO-3 buckets). DeepSpeed itself (GPU-only)
    is not needed to build it, so CI checks it (tests/test_launch.py)."""
    import yaml
    from accelerate.utils import DeepSpeedPlugin
    from accelerate.utils.deepspeed import HfDeepSpeedConfig
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    settings = yaml.safe_load(accelerate_config(strategy).read_text(encoding="utf-8"))
    if settings.get("distributed_type") != "DEEPSPEED":
        raise UserError(f"strategy {strategy} is not DeepSpeed (zero1, zero2, zero3 are)")
    ds = settings["deepspeed_config"]
    fields = set(DeepSpeedPlugin.__dataclass_fields__)
    given = {k: v for k, v in ds.items() if k in fields and k != "gradient_accumulation_steps"}
    # TRL's zero1.yaml pins gradient_accumulation_steps: 1, which contradicts any accumulation; the
    # training processes leave it to the trainer (trainers/common.accumulation_for_deepspeed).
    plugin = DeepSpeedPlugin(**given, gradient_accumulation_steps="auto", gradient_clipping="auto")

    class Filled(HfDeepSpeedConfig):  # transformers' filling, without its check that DeepSpeed is installed
        fill_match = HfTrainerDeepSpeedConfig.fill_match
        fill_only = HfTrainerDeepSpeedConfig.fill_only
        trainer_config_process = HfTrainerDeepSpeedConfig.trainer_config_process

        def __init__(self, config):
            super().__init__(config)
            self.mismatches, self._dtype = [], None

    config = Filled(plugin.deepspeed_config)
    mixed = settings.get("mixed_precision")
    view = _Arguments(arguments, world_size=processes, bf16=mixed == "bf16", fp16=mixed == "fp16")
    config.config.setdefault("bf16", {"enabled": view.bf16})  # accelerate adds the section at launch
    config.trainer_config_process(view)
    if config.mismatches:
        raise UserError("the DeepSpeed config contradicts the training arguments: " + "; ".join(config.mismatches))
    return config.config


class _Arguments:
    """Training arguments as the processes of a launch see them (their world size, the launch's
    precision), read through to the arguments built here."""

    def __init__(self, arguments: Any, **seen: Any):
        self._arguments, self._seen = arguments, seen

    def __getattr__(self, name: str) -> Any:
        return self._seen[name] if name in self._seen else getattr(self._arguments, name)


def _devices(gpus: Sequence[int]) -> dict[str, str]:
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in gpus)}


def training_command(train_args: Sequence[str], *, gpus: Sequence[int], strategy: str = "zero2",
                     main_process_port: int | None = None, num_machines: int = 1, machine_rank: int = 0,
                     main_process_ip: str | None = None, registry: Path | None = None, cpu: bool = False) -> Command:
    """``accelerate launch`` of ``harness [--registry R] train <train_args>`` on ``gpus`` (one
    process each); with ``cpu``, one CPU process per entry of ``gpus`` (DDP over gloo: accelerate
    finds no GPU), in float32 (TRL's configs ask for bf16), the cores shared out."""
    if not gpus:
        raise UserError("training needs at least one GPU")
    argv = ["accelerate", "launch", "--config_file", str(accelerate_config(strategy))]
    if cpu:
        threads = max(1, (os.cpu_count() or 1) // len(gpus))
        argv += ["--mixed_precision", "no", "--num_cpu_threads_per_process", str(threads)]
        if strategy == "fsdp1":
            # accelerate 1.16 refuses FSDP1's sync_module_states on CPUs (utils/dataclasses.py,
            # FullyShardedDataParallelPlugin.__post_init__), and TRL's fsdp1.yaml asks for it and for
            # the RAM-efficient loading that needs it; every process loads the same weights anyway.
            argv += ["--fsdp_sync_module_states", "false", "--fsdp_cpu_ram_efficient_loading", "false"]
    argv += ["--num_processes", str(len(gpus) * num_machines)]
    if num_machines > 1:
        if not main_process_ip:
            raise UserError("multi-node training needs the main machine's address (main_process_ip)")
        argv += ["--num_machines", str(num_machines), "--machine_rank", str(machine_rank),
                 "--main_process_ip", main_process_ip]
    if main_process_port is not None:
        argv += ["--main_process_port", str(main_process_port)]
    if _option(train_args, "--num-processes") is None:  # each process knows the launch it is part of
        train_args = ["--num-processes", str(len(gpus) * num_machines), "--strategy", strategy, *train_args]
    argv += ["--module", "harness.cli", *(["--registry", str(registry)] if registry else []), "train", *train_args]
    return Command(argv, {} if cpu else _devices(gpus))


def vllm_server_command(model: str, *, gpus: Sequence[int], port: int = 8000, host: str = "127.0.0.1",
                        gpu_memory_utilization: float = 0.9, max_model_len: int | None = None) -> Command:
    """The vLLM server GRPO's server mode talks to, on ``gpus`` (tensor parallel over them).

    It listens on 127.0.0.1 unless told otherwise (TRL's default is 0.0.0.0): with
    ``VLLM_SERVER_DEV_MODE=1`` it answers ``/update_weights`` and ``/collective_rpc`` (any worker
    method by name) to whoever reaches the port, and training on the same machine needs no more."""
    from harness.trainers.vllm_server import serve_argv

    argv = serve_argv(model, tensor_parallel_size=len(gpus), host=host, port=port,
                      gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)
    return Command(argv, {**_devices(gpus), "VLLM_SERVER_DEV_MODE": "1"}, background=True)


def _option(args: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def plan(train_args: Sequence[str], *, gpus: int, strategy: str | None = None, vllm: str = "none",
         vllm_gpus: int = 1, port: int = 8000, model: str | None = None,
         registry: Path | None = None, cpu: bool = False) -> list[Command]:
    """The commands that run ``harness train <train_args>`` on ``gpus`` GPUs of one machine (with
    ``cpu``: as ``gpus`` CPU processes, what ``harness train --num-processes`` starts);
    ``registry`` (default: ``$HARNESS_REGISTRY``, else the packaged one) resolves the model alias
    here and is passed on to every training process."""
    if vllm not in VLLM_MODES:
        raise unknown("vLLM mode", vllm, VLLM_MODES)
    train_args = with_run_dir(train_args)
    strategy = strategy or ("multi_gpu" if cpu else "zero2")
    if cpu and vllm != "none":
        raise UserError("--cpu launches train without vLLM (on a CPU, harness train --use-vllm runs in one process)")
    if vllm == "none":
        return [training_command(train_args, gpus=range(gpus), strategy=strategy, registry=registry, cpu=cpu)]
    if vllm == "colocate":
        return [training_command([*train_args, "--use-vllm", "true", "--vllm-mode", "colocate"],
                                 gpus=range(gpus), strategy=strategy, registry=registry)]
    if vllm_gpus >= gpus:
        raise UserError(f"server mode needs GPUs left for training: {gpus} GPUs, {vllm_gpus} for vLLM")
    model = model or _served_model(train_args, registry)
    server = vllm_server_command(model, gpus=range(vllm_gpus), port=port)
    trainer = training_command(
        [*train_args, "--use-vllm", "true", "--vllm-mode", "server", "--vllm-server-url", f"http://localhost:{port}"],
        gpus=range(vllm_gpus, gpus), strategy=strategy, registry=registry,
    )
    return [server, trainer]


def with_run_dir(train_args: Sequence[str]) -> list[str]:
    """``train_args`` with an explicit ``--run-dir``: every process of a launch must write into the
    same run directory (left alone, each would create its own, named by the time it started)."""
    train_args = list(train_args)
    if _option(train_args, "--run-dir") is None:
        train_args += ["--run-dir", str(new_run_dir(_option(train_args, "--plugin"), _option(train_args, "--lang")))]
    return train_args


def new_run_dir(plugin: str | None, languages: str | None) -> Path:
    """The run directory ``harness train --plugin P --lang L`` would create for itself."""
    from harness.core.rundir import RunDir

    return RunDir.new_path("train", "-".join(filter(None, [plugin, (languages or "").replace(",", "-")])))


def _served_model(train_args: Sequence[str], registry: Path | None) -> str:
    """The model the server must load: the one training starts from (``--model``, resolved)."""
    from harness.core.registry import load_registry
    from harness.inference.models import resolve_model

    return resolve_model(_option(train_args, "--model") or "tiny", load_registry(registry))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, train_args = (argv[: argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m harness.train.launch",
                                     description="Print the commands that run `harness train ARGS` on several GPUs.")
    parser.add_argument("--gpus", type=int, required=True, help="GPUs on this machine.")
    parser.add_argument("--strategy", choices=STRATEGIES, help="TRL accelerate config (default: zero2; with --cpu, "
                                                                 "multi_gpu, which is DDP).")
    parser.add_argument("--vllm", default="none", choices=VLLM_MODES, help="vLLM rollouts: none, colocate or server.")
    parser.add_argument("--vllm-gpus", type=int, default=1, help="Server mode: GPUs given to vLLM.")
    parser.add_argument("--port", type=int, default=8000, help="Server mode: port of the vLLM server.")
    parser.add_argument("--registry", type=Path, help="Use this registry.yaml (as `harness --registry`).")
    parser.add_argument("--cpu", action="store_true",
                        help="Start --gpus CPU processes instead (DDP over gloo, float32), as harness train "
                             "--num-processes does.")
    args = parser.parse_args(own)
    try:
        commands = plan(train_args, gpus=args.gpus, strategy=args.strategy, vllm=args.vllm,
                        vllm_gpus=args.vllm_gpus, port=args.port, registry=args.registry, cpu=args.cpu)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for command in commands:
        print(command.shell())
    return 0


if __name__ == "__main__":
    sys.exit(main())
