"""End to end on the tiny offline model: `harness eval` (transformers and vLLM backends) and plain
`lm_eval --include_path $(harness tasks-path)`. Short responses keep each run to seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.core.literals import STUDY_LANGUAGES
from tests.conftest import REPO
from tests.helpers import run_cli

BIN = Path(sys.executable).parent


def _check_run(run: Path, tasks: list[str]) -> dict:
    results = json.loads((run / "results.json").read_text())
    for task in tasks:
        assert 0.0 <= results["results"][task]["strict_acc,none"] <= 1.0
        samples = (run / f"samples_{task}.jsonl").read_text().splitlines()
        assert len(samples) == 2
        record = json.loads(samples[0])
        assert record["arguments"][0][0].startswith("<|im_start|>user\n")  # the chat template applied
        assert isinstance(record["resps"][0][0], str)
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
    return results


def test_harness_eval_hf_backend(shared_data, tmp_path, capsys):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", "mgsm_xling,mgsm_xling_4shot_de", "--limit", "2",
                          "--max-gen-toks", "16", "--data-dir", str(shared_data), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    results = _check_run(tmp_path / "run", [f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES] + ["mgsm_xling_4shot_de"])
    assert "mgsm_xling" in results["groups"]
    assert results["harness"]["backend"] == "hf" and results["configs"]["mgsm_xling_de"]["generation_kwargs"]["max_gen_toks"] == 16
    few = json.loads((tmp_path / "run" / "samples_mgsm_xling_4shot_de.jsonl").read_text().splitlines()[0])
    assert few["arguments"][0][0].count("<|im_start|>assistant") == 5
    assert "mgsm_xling strict_acc" in out


def test_plain_lm_eval_with_include_path(shared_data, tmp_path):
    from harness.inference.tiny import tiny_model_path

    tasks_path = subprocess.run([str(BIN / "harness"), "tasks-path"], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "HARNESS_DATA_DIR": str(shared_data)}
    command = [str(BIN / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={tiny_model_path()}",
               "--tasks", "mgsm_xling", "--include_path", tasks_path, "--apply_chat_template", "--limit", "2",
               "--device", "cpu", "--batch_size", "8", "--gen_kwargs", "max_gen_toks=8",
               "--output_path", str(tmp_path / "out"), "--log_samples"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mgsm_xling" in done.stdout and "strict_acc" in done.stdout
    (results_file,) = (tmp_path / "out").rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert results["group_subtasks"]["mgsm_xling"] == [f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES]
    assert {"strict_acc,none", "flexible_acc,none"} <= set(results["results"]["mgsm_xling"])
    # lm-eval's own output feeds `harness gen` (a model against itself: every term 0 or left out)
    gen = subprocess.run([str(BIN / "harness"), "gen", "--base", str(tmp_path / "out"), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    assert "Gen mgsm_xling (strict_acc): 0.0" in gen.stdout


@pytest.mark.vllm
def test_harness_eval_vllm_backend(shared_data, tmp_path):
    pytest.importorskip("vllm")
    # vLLM spawns processes: run it as a command, as users do, not inside pytest's process.
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    run = tmp_path / "run"
    command = [str(BIN / "harness"), "eval", "--model", "tiny", "--backend", "vllm", "--tasks", "mgsm_xling",
               "--limit", "2", "--max-gen-toks", "16", "--max-model-len", "512", "--data-dir", str(shared_data),
               "--run-dir", str(run)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = _check_run(run, [f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES])
    assert results["harness"]["backend"] == "vllm"
    assert "mgsm_xling strict_acc" in done.stdout


def test_other_families_end_to_end_on_tiny(shared_data, tmp_path, capsys):
    mirror = tmp_path / "mirror"  # the shared mirror plus our MMLU-ProX-Lite fixtures
    mirror.mkdir()
    for name in ("mmath", "xreasoning"):
        (mirror / name).symlink_to(shared_data / name)
    (mirror / "mmlu_prox_lite").symlink_to(REPO / "tests" / "fixtures" / "mmlu_prox_lite")
    tasks = ["mmath500_xling_en", "maime2024_xling_de", "mgpqa_diamond_xling_zh", "mmlu_prox_lite_xling_de"]
    code, out, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", ",".join(tasks), "--limit", "1",
                          "--max-gen-toks", "8", "--data-dir", str(mirror), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    for task in tasks:
        metrics = results["results"][task]
        assert 0.0 <= metrics.get("strict_acc,none", metrics.get("strict_acc,samples")) <= 1.0
    aime = json.loads((tmp_path / "run" / "samples_maime2024_xling_de.jsonl").read_text().splitlines()[0])
    assert len(aime["resps"][0]) == 16 and len(aime["extracted"]) == 16  # 16 samples of one problem
    assert "pass@16,samples" in results["results"]["maime2024_xling_de"]
