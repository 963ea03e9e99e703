"""Resolving what a user names with ``--model``: an alias, a run directory, a path or a hub id."""

from __future__ import annotations

import json
from pathlib import Path

from harness.core.errors import UserError, did_you_mean
from harness.core.files import read_json, read_mapping
from harness.core.registry import Registry
from harness.core.rundir import CONFIG, RESULT, RunDir

BUILTIN_TINY = "builtin:tiny"
BUILTIN_PREFIX = "builtin:"


def resolve_model(spec: str, registry: Registry) -> str:
    """The path or hub id to load for ``spec``.

    - a registry alias (``tiny``, ``qwen2.5-3b``) resolves to its ``path``;
    - ``builtin:tiny`` and ``builtin:tiny-base`` build (once, offline) and return the tiny model
      (random) or the pretrained tiny base model;
    - a run directory of ``harness train`` resolves to the final model it recorded;
    - any other existing directory is returned as it is; anything else is taken as a hub id.
    """
    target = registry.resolve_model(spec)
    if target.startswith(BUILTIN_PREFIX):
        return str(builtin_model_path(target.removeprefix(BUILTIN_PREFIX)))
    path = Path(target).expanduser()
    if (path / RESULT).is_file():
        try:
            recorded = read_json(path / RESULT, "training result")["model_path"]
        except (KeyError, TypeError):
            raise UserError(f"{path / RESULT} is not a training result (no model_path)") from None
        model = RunDir(path).resolve(recorded)
        if not model.exists():
            raise UserError(f"run {path} recorded model {model}, which no longer exists")
        check_model_dir(model)
        return str(model)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise UserError(f"{path} is neither a model directory (no config.json) nor a training run")
        check_model_dir(path)
        return str(path)
    if target.startswith((".", "/", "~")) or target.count("/") > 1:  # a path: hub ids are org/name
        raise UserError(f"model path {target} does not exist")
    if "/" not in target:
        # Not an alias, not a folder here, and no org/name hub id: a typo far more often than one
        # of the few hub models without an organisation.
        raise UserError(f"unknown model {target!r} (not an alias, a folder or an org/name hub id)"
                        f"{did_you_mean(target, registry.models)}")
    return target


def builtin_model_path(kind: str) -> Path:
    """A model the harness builds offline (``tiny``, ``tiny-base``), from the cache or built now;
    the pretrained base prints a progress line while it builds (a few CPU minutes, once)."""
    import sys

    from harness.inference.tiny import KINDS, tiny_model_path

    if kind not in KINDS:
        raise UserError(f"unknown builtin model {kind!r}; known: {', '.join(KINDS)}")
    if kind == "tiny":
        return tiny_model_path()

    def announce(path: Path, why: str) -> None:
        print(f"{kind}: {why} it once into {path.parent} (pretraining: about 3 minutes on 2 CPU cores)",
              file=sys.stderr, flush=True)

    def progress(step: int, steps: int, loss: float) -> None:
        print(f"{kind}: pretraining step {step}/{steps} | loss {loss:.3f}", file=sys.stderr, flush=True)

    return tiny_model_path(kind=kind, progress=progress, announce=announce)


def resolve_studied_model(spec: str, registry: Registry) -> str:
    """A loadable model path for: a model folder; an eval run (or its results.json), whose
    evaluated model it is; a model alias, training run or hub id (:func:`resolve_model`)."""
    path = Path(str(spec)).expanduser()
    if (path / "config.json").is_file():
        return str(path)
    results = path / "results.json" if path.is_dir() else path
    if results.name == "results.json" and results.is_file():
        data = read_json(results, "results file")
        evaluated = ((data.get("harness") if isinstance(data, dict) else None) or {}).get("model_path")
        if evaluated:
            return str(evaluated)
    return resolve_model(str(spec), registry)


def trained_with_consistency_prompt(spec: str) -> bool:
    """Whether ``spec`` is a training run whose paradigm used the consistency prompt, so that its
    evaluation can use the same prompt (train/eval prompt drift is this field's classic bug)."""
    config = Path(spec).expanduser() / CONFIG
    if not (config.is_file() and (config.parent / RESULT).is_file()):
        return False
    settings = read_mapping(config, "run config")
    return bool((settings.get("paradigm_config") or {}).get("consistency_prompt"))


WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt", "*.gguf")


def check_model_dir(path: Path) -> None:
    """What a model folder can get wrong, found before a library loads it: an unreadable
    config.json or one a library refuses, no weights, a truncated safetensors file (one sentence
    naming the file)."""
    config = path / "config.json"
    data = read_json(config, "model config")
    if not isinstance(data, dict):
        raise UserError(f"{config} is not a model config (a JSON object)")
    if "auto_map" not in data:  # a model with its own code (trust_remote_code) checks its own config
        _check_config_fields(config)
    weights = [w for pattern in WEIGHT_FILES for w in sorted(path.glob(pattern))]
    if not weights:
        raise UserError(f"model folder {path} has no weights (no *.safetensors or *.bin file)")
    for file in weights:
        if file.suffix == ".safetensors":
            _check_safetensors(file)


def _check_config_fields(config: Path) -> None:
    """Load ``config`` as transformers will (no weights): a field of the wrong type
    (``"num_hidden_layers": "two"``) or an unknown model_type is one sentence naming the file."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(config.parent)
    except Exception as exc:  # noqa: BLE001 - transformers and huggingface_hub raise many kinds
        cause = exc.__cause__ if isinstance(exc.__cause__, (TypeError, ValueError)) else exc
        reason = " ".join(str(cause).split()) or type(exc).__name__
        raise UserError(f"{config}: transformers cannot load this model config ({reason}); "
                        f"fix the field or copy the model again") from None


def _check_safetensors(file: Path) -> None:
    """The header of a safetensors file says how long the file must be: a shorter one was cut
    off (a copy or download that did not finish)."""
    size = file.stat().st_size
    try:
        with open(file, "rb") as handle:
            header_len = int.from_bytes(handle.read(8), "little")
            if header_len <= 0 or 8 + header_len > size:
                raise ValueError("header longer than the file")
            header = json.loads(handle.read(header_len))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError):
        raise UserError(f"{file} is not a readable safetensors file (damaged or truncated)") from None
    if 8 + header_len + end > size:
        raise UserError(f"{file} is truncated: {size:,} bytes of {8 + header_len + end:,}; copy or save the model again")


CONTEXT_FIELDS = ("n_positions", "max_position_embeddings", "n_ctx")
"""Config fields that give a model's context length, in the order lm-eval's HFLM reads them
(``lm_eval.models.utils.resolve_max_length``; a composite config's ``text_config`` first)."""


def context_length(model: str) -> tuple[int, str] | None:
    """The context length (prompt + response, in tokens) a model's config.json states, and the
    field that states it: a model folder's file, or a hub model's when it is in the local cache
    (no download). None when the config gives none (the backends then ask the tokenizer) or
    cannot be read; the loaded model's own report is checked afterwards."""
    path = Path(str(model)).expanduser()
    config = path / "config.json"
    if not config.is_file():
        if path.exists() or str(model).count("/") != 1:
            return None
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(str(model), "config.json")
        except Exception:  # noqa: BLE001 - an id the hub library refuses: the load says why
            return None
        if not isinstance(cached, str):
            return None
        config = Path(cached)
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    text = data.get("text_config")
    for section in ([text] if isinstance(text, dict) else []) + [data]:
        for name in CONTEXT_FIELDS:
            value = section.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value, name
    return None
