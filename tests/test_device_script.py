"""The device benchmark (bench/device/run.sh) end to end on this CPU: ``--cpu-smoke`` runs every
section's code path on the tiny shape; each section must measure positive numbers or say why it
was skipped, and only where a skip is expected on a CPU. A failed section fails the test."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HAS_VLLM = importlib.util.find_spec("vllm") is not None
HAS_LIGER = importlib.util.find_spec("liger_kernel") is not None

# Sections of a --cpu-smoke run, and the keys each must hold as positive numbers when it ran.
MEASURED = {
    "env": ["matmul.tflops"],
    "build": ["models.tiny.parameters", "models.tiny.disk_gb"],
    "sft/tiny/base_no_gc": ["s_per_step", "tokens_per_step", "tokens_per_s", "tflops_6n", "mfu", "parameters"],
    "grpo/tiny/transformers": ["s_per_step", "completion_tokens_per_step", "completion_tokens_per_s"],
    "grpo/tiny/vllm_colocate": ["s_per_step", "completion_tokens_per_step", "completion_tokens_per_s"],
    "eval/tiny/hf": ["problems", "generate_s", "problems_per_s", "generated_tokens", "tokens_per_s", "load_s"],
    "eval/tiny/vllm": ["problems", "generate_s", "problems_per_s", "generated_tokens", "tokens_per_s", "load_s"],
    "grading": ["completions", "completions_per_s", "synthetic.completions_per_s"],
}
# Skipped on a CPU, with a reason: checkpointing and Liger are GPU-only in the harness; the
# server mode needs GPUs of its own.
EXPECTED_SKIPS = {"sft/tiny/base_gc", "sft/tiny/liger_gc", "sft/tiny/liger_no_gc", "grpo/vllm_server"}
VLLM_SECTIONS = {"grpo/tiny/vllm_colocate", "eval/tiny/vllm"}


def value(section: dict, dotted: str):
    for key in dotted.split("."):
        section = section[key]
    return section


@pytest.mark.slow
def test_cpu_smoke_measures_every_section(tmp_path):
    out = tmp_path / "device.json"
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", "bench/device/run.sh", "--cpu-smoke", "--out", str(out), "--scratch",
                           str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(done.stdout) == doc  # one JSON document on stdout, the same as the file
    assert (tmp_path / "device.log").is_file()

    assert doc["mode"] == "cpu-smoke" and doc["complete"] is True
    assert doc["date"] and doc["device"] and doc["device"].startswith("cpu")
    for package in ("torch", "transformers", "trl"):
        assert doc["versions"][package], package
    assert doc["versions"]["vllm"] or not HAS_VLLM

    sections = doc["sections"]
    assert set(sections) == set(MEASURED) | EXPECTED_SKIPS, sorted(sections)
    failed = {name: s.get("error") for name, s in sections.items() if s["status"] == "failed"}
    assert not failed, json.dumps(failed, indent=1)
    for name, section in sections.items():
        assert section["status"] in {"ok", "skipped"}, (name, section)
        assert name in doc["summary"]
        if section["status"] == "skipped":
            assert isinstance(section.get("reason"), str) and len(section["reason"]) > 20, (name, section)
    for name in EXPECTED_SKIPS:
        if name.startswith("sft/tiny/liger") and HAS_LIGER:
            continue  # installed here: skipped all the same (no CUDA), reason checked above
        assert sections[name]["status"] == "skipped", (name, sections[name])
    for name, keys in MEASURED.items():
        section = sections[name]
        if name in VLLM_SECTIONS and not HAS_VLLM:
            assert section["status"] == "skipped" and "vllm" in section["reason"]
            continue
        assert section["status"] == "ok", (name, section)
        for key in keys:
            number = value(section, key)
            assert isinstance(number, (int, float)) and number > 0, (name, key, number)
        if "wall_s" in section:
            assert section["wall_s"] > 0

    sft = sections["sft/tiny/base_no_gc"]
    assert sft["effective"]["gradient_checkpointing"] is False and sft["token_count"] == "TRL num_tokens"
    assert len(sft["step_s"]) == sft["warmup_steps"] + sft["measured_steps"]
    assert sections["grading"]["source"] == ("eval/tiny/vllm" if HAS_VLLM else "eval/tiny/hf")
