"""Forward passes the probes share: loading a model, rendering prompts, scoring tokens, pooling
hidden states. Plain transformers, on the GPU when there is one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.prompts import prompt_messages, prompt_text

def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load(path: str, cache: dict | None = None) -> tuple[Any, Any]:
    """(tokenizer, causal LM) in eval mode; float32 on CPU, bfloat16 on a GPU. ``cache`` (a probe
    context's) keeps the last model loaded, so probes of one run share it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    slot = cache if cache is not None else {}
    if slot.get("lm_path") == path:
        return slot["lm"]
    slot.pop("lm", None)  # free the previous model first
    tokenizer = AutoTokenizer.from_pretrained(path)
    dtype = torch.bfloat16 if device() == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device()).eval()
    slot.update(lm_path=path, lm=(tokenizer, model))
    return tokenizer, model


def chat_prompt(tokenizer: Any, question: str, lang: str) -> str:
    """The evaluation prompt of a problem as text, through the model's chat template (the harness's
    one prompt function builds the user turn)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(prompt_messages(question, lang), add_generation_prompt=True,
                                             tokenize=False)
    return prompt_text(question, lang) + "\n"


def question_split(tokenizer: Any, question: str, lang: str) -> tuple[str, str]:
    """(what precedes the question in its prompt, the question): to score the question alone."""
    prompt = chat_prompt(tokenizer, question, lang)
    start = prompt.find(question.strip())
    return prompt[:start], question.strip()


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def target_nll(tokenizer: Any, model: Any, pairs: Sequence[tuple[str, str]],
               batch_size: int = 8) -> list[tuple[float, int]]:
    """For each (context, target): the summed negative log-likelihood (nats) of the target's
    tokens given the context, and their number. Context and target are tokenized apart, so the
    target's tokens are the same whatever precedes them."""
    import torch

    encoded = [(_ids(tokenizer, ctx), _ids(tokenizer, tgt)) for ctx, tgt in pairs]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[tuple[float, int]] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        length = max(len(c) + len(t) for c, t in chunk)
        ids = torch.full((len(chunk), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for row, (ctx, tgt) in enumerate(chunk):
            seq = ctx + tgt
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
            # The first token of a sequence has no context to be predicted from.
            first = max(len(ctx), 1)
            labels[row, first : len(seq)] = ids[row, first : len(seq)]
        with torch.no_grad():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
        shifted = logits[:, :-1].float()
        target = labels[:, 1:].to(shifted.device)
        nll = torch.nn.functional.cross_entropy(shifted.transpose(1, 2), target, ignore_index=-100,
                                                reduction="none")
        counted = (target != -100)
        out += [(float(nll[r][counted[r]].sum()), int(counted[r].sum())) for r in range(len(chunk))]
    return out


def pooled_hidden(tokenizer: Any, model: Any, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
    """Final-layer hidden states (after the model's final norm), mean-pooled over each text's
    tokens: an array (len(texts), hidden size), float64."""
    import torch

    backbone = model.base_model  # the decoder without the LM head
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows = []
    for start in range(0, len(texts), batch_size):
        encoded = [_ids(tokenizer, t) for t in texts[start : start + batch_size]]
        length = max(len(e) for e in encoded)
        ids = torch.full((len(encoded), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(encoded):
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        with torch.no_grad():
            hidden = backbone(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).last_hidden_state
        weights = mask.to(hidden.device).unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1)
        rows.append(pooled.float().cpu().numpy().astype(np.float64))
    return np.concatenate(rows) if rows else np.zeros((0, 0))
