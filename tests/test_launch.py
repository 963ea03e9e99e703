"""Multi-GPU launch commands are built, not run: check the argv lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.train import launch


@pytest.mark.parametrize("strategy", launch.STRATEGIES)
def test_every_strategy_is_a_config_trl_ships(strategy):
    path = launch.accelerate_config(strategy)
    assert path.is_file() and path.parent.name == "accelerate_configs"


def test_unknown_strategy_suggests_one():
    with pytest.raises(UserError, match="did you mean 'zero3'"):
        launch.accelerate_config("zero-3")


def test_training_command_runs_the_harness_module_on_each_gpu():
    command = launch.training_command(["--plugin", "sft", "--lang", "de"], gpus=[0, 1, 2, 3], strategy="zero2")
    argv = command.argv
    assert argv[:2] == ["accelerate", "launch"]
    assert Path(argv[argv.index("--config_file") + 1]).name == "zero2.yaml"
    assert argv[argv.index("--num_processes") + 1] == "4"
    # Each process is told the launch it is part of (its run records it; its checks count 4 processes).
    assert argv[argv.index("--module") + 1:] == ["harness.cli", "train", "--num-processes", "4", "--strategy", "zero2",
                                                 "--plugin", "sft", "--lang", "de"]
    assert command.env == {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}


def test_cpu_processes_train_in_float32_and_share_the_cores():
    argv = launch.training_command(["--plugin", "sft"], gpus=[0, 1], strategy="multi_gpu", cpu=True).argv
    assert argv[argv.index("--mixed_precision") + 1] == "no"  # TRL's config says bf16
    assert int(argv[argv.index("--num_cpu_threads_per_process") + 1]) >= 1
    assert launch.training_command(["--plugin", "sft"], gpus=[0, 1], cpu=True).env == {}


def test_the_cpu_plan_is_ddp_and_refuses_vllm():
    [command] = launch.plan(["--plugin", "sft", "--run-dir", "r"], gpus=2, cpu=True)
    assert Path(command.argv[command.argv.index("--config_file") + 1]).name == "multi_gpu.yaml"
    with pytest.raises(UserError, match="without vLLM"):
        launch.plan(["--plugin", "grpo"], gpus=2, cpu=True, vllm="colocate")


def test_multi_node_needs_the_main_address():
    with pytest.raises(UserError, match="main_process_ip"):
        launch.training_command([], gpus=[0], num_machines=2)
    argv = launch.training_command([], gpus=[0, 1], num_machines=2, machine_rank=1, main_process_ip="10.0.0.1").argv
    assert argv[argv.index("--num_processes") + 1] == "4" and argv[argv.index("--machine_rank") + 1] == "1"


def test_vllm_server_command_has_the_flags_trl_needs():
    command = launch.vllm_server_command("/models/qwen", gpus=[0, 1], port=8123)
    argv = command.argv
    assert argv[:3] == ["vllm", "serve", "/models/qwen"]
    assert argv[argv.index("--tensor-parallel-size") + 1] == "2"
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--logprobs-mode") + 1] == "processed_logprobs"
    assert json.loads(argv[argv.index("--weight-transfer-config") + 1]) == {"backend": "nccl"}
    assert command.env == {"CUDA_VISIBLE_DEVICES": "0,1", "VLLM_SERVER_DEV_MODE": "1"}
    assert command.background and command.shell().endswith(" &")


def test_server_plan_splits_the_gpus_and_points_training_at_the_server():
    server, trainer = launch.plan(["--plugin", "grpo", "--lang", "de", "--model", "qwen2.5-3b",
                                   "--run-dir", "runs/x"], gpus=8, strategy="zero3", vllm="server", vllm_gpus=2,
                                  port=8001)
    assert server.env["CUDA_VISIBLE_DEVICES"] == "0,1" and server.argv[2] == "Qwen/Qwen2.5-3B"  # alias resolved
    assert trainer.env == {"CUDA_VISIBLE_DEVICES": "2,3,4,5,6,7"}
    tail = trainer.argv[trainer.argv.index("train") + 1:]
    assert tail[:4] == ["--num-processes", "6", "--strategy", "zero3"]
    assert tail[-8:] == ["--run-dir", "runs/x", "--use-vllm", "true", "--vllm-mode", "server",
                         "--vllm-server-url", "http://localhost:8001"]


def test_colocate_plan_is_one_command():
    (command,) = launch.plan(["--plugin", "grpo"], gpus=4, vllm="colocate")
    assert command.argv[-4:] == ["--use-vllm", "true", "--vllm-mode", "colocate"]


def test_every_process_gets_the_same_run_dir(monkeypatch):
    monkeypatch.setenv("HARNESS_RUNS_DIR", "/scratch/runs")
    (command,) = launch.plan(["--plugin", "sft", "--lang", "en,de"], gpus=2)
    run_dir = command.argv[command.argv.index("--run-dir") + 1]
    assert run_dir.startswith("/scratch/runs/") and run_dir.endswith("-train-sft-en-de")


def test_server_mode_needs_gpus_left_for_training():
    with pytest.raises(UserError, match="8 GPUs, 8 for vLLM"):
        launch.plan(["--model", "/m"], gpus=8, vllm="server", vllm_gpus=8)


def test_main_prints_shell_lines(capsys):
    assert launch.main(["--gpus", "2", "--strategy", "fsdp2", "--", "--plugin", "sft", "--run-dir", "r"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("CUDA_VISIBLE_DEVICES=0,1 accelerate launch --config_file ")
    assert line.endswith("fsdp2.yaml --num_processes 2 --module harness.cli train --num-processes 2 --strategy fsdp2 "
                         "--plugin sft --run-dir r")


def _own_registry(tmp_path) -> Path:
    from harness.core.registry import default_registry_path

    text = default_registry_path().read_text(encoding="utf-8")
    path = tmp_path / "registry.yaml"
    path.write_text(text.replace("models:\n", "models:\n  mine: {path: \"org/my-model\"}\n", 1), encoding="utf-8")
    return path


def test_launch_uses_the_registry_it_is_given(tmp_path):
    registry = _own_registry(tmp_path)
    server, trainer = launch.plan(["--plugin", "grpo", "--model", "mine", "--run-dir", "r"], gpus=2,
                                  vllm="server", registry=registry)
    assert server.argv[2] == "org/my-model"  # the alias of the given registry, not the packaged one
    cli = trainer.argv[trainer.argv.index("harness.cli") + 1:]
    assert cli[:3] == ["--registry", str(registry), "train"]  # each training process reads it too


def test_launch_main_takes_registry(tmp_path, capsys):
    registry = _own_registry(tmp_path)
    argv = ["--gpus", "2", "--vllm", "server", "--registry", str(registry), "--", "--model", "mine", "--run-dir", "r"]
    assert launch.main(argv) == 0
    server, trainer = capsys.readouterr().out.strip().splitlines()
    assert "vllm serve org/my-model" in server
    assert f"--module harness.cli --registry {registry} train --num-processes 1 --strategy zero2 --model mine" in trainer


# DeepSpeed runs on GPUs only; what it is handed is built here as accelerate and transformers build it.
DEEPSPEED_TOP_KEYS = {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                      "zero_optimization", "gradient_clipping", "steps_per_print", "bf16", "fp16", "optimizer",
                      "scheduler"}  # DeepSpeed's config keys (deepspeed/runtime/constants.py) these configs use


def _paper_arguments(paradigm: str, processes: int):
    if paradigm == "sft":
        from harness.trainers.sft import SFTOptions, sft_arguments

        return sft_arguments(SFTOptions(micro_batch_size=2), "/tmp/unused", processes=processes), 32
    from harness.trainers.grpo import GRPOOptions, grpo_arguments

    return grpo_arguments(GRPOOptions(), "/tmp/unused", processes=processes), 512 * 8 // 2


@pytest.mark.parametrize("strategy", ["zero1", "zero2", "zero3"])
@pytest.mark.parametrize("paradigm", ["sft", "grpo"])
def test_the_deepspeed_config_holds_the_batch_of_the_study(strategy, paradigm):
    arguments, per_update = _paper_arguments(paradigm, 8)
    config = launch.deepspeed_config(strategy, arguments, processes=8)
    assert set(config) <= DEEPSPEED_TOP_KEYS
    assert config["zero_optimization"]["stage"] == int(strategy[-1])
    micro, accumulation = config["train_micro_batch_size_per_gpu"], config["gradient_accumulation_steps"]
    assert (micro, accumulation) == (arguments.per_device_train_batch_size, arguments.gradient_accumulation_steps)
    # DeepSpeed's own rule: train_batch_size = micro-batch × accumulation × processes, here one update's batch.
    assert config["train_batch_size"] == micro * accumulation * 8 == per_update
    assert accumulation > 1  # the case TRL's zero1.yaml (gradient_accumulation_steps: 1) would refuse
    assert config["gradient_clipping"] == arguments.max_grad_norm and config["bf16"] == {"enabled": True}
    assert "auto" not in json.dumps(config)
    if strategy == "zero3":  # the final model is saved whole, not as shards
        assert config["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_the_training_processes_leave_accumulation_to_the_trainer(monkeypatch):
    from harness.trainers.common import accumulation_for_deepspeed

    settings = launch.accelerate_config("zero1").read_text()
    assert "gradient_accumulation_steps: 1" in settings  # what accelerate would pass on
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "1")
    accumulation_for_deepspeed()
    import os

    assert os.environ["ACCELERATE_GRADIENT_ACCUMULATION_STEPS"] == "auto"


def test_a_deepspeed_config_is_only_for_zero_strategies():
    arguments, _ = _paper_arguments("sft", 8)
    with pytest.raises(UserError, match="not DeepSpeed"):
        launch.deepspeed_config("fsdp2", arguments, processes=8)
