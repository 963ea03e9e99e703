"""Every paradigm end to end through `harness train` with tiny settings, and --resume after a kill."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pytest
import yaml
from transformers import TrainerCallback

from harness.core.registry import load_registry
from harness.inference.models import resolve_model
from tests.train.conftest import harness, read_metrics

pytestmark = pytest.mark.slow

TINY_GRPO = ["--max-steps", "2", "--prompts-per-rollout", "2", "--num-generations", "2", "--micro-batch-size", "2",
             "--max-completion-length", "16", "--save-steps", "100"]
TINY_SFT = ["--max-steps", "2", "--batch-size", "4", "--micro-batch-size", "4"]


def train(run, plugin, *extra, lang="en,de", problems=4, data="toy"):
    return harness("train", "--plugin", plugin, "--model", "tiny", "--lang", lang, "--data", data,
                   "--num-problems", problems, "--run-dir", run, *extra)


def finished_model(run):
    result = json.loads((run / "result.json").read_text())
    model = resolve_model(str(run), load_registry())  # what `harness eval --model <run>` loads
    assert not Path(result["model_path"]).is_absolute()  # recorded relative to the run directory
    assert Path(model) == run / result["model_path"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (run / "model" / name).is_file() or result["stages"], name
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
    return result


def step_records(records, stage=None):
    """The per-step records (not events, not the end-of-training summary) of one stage."""
    return [r for r in records if "step" in r and "train_runtime" not in r and r.get("stage") == stage]


def steps(records, stage=None):
    return [r["step"] for r in step_records(records, stage)]


def test_sft(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run, "sft", *TINY_SFT, "--save-steps", "2", "--progress-every", "1") == 0
    out = capsys.readouterr().out
    # Not a terminal: a plain line per step instead of a live bar, and the curves at the end.
    assert "step 1/2 |" in out and "step 2/2 | loss " in out and " s/step | ETA " in out
    assert (run / "training_curves.png").stat().st_size > 1000
    result = finished_model(run)
    records = read_metrics(run)
    assert steps(records) == [1, 2] and all("loss" in r for r in step_records(records))
    assert result["metrics"]["global_step"] == 2.0
    assert (run / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["paradigm_config"]["learning_rate"] == 2e-5


def test_grpo_logs_reward_and_accuracy_per_language(tmp_path):
    run = tmp_path / "run"
    assert train(run, "grpo", *TINY_GRPO) == 0
    result = finished_model(run)
    records = read_metrics(run)
    assert steps(records) == [1, 2]
    step = next(r for r in records if r.get("step") == 1)
    for key in ("reward", "kl", "completions/mean_length", "accuracy/en", "accuracy/de", "consistency/en",
                "consistency/de", "reward/en", "reward/de", "rewards/accuracy/mean"):
        assert key in step, key
    assert {"accuracy/en", "consistency/de", "kl"} <= set(result["metrics"])
    assert next(r for r in records if r.get("event") == "data") == {"event": "data", "prompts": 8, "too_long": 0}


@pytest.mark.parametrize("recipe, reward", [("grpo_consistency_prompt", "accuracy"),
                                            ("grpo_consistency_reward", "accuracy_consistency")])
def test_grpo_consistency_recipes(tmp_path, recipe, reward):
    run = tmp_path / "run"
    assert train(run, recipe, *TINY_GRPO, lang="de", problems=2) == 0
    finished_model(run)
    config = yaml.safe_load((run / "config.yaml").read_text())["paradigm_config"]
    assert config["consistency_prompt"] is True
    step = next(r for r in read_metrics(run) if r.get("step") == 1)
    assert f"rewards/{reward}/mean" in step and "consistency/de" in step


def test_rft_samples_then_fine_tunes(tmp_path, warm_start):
    run = tmp_path / "run"
    assert train(run, "rft", *TINY_SFT, "--sampler-model", warm_start.path, "--num-generations", "4",
                 "--max-new-tokens", "48", "--sampling-backend", "hf", lang="en", problems=8,
                 data="toy_easy") == 0
    result = finished_model(run)
    kept = [json.loads(line) for line in (run / "rft_samples.jsonl").read_text().splitlines()]
    report = next(r for r in read_metrics(run) if r.get("event") == "rft_sampling")
    assert report["sampler"] == warm_start.path and report["kept"] == len(kept) == result["metrics"]["rft_examples"]
    assert kept and all(r["solution"].rstrip(".").endswith(f"\\boxed{{{r['answer']}}}") for r in kept)


def test_cold_start_runs_grpo_from_the_sft_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert train(run, "cold_start", *TINY_GRPO, "--sft-steps", "2", "--sft-batch-size", "4",
                 "--sft-micro-batch-size", "4") == 0
    result = finished_model(run)
    assert set(result["stages"]) == {"sft", "grpo"}
    assert result["stages"]["sft"]["model_path"] == "sft/model"  # relative to the run directory
    assert result["model_path"] == "grpo/model"
    records = read_metrics(run)
    assert steps(records, "sft") == [1, 2] and steps(records, "grpo") == [1, 2]
    # The policy (and so TRL's reference model, reloaded from the policy's path) is the SFT model.
    assert f"GRPO of {run / 'sft' / 'model'} on" in (run / "logs" / "harness.log").read_text()


def test_mixed_logs_each_language(tmp_path):
    run = tmp_path / "run"
    assert train(run, "mixed", *TINY_GRPO, "--mixture", "full", "--language-counts", "en=3,de=1", lang="en,de",
                 problems=3) == 0
    finished_model(run)
    records = read_metrics(run)
    assert next(r for r in records if r.get("event") == "mixture") == {
        "event": "mixture", "mixture": "full", "problems/de": 1, "problems/en": 3}
    step = next(r for r in records if r.get("step") == 1)
    assert "accuracy/en" in step and "reward/en" in step


def test_mixed_needs_several_languages(tmp_path, capsys):
    assert train(tmp_path / "run", "mixed", *TINY_GRPO, lang="en") == 2
    assert "mixed trains on several languages" in capsys.readouterr().err


def test_unknown_option_is_a_user_error(tmp_path, capsys):
    assert train(tmp_path / "run", "grpo", "--num-generation", "4") == 2
    assert "did you mean '--num-generations'" in capsys.readouterr().err


class _Kill(TrainerCallback):
    """Interrupts training at a given step, after the checkpoint before it was written."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_resume_continues_from_the_last_checkpoint(tmp_path, monkeypatch):
    from harness.trainers import callbacks

    run = tmp_path / "run"
    flags = ["--max-steps", "6", "--save-steps", "2", "--batch-size", "2", "--micro-batch-size", "2"]
    install = callbacks.install
    monkeypatch.setattr(callbacks, "install", lambda trainer, **kw: (install(trainer, **kw),
                                                                     trainer.add_callback(_Kill(3))))
    assert train(run, "sft", *flags, problems=8) == 130
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"
    before = read_metrics(run)
    monkeypatch.setattr(callbacks, "install", install)

    assert harness("train", "--plugin", "sft", "--model", "tiny", "--lang", "en,de", "--num-problems", "8",
                   "--run-dir", run, "--resume", *flags) == 0
    after = read_metrics(run)
    assert steps(before)[:2] == [1, 2]
    # Up to the checkpoint (step 2) nothing is lost; what ran after it ran again, recorded once.
    kept = [r for r in before if r.get("step", 0) <= 2]
    assert after[: len(kept)] == kept
    assert steps(after) == [1, 2, 3, 4, 5, 6]
    assert not any(r.get("event") == "resume" for r in after)  # the manifest records the resume
    assert len(json.loads((run / "manifest.json").read_text())["resumed"]) == 1
    assert finished_model(run)["metrics"]["global_step"] == 6.0


def test_resumed_composite_skips_its_finished_stages(tmp_path):
    run = tmp_path / "run"
    flags = [*TINY_GRPO, "--sft-steps", "2", "--sft-batch-size", "4", "--sft-micro-batch-size", "4"]
    assert train(run, "cold_start", *flags) == 0
    (run / "grpo" / "result.json").unlink()  # as if killed during the GRPO stage,
    shutil.rmtree(run / "grpo" / "checkpoints")  # before its first checkpoint
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    sft_model = (run / "sft" / "model" / "model.safetensors").stat().st_mtime_ns
    assert train(run, "cold_start", *flags, "--resume") == 0
    events = [r for r in read_metrics(run) if r.get("event") == "stage_skipped"]
    assert [e["stage"] for e in events] == ["sft"]
    assert (run / "sft" / "model" / "model.safetensors").stat().st_mtime_ns == sft_model
    assert steps(read_metrics(run), "grpo") == [1, 2]  # GRPO ran again (no checkpoint yet), logged once
