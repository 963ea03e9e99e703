"""`harness train`'s cross-field rules, checked before the run directory exists (exit 2, one
sentence, nothing created), and the friendly micro-batch default of a model alias."""

from __future__ import annotations

import logging

import pytest
import yaml

from harness.core.config import build_config, config_sources
from harness.core.errors import UserError
from harness.plugins.cold_start import ColdStartOptions
from harness.plugins.grpo_consistency import GRPOConsistencyOptions
from harness.plugins.rft import RFTOptions
from harness.trainers.grpo import GRPOOptions
from harness.trainers.options import LR_SCHEDULES
from harness.trainers.sft import SFTOptions
from tests.helpers import run_cli

ANY = ["train", "--model", "tiny", "--num-problems", "4", "--max-steps", "1", "--progress", "off"]
BASE = [*ANY, "--lang", "de"]
SFT = [*BASE, "--plugin", "sft"]
GRPO = [*BASE, "--plugin", "grpo"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A scratch working directory; a refused command may create nothing in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    return tmp_path


def refused(capsys, work, *args: str) -> str:
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err and err.strip().startswith("error:")
    assert len(err.strip().splitlines()) <= 2, err  # one sentence (rich may wrap it once)
    assert list(work.iterdir()) == [], "a refused command left files behind"
    return " ".join(err.split())


# --- the rules, on the config classes --------------------------------------------------------------


@pytest.mark.parametrize("config_class, args, message", [
    (SFTOptions, ["--max-steps", "0"], "--max-steps must be -1 (all epochs) or at least 1, got 0"),
    (SFTOptions, ["--warmup", "2.5"], "--warmup of 1 or more counts steps and must be a whole number"),
    (GRPOOptions, ["--warmup", "0.1"], "--warmup has no effect with --lr-scheduler-type constant"),
    (SFTOptions, ["--learning-rate", "0.5", "--weight-decay", "4"], "--learning-rate × --weight-decay must be below 1"),
    (SFTOptions, ["--batch-size", "12"], "batch_size (12) must be a multiple of micro_batch_size × processes (8 × 1"),
    (GRPOOptions, ["--prompts-per-rollout", "3", "--updates-per-rollout", "5"],
     "prompts_per_rollout × num_generations (24) must be a multiple of updates_per_rollout (5)"),
    (GRPOOptions, ["--prompts-per-rollout", "3", "--num-generations", "2", "--updates-per-rollout", "1",
                   "--micro-batch-size", "4"], "(6) must be a multiple of micro_batch_size × processes (4 × 1"),
    (GRPOOptions, ["--vllm-server-url", "http://h:8000"], "--vllm-server-url is for --use-vllm --vllm-mode server"),
    (GRPOOptions, ["--use-vllm", "--vllm-mode", "server", "--vllm-server-url", "h:8000"], "http:// or https:// URL"),
    (GRPOConsistencyOptions, ["--accuracy-weight", "0.3"], "--accuracy-weight weighs the consistency reward"),
    (ColdStartOptions, ["--sft-steps", "0"], "--sft-steps must be -1 (all epochs) or at least 1, got 0"),
    (ColdStartOptions, ["--sft-batch-size", "12"], "sft_batch_size (12) must be a multiple of sft_micro_batch_size"),
    (RFTOptions, ["--sample-temperature", "0"], "--sample-temperature 0 samples greedily"),
])
def test_cross_field_rules(monkeypatch, config_class, args, message):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(UserError) as info:
        build_config(config_class, args=args)
    assert message in str(info.value)


def test_the_batch_counts_every_process(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")  # as accelerate launch sets it in each process
    with pytest.raises(UserError, match=r"must be a multiple of micro_batch_size × processes \(8 × 3 = 24\)"):
        build_config(SFTOptions)
    assert build_config(SFTOptions, args=["--batch-size", "48"]).batch_size == 48


def test_the_defaults_and_the_registry_recipes_keep_the_rules():
    for config_class in (SFTOptions, GRPOOptions, RFTOptions, ColdStartOptions, GRPOConsistencyOptions):
        build_config(config_class)
    assert build_config(RFTOptions, args=["--sample-temperature", "0", "--num-generations", "1"]).num_generations == 1
    assert build_config(GRPOConsistencyOptions, args=["--consistency-reward", "--accuracy-weight", "0.3"])


def test_the_schedules_offered_are_those_transformers_builds_from_a_name():
    import torch
    from transformers import SchedulerType, get_scheduler

    assert set(LR_SCHEDULES) <= {s.value for s in SchedulerType}
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    for name in LR_SCHEDULES:
        get_scheduler(name, optimizer, num_warmup_steps=1, num_training_steps=10)


# --- through the command: refused before the run directory exists -----------------------------------


@pytest.mark.parametrize("args, message", [
    ([*SFT, "--batch-size", "24"], "batch_size (24) must be a multiple of micro_batch_size × processes (16 × 1"),
    ([*SFT, "--batch-size", "8", "--micro-batch-size", "16"], "batch_size (8) must be a multiple of micro_batch_size"),
    ([*SFT, "--max-length", "0"], "--max-length must be at least 1, got 0"),
    ([*SFT, "--micro-batch-size", "0"], "--micro-batch-size must be at least 1, got 0"),
    ([*SFT, "--max-length", "4096"], "--max-length (4096 tokens) must be at most the model's context of 2048 tokens"),
    ([*GRPO, "--num-generations", "1"], "--num-generations must be at least 2, got 1"),
    ([*GRPO, "--temperature", "0"], "--temperature must be above 0"),
    ([*GRPO, "--reward", "acuracy"], "unknown reward 'acuracy'; did you mean 'accuracy'?"),
    ([*GRPO], "GRPO needs at least prompts_per_rollout (16) training prompts, got 4"),
    ([*GRPO, "--prompts-per-rollout", "2", "--max-prompt-length", "2000", "--max-completion-length", "100"],
     "--max-prompt-length + --max-completion-length (2100 tokens) must be at most the model's context of 2048 tokens"),
    ([*BASE, "--plugin", "mixed"], "mixed trains on several languages"),
    ([*ANY, "--plugin", "mixed", "--lang", "en,de", "--language-counts", "en=9"], "mixture asks for 9 en problems"),
    ([*BASE, "--plugin", "rft"], "rft needs --sampler-model"),
    ([*BASE, "--plugin", "rft", "--sampler-model", "./no/such/run"], "model path ./no/such/run does not exist"),
    ([*BASE, "--plugin", "cold_start", "--sft-steps", "0"], "--sft-steps must be -1 (all epochs) or at least 1"),
    ([*SFT, "--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    ([*SFT, "--num-problems", "0"], "--num-problems must be at least 1, got 0"),
    ([*SFT, "--model", ""], "--model must be non-empty"),
])
def test_refused_before_the_run_directory(capsys, work, args, message):
    assert message in refused(capsys, work, *args)


def test_a_replayed_run_config_is_checked_too(capsys, work, tmp_path_factory):
    config = tmp_path_factory.mktemp("replay") / "config.yaml"
    config.write_text(yaml.safe_dump({"plugin": "sft", "seed": "abc", "paradigm_config": {}}))
    assert f"{config}: seed must be int, got 'abc'" in refused(capsys, work, *SFT, "--config", str(config))
    config.write_text(yaml.safe_dump({"plugin": "sft", "num_problems": -2, "paradigm_config": {}}))
    assert "num_problems must be at least 1, got -2" in refused(capsys, work, "train", "--config", str(config))


# --- the friendly default: a model alias's micro-batch above the batch follows the batch -------------


def test_a_model_alias_micro_batch_follows_a_smaller_batch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    alias = {"micro_batch_size": 16}
    config = build_config(SFTOptions, alias, args=["--batch-size", "8"], where=["train_defaults of model 'tiny'"])
    assert config.micro_batch_size == 8
    assert config_sources(config)["micro_batch_size"] == "model alias tiny, lowered to batch_size 8"
    grpo = build_config(GRPOOptions, alias, args=["--prompts-per-rollout", "2"], where=["train_defaults of model 'tiny'"])
    assert grpo.micro_batch_size == 8  # 2 prompts × 8 completions / 2 updates
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert build_config(SFTOptions, alias, args=["--batch-size", "8"],
                        where=["train_defaults of model 'tiny'"]).micro_batch_size == 4


def test_the_friendly_default_in_a_real_run(capsys, work, caplog):
    caplog.set_level(logging.WARNING, logger="harness.train")
    code, _, err = run_cli(capsys, *SFT, "--batch-size", "4", "--run-dir", "run")
    assert code == 0, err
    assert "micro_batch_size 16 (model alias tiny) is more than batch_size 4: using micro_batch_size 4" in caplog.text
    recorded = yaml.safe_load((work / "run" / "config.yaml").read_text())
    assert recorded["paradigm_config"]["micro_batch_size"] == 4
    assert recorded["paradigm_config_sources"]["micro_batch_size"] == "model alias tiny, lowered to batch_size 4"
