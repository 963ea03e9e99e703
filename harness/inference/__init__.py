"""One inference layer: sampling responses from a model (RFT data, probes, held-out accuracy),
loading causal LMs, and the device check, with one backend vocabulary: ``hf`` (transformers, runs
anywhere) and ``vllm`` (the offline engine, in a child process).

    from harness.inference import SamplingSettings, sample
    responses = sample("runs/grpo_de", records, SamplingSettings(num_generations=4, max_new_tokens=256))

Top-level imports stay light: torch, transformers and vLLM load when a model does.
"""

from __future__ import annotations

from harness.inference.accelerator import device, has_cuda, on_cpu
from harness.inference.sampler import chat_prompt, load_lm, resolve_backend, sample
from harness.inference.settings import BACKENDS, SamplingSettings

__all__ = ["BACKENDS", "SamplingSettings", "chat_prompt", "device", "has_cuda", "load_lm",
           "on_cpu", "resolve_backend", "sample"]
