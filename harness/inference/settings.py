"""How to sample: the settings :func:`harness.inference.sample` and the vLLM child process read."""

from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("hf", "vllm")
"""``hf`` (transformers, runs anywhere) and ``vllm`` (the offline engine, in a child process)."""


@dataclass
class SamplingSettings:
    num_generations: int = 1
    """Responses per prompt."""
    temperature: float = 1.0
    """0 samples greedily."""
    top_p: float = 1.0
    max_new_tokens: int = 512
    batch_size: int = 32
    """Prompts per ``generate`` call (hf backend)."""
    seed: int = 0
    consistency_prompt: bool = False
    """Records only: add the instruction to reason in the question's language."""
    backend: str | None = None
    """``hf`` or ``vllm``; None (or ``""``): vLLM on a GPU when it is installed, else hf."""
    max_model_len: int | None = None
    """vLLM context length (default: the longest prompt + max_new_tokens)."""
