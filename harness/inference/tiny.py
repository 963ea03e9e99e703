"""A tiny Qwen2 model and tokenizer, built offline in a few seconds: the harness's embedded default.

Tests, examples and the offline default of every command use it in place of a hub model: it has
the architecture and the chat format of the study's base model (Qwen2.5), so the same code paths
(TRL trainers, vLLM, lm-eval, probes) run end to end on a CPU without any download.

- Tokenizer: byte-level BPE (Qwen2's pre-tokenizer: single digits, letters runs) trained on text
  our own code writes (:func:`harness.data.toy.iter_toy_texts`, the prompt words of every language,
  LaTeX), with Qwen's special tokens and a ChatML chat template; any text round-trips exactly.
- Model: a randomly initialized ``Qwen2ForCausalLM``, float32, deterministic by seed. head_dim is
  64 because vLLM's CPU attention rejects smaller heads (DESIGN.md section 3).

``tiny-base`` (``builtin:tiny-base``) is the same tokenizer and a wider, deeper Qwen2
(:data:`BASE_SHAPE`), pretrained as a causal LM for a few CPU minutes on English-centric text our
code writes (:mod:`harness.data.pretrain`): a *base* model that partially solves the toy study's
problems, best in English, worst in Thai, Swahili and Bengali, which the toy study
(``harness experiment run toy``) trains and evaluates as the study does Qwen2.5-3B.

:func:`tiny_model_path` builds either once per recipe into ``$HARNESS_CACHE`` (default
``~/.cache/xling-harness``); the folder name carries a fingerprint of the recipe, so a change to
the recipe (or to the libraries that serialize it) builds a fresh one. The marker file records the
weights' hash; a cached folder whose weights no longer match it is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RECIPE_VERSION = 1

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
PAD_TOKEN, EOS_TOKEN = "<|endoftext|>", "<|im_end|>"
VOCAB_SIZE = 3072  # an upper bound: the toy text saturates below it (about 2.8k)
MARKER = "xling_tiny.json"  # written last; a folder without it is not a finished build

# Qwen2's pre-tokenizer split (tokenizer.json of Qwen2.5): contractions, letter runs, single
# digits (so arithmetic stays digit by digit), punctuation runs, newlines, spaces.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# ChatML as Qwen2.5 writes it, without Qwen's default system message. The {% generation %} block
# marks the assistant's tokens, which TRL's assistant-only loss needs.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

MODEL_SHAPE = {
    "hidden_size": 128,
    "num_attention_heads": 2,  # head_dim 64: vLLM's CPU attention rejects 16
    "num_key_value_heads": 1,
    "num_hidden_layers": 2,
    "intermediate_size": 384,
    "max_position_embeddings": 2048,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6,
    "initializer_range": 0.02,
    "tie_word_embeddings": True,
}
# tiny-base: wide enough to copy numbers from the question and do small sums (harness choice: toy
# scale; 2.3M parameters). Two layers learned to copy reliably in our calibration runs, three
# layers at the same CPU budget only sometimes (docs/toy_study.md).
BASE_SHAPE = {**MODEL_SHAPE, "hidden_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2,
              "num_hidden_layers": 2, "intermediate_size": 768}
# Pretraining of tiny-base (harness choice: toy scale). Packed 256-token sequences of the
# documents (about 1.7M tokens, 1.7M seen), AdamW, linear warm-up then cosine decay. Small batches
# and more steps learned far more in the same CPU time than 32-row batches; 420 steps leave the
# English accuracy below the ceiling, near the study's base (docs/toy_study.md).
PRETRAIN = {"steps": 420, "batch_size": 16, "seq_len": 256, "learning_rate": 3e-3, "warmup_steps": 50,
            "weight_decay": 0.1, "documents": 26_466}


# --- tokenizer -----------------------------------------------------------------------------------
def _tokenizer_texts() -> list[str]:
    """What the tokenizer learns from: toy problems in every language, the chat format, LaTeX."""
    from harness.data.toy import iter_toy_texts

    extras = [
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
        "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n",
        "\\boxed{} \\frac{1}{2} \\times \\div \\cdot \\sqrt{2} \\left( \\right) $x^2$ \\[ \\] \\( \\)",
        "0123456789 + - × ÷ = < > % . , : ; ! ? ( ) [ ] { } \" ' / \\ * ^ _ #",
    ]
    # Repeated so the chat roles and LaTeX commands become single tokens, as in Qwen's vocabulary.
    return extras * 50 + list(iter_toy_texts())


def build_tokenizer(vocab_size: int = VOCAB_SIZE):
    """Train the byte-level BPE and return it as a ``Qwen2Tokenizer`` with a chat template.

    The pipeline (NFC, Qwen2's split, byte level) is the one ``Qwen2Tokenizer`` rebuilds from
    vocab and merges when ``AutoTokenizer`` loads the folder, so training and loading agree.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import AddedToken, Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        special_tokens=list(SPECIAL_TOKENS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(_tokenizer_texts(), trainer=trainer)
    trained = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=trained["vocab"], merges=[tuple(m) for m in trained["merges"]],
        eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, unk_token=None, bos_token=None,
        clean_up_tokenization_spaces=False, model_max_length=MODEL_SHAPE["max_position_embeddings"],
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True, normalized=False)
                                       for t in SPECIAL_TOKENS]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


# --- model ---------------------------------------------------------------------------------------
def build_model(tokenizer, *, seed: int = 0, shape: dict = MODEL_SHAPE):
    """A randomly initialized tiny ``Qwen2ForCausalLM`` for this tokenizer (float32)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    eos, pad = tokenizer.convert_tokens_to_ids([EOS_TOKEN, PAD_TOKEN])
    config = Qwen2Config(vocab_size=len(tokenizer), eos_token_id=eos, pad_token_id=pad,
                         bos_token_id=None, use_cache=True, dtype="float32", **shape)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad,
                                               bos_token_id=None)
    return model


# --- pretraining (tiny-base) ---------------------------------------------------------------------
Progress = Callable[[int, int, float], None]
"""``progress(step, steps, loss)``, called every few pretraining steps."""


def pretraining_tokens(tokenizer, seed: int, settings: dict = PRETRAIN):
    """The pretraining documents as one token stream cut into ``seq_len`` rows (a LongTensor);
    documents are separated by the end-of-text token."""
    import torch

    from harness.data.pretrain import iter_documents

    pad = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    stream: list[int] = []
    docs = list(iter_documents(settings["documents"], seed=seed))
    for ids in tokenizer(docs, add_special_tokens=False)["input_ids"]:
        stream += ids
        stream.append(pad)
    seq = settings["seq_len"]
    return torch.tensor(stream[: len(stream) // seq * seq]).view(-1, seq)


def pretrain(model, tokenizer, *, seed: int, settings: dict = PRETRAIN, progress: Progress | None = None):
    """Pretrain ``model`` in place as a causal LM on :func:`pretraining_tokens`; returns the
    losses per step. Deterministic by seed on one machine (fixed batch order, one generator)."""
    import math

    import torch

    rows = pretraining_tokens(tokenizer, seed, settings)
    steps, warmup = settings["steps"], settings["warmup_steps"]
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"], betas=(0.9, 0.95),
                                  weight_decay=settings["weight_decay"])

    def factor(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    model.train()
    losses = []
    for step in range(steps):
        batch = rows[torch.randint(len(rows), (settings["batch_size"],), generator=order)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        if progress is not None and ((step + 1) % 25 == 0 or step + 1 == steps):
            progress(step + 1, steps, losses[-1])
    model.eval()
    return losses


# --- building and caching ------------------------------------------------------------------------
KINDS = ("tiny", "tiny-base")


def fingerprint(seed: int = 0, kind: str = "tiny") -> str:
    """Changes whenever the recipe, the seed or the libraries that serialize the model change."""
    from importlib.metadata import version

    recipe = {
        "version": RECIPE_VERSION, "seed": seed, "vocab_size": VOCAB_SIZE, "shape": MODEL_SHAPE,
        "special": SPECIAL_TOKENS, "split": _QWEN2_SPLIT, "chat_template": CHAT_TEMPLATE,
        "texts": hashlib.sha256("\n".join(_tokenizer_texts()).encode()).hexdigest(),
        "transformers": version("transformers"), "tokenizers": version("tokenizers"),
    }
    if kind == "tiny-base":
        from harness.data.pretrain import iter_documents, pretraining_recipe

        sample = "\n".join(iter_documents(500, seed=seed))  # catches an edit of the templates
        recipe.update(shape=BASE_SHAPE, pretrain=PRETRAIN, mixture=pretraining_recipe(),
                      documents=hashlib.sha256(sample.encode()).hexdigest(), torch=version("torch"))
    elif kind != "tiny":
        raise ValueError(f"unknown builtin model {kind!r}; known: {', '.join(KINDS)}")
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def weights_hash(folder: Path) -> str:
    """sha256 of the folder's safetensors weights (what the marker records)."""
    digest = hashlib.sha256()
    with open(Path(folder) / "model.safetensors", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(out_dir: Path, seed: int, kind: str = "tiny", progress: Progress | None = None,
           settings: dict = PRETRAIN) -> None:
    tokenizer = build_tokenizer()
    started = time.monotonic()
    if kind == "tiny-base":
        model = build_model(tokenizer, seed=seed, shape=BASE_SHAPE)
        losses = pretrain(model, tokenizer, seed=seed, settings=settings, progress=progress)
    else:
        model = build_model(tokenizer, seed=seed)
        losses = []
    tokenizer.save_pretrained(out_dir)
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a one-shard "Writing model shards" bar says nothing here
    try:
        model.save_pretrained(out_dir, safe_serialization=True)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    info = {"kind": kind, "recipe_version": RECIPE_VERSION, "seed": seed, "fingerprint": fingerprint(seed, kind),
            "parameters": sum(p.numel() for p in model.parameters()), "weights_sha256": weights_hash(out_dir),
            "build_seconds": round(time.monotonic() - started, 1)}
    if kind == "tiny-base":
        info["pretraining"] = settings
    if losses:
        info["pretraining_loss"] = {"first": losses[0], "last": losses[-1], "steps": len(losses)}
    (out_dir / MARKER).write_text(json.dumps(info, indent=2) + "\n")


def _build_beside(target: Path, seed: int, kind: str = "tiny", progress: Progress | None = None,
                  settings: dict = PRETRAIN) -> Path:
    """Build into a fresh hidden folder beside ``target`` (same filesystem: renames are atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write(tmp, seed, kind, progress, settings)
        # mkdtemp and safetensors make private files; the cache may be shared
        for path in (tmp, *tmp.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def build_tiny_model(out_dir: Path, *, seed: int = 0, overwrite: bool = False, kind: str = "tiny",
                     progress: Progress | None = None, settings: dict = PRETRAIN) -> Path:
    """Build the tiny model (or ``kind="tiny-base"``, pretrained with ``settings``) and its
    tokenizer into ``out_dir`` and return it.

    The folder appears whole or not at all: it is written beside its destination and renamed into
    place. An existing ``out_dir`` is an error unless ``overwrite``.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass overwrite=True to rebuild it")
    tmp = _build_beside(out_dir, seed, kind, progress, settings)
    try:
        if overwrite and out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def cache_root() -> Path:
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "xling-harness")


def cached_path(*, seed: int = 0, kind: str = "tiny") -> Path:
    """Where the cache keeps this recipe's build (it may not exist yet)."""
    stem = "tiny-qwen2" if kind == "tiny" else "tiny-base-qwen2"
    return cache_root() / "models" / f"{stem}-s{seed}-{fingerprint(seed, kind)}"


def is_intact(path: Path) -> bool:
    """A finished build whose weights are the ones its marker recorded."""
    try:
        recorded = json.loads((path / MARKER).read_text(encoding="utf-8")).get("weights_sha256")
        return recorded is None or recorded == weights_hash(path)  # builds before the hash: trusted
    except (OSError, ValueError, AttributeError):
        return False


def tiny_model_path(*, seed: int = 0, kind: str = "tiny", progress: Progress | None = None,
                    announce: Callable[[Path, str], None] | None = None) -> Path:
    """The cached model folder (``tiny`` or ``tiny-base``), built on first use (safe when several
    processes race). A damaged build (a marker with other weights, unreadable files) is rebuilt;
    ``announce(path, why)`` is told before a build starts."""
    path = cached_path(seed=seed, kind=kind)
    damaged = path.exists()
    if (path / MARKER).is_file():
        if is_intact(path):
            return path
        shutil.rmtree(path, ignore_errors=True)
    if announce is not None:
        announce(path, "damaged; rebuilding" if damaged else "not built yet; building")
    tmp = _build_beside(path, seed, kind, progress)
    try:
        os.replace(tmp, path)
    except OSError:  # another process renamed its build into place first
        if not is_intact(path):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
