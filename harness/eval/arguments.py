"""What ``--gen-kwargs`` and ``--model-args`` may say: lm-eval's ``key=value,...`` parsed as lm-eval
parses it, with the keys the harness knows type- and range-checked, and the rest checked against
what the backend takes, before anything loads (``harness eval`` and the backend arguments of
:mod:`harness.eval.lm` both read them here)."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.core.config import SEED_MAX, Bounds, value_problem
from harness.core.errors import UserError, did_you_mean


def check_parallel(backend: str, tensor_parallel_size: int, data_parallel_size: int) -> None:
    """Model parallelism is vLLM's: hf evaluates on one device (or its own ``parallelize``)."""
    if backend == "hf" and (tensor_parallel_size > 1 or data_parallel_size > 1):
        raise UserError("--tensor-parallel-size and --data-parallel-size need --backend vllm "
                        "(hf: --model-args parallelize=True, or launch with accelerate)")


_TOKENS = (int, Bounds(ge=1))
GEN_KWARGS: dict[str, tuple[type, Bounds | None]] = {
    "do_sample": (bool, None),
    "temperature": (float, Bounds(ge=0)),
    "top_p": (float, Bounds(gt=0, le=1)),
    "top_k": (int, Bounds(ge=-1)),
    "min_p": (float, Bounds(ge=0, le=1)),
    "repetition_penalty": (float, Bounds(gt=0)),
    "max_gen_toks": _TOKENS, "max_new_tokens": _TOKENS, "max_tokens": _TOKENS, "max_completion_tokens": _TOKENS,
    "until": (str, None),
    "seed": (int, Bounds(ge=0, le=SEED_MAX)),
}
"""Generation kwargs of lm-eval and both backends, with their types and values (a value of the
wrong type reaches the library otherwise: ``temperature=abc`` is a ValueError there)."""
BUDGET_KEYS = ("max_gen_toks", "max_new_tokens", "max_tokens", "max_completion_tokens")
"""lm-eval's names of the generation budget, in the order it takes them."""
MODEL_ARGS: dict[str, tuple[type, Bounds | None]] = {
    "max_length": _TOKENS, "max_model_len": _TOKENS, "max_batch_size": _TOKENS, "max_num_seqs": _TOKENS,
    "tensor_parallel_size": _TOKENS, "data_parallel_size": _TOKENS,
    "gpu_memory_utilization": (float, Bounds(gt=0, le=1)),
    "revision": (str, Bounds(nonempty=True)), "parallelize": (bool, None), "seed": (int, Bounds(ge=0, le=SEED_MAX)),
}
"""Backend arguments whose type and values are checked before the model loads (dtype too:
:func:`check_model_args`)."""
DTYPE_KEYS = {"hf": ("dtype", "softmax_dtype", "mixed_precision_dtype"), "vllm": ("dtype",)}
VLLM_DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
"""The dtypes vLLM takes (vllm.config.model's names, and auto)."""


def _key_value_pairs(text: str | None, flag: str) -> dict[str, Any]:
    """lm-eval's ``key=value,...`` (its own value parsing: true/false, None, numbers, strings); an
    item without ``=`` or a key given twice is a UserError."""
    from lm_eval.utils import handle_arg_string

    out: dict[str, Any] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{flag} takes key=value pairs separated by commas, got {item!r}")
        if key in out:
            raise UserError(f"{flag} gives {key} twice")
        out[key] = handle_arg_string(value)
    return out


def _check_typed(flag: str, values: dict[str, Any], table: dict[str, tuple[type, Bounds | None]]) -> None:
    for key, value in values.items():
        if key not in table:
            continue
        kind, bounds = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is str and not isinstance(value, str):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[kind]
            raise UserError(f"{flag} {key} must be {words}, got {value!r}")
        problem = value_problem(value, bounds)
        if problem:
            raise UserError(f"{flag} {key} must be {problem}, got {value!r}")


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    """``--gen-kwargs`` as lm-eval will read it, with the known kwargs type- and range-checked."""
    values = _key_value_pairs(text, "--gen-kwargs")
    _check_typed("--gen-kwargs", values, GEN_KWARGS)
    return values


def parse_model_args(text: str | None) -> dict[str, Any]:
    """``--model-args`` as lm-eval will read it, with the known arguments type- and range-checked."""
    values = _key_value_pairs(text, "--model-args")
    for key in ("pretrained", "trust_remote_code"):
        if key in values:
            raise UserError(f"--model-args cannot set {key} (the model is --model; remote code never runs)")
    _check_typed("--model-args", values, MODEL_ARGS)
    return values


def check_model_args(backend: str, text: str | None) -> None:
    """Before the model loads: the dtypes of ``--model-args`` are dtypes the backend knows (hf:
    torch's; vllm: :data:`VLLM_DTYPES`) and, for vllm, every key is an argument of lm-eval's VLLM
    or of vLLM's engine (hf passes unknown keys on to ``from_pretrained``)."""
    values = parse_model_args(text)
    for key in DTYPE_KEYS.get(backend, ()):
        if key not in values or values[key] is None:
            continue
        value = values[key]
        if backend == "vllm":
            known = VLLM_DTYPES
        else:
            import torch

            names = [n for n in dir(torch) if isinstance(getattr(torch, n, None), torch.dtype)]
            common = [n for n in ("float32", "bfloat16", "float16", "float64", "half", "float") if n in names]
            known = ("auto", *common, *sorted(set(names) - set(common)))
        if value not in known:
            shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
            raise UserError(f"--model-args {key}={value} is not a dtype --backend {backend} takes ({shown})"
                            f"{did_you_mean(str(value), known)}")
    if backend == "vllm" and set(values) - set(MODEL_ARGS) - {"dtype"}:
        names = _vllm_arguments()
        for key in values:
            if names and key not in names:
                raise UserError(f"--model-args {key} is not an argument of lm-eval's VLLM or of vLLM's engine"
                                f"{did_you_mean(key, names, list_all=False)}")


def _vllm_arguments() -> set[str]:
    """The arguments lm-eval's VLLM and vLLM's engine take (empty when vLLM is not installed)."""
    import inspect

    try:
        from vllm.engine.arg_utils import EngineArgs
    except ImportError:
        return set()
    from harness.eval.lm import lm_eval_vllm_class

    own = set(inspect.signature(lm_eval_vllm_class().__init__).parameters) - {"self", "kwargs"}
    return own | {f.name for f in dataclasses.fields(EngineArgs)}


def check_gen_kwargs(backend: str, text: str | None) -> None:
    """Before the model loads: every ``--gen-kwargs`` key is one lm-eval or the backend takes
    (hf: transformers' GenerationConfig; vllm: SamplingParams), as a key the backend does not know
    only fails once generation starts."""
    values = parse_gen_kwargs(text)
    if not set(values) - set(GEN_KWARGS):
        return
    if backend == "vllm":
        try:
            from vllm import SamplingParams
        except ImportError:
            return
        known = set(getattr(SamplingParams, "__struct_fields__", ()))
    else:
        from transformers import GenerationConfig

        known = set(GenerationConfig().to_dict())
    known = {k for k in known if not k.startswith("_")} | set(GEN_KWARGS)
    library = "vLLM's SamplingParams" if backend == "vllm" else "transformers' GenerationConfig"
    for key in values:
        if known and key not in known:
            raise UserError(f"--gen-kwargs {key} is not a generation setting of lm-eval or of {library}"
                            f"{did_you_mean(key, known, list_all=False)}")
