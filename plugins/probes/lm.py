"""Forward passes the probes share: scoring tokens and pooling hidden states, with plain
transformers on the model :func:`harness.inference.load_lm` loaded (on the GPU when there is one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Loading and prompting are the inference layer's; the probes use them under these names.
from harness.inference import chat_prompt
from harness.inference import load_lm as load  # noqa: F401


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
