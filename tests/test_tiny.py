"""The tiny offline model: builds without a network, loads with the Auto classes, speaks ChatML."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import unicodedata

import pytest

from harness.core.literals import LITERALS, STUDY_LANGUAGES
from harness.data.toy import toy_corpus
from harness.inference import tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny.build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def model(model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir)


def test_folder_holds_a_safetensors_float32_qwen2(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json"} <= names
    assert not any(name.endswith(".bin") for name in names)
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["dtype"] == "float32" and config["tie_word_embeddings"] is True
    assert not list(model_dir.parent.glob(".model.*"))  # the temporary build folder is gone
    assert (model_dir / "model.safetensors").stat().st_mode & 0o044 == 0o044  # others may read


def test_model_shape(model, tokenizer):
    assert model.config.hidden_size // model.config.num_attention_heads == 64
    assert model.model.layers[0].self_attn.head_dim == 64  # vLLM's CPU attention needs >= 32
    assert model.config.vocab_size == len(tokenizer)
    assert 2000 <= len(tokenizer) <= 4096
    assert next(model.parameters()).dtype.is_floating_point
    assert str(next(model.parameters()).dtype) == "torch.float32"
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_special_tokens_and_generation_config(model, tokenizer):
    from transformers import PreTrainedTokenizerFast

    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    for token in tiny.SPECIAL_TOKENS:
        assert len(tokenizer.encode(token)) == 1
    eos, pad = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert model.config.eos_token_id == eos and model.config.pad_token_id == pad
    assert eos in model.generation_config.eos_token_id
    assert model.generation_config.pad_token_id == pad


def test_chat_template_renders_chatml(tokenizer):
    messages = [{"role": "user", "content": "2+3?"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n"
    messages += [{"role": "assistant", "content": "\\boxed{5}"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text.endswith("<|im_start|>assistant\n\\boxed{5}<|im_end|>\n")
    system = [{"role": "system", "content": "Be brief."}] + messages
    assert tokenizer.apply_chat_template(system, tokenize=False).startswith(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")


def test_chat_template_marks_assistant_tokens(tokenizer):
    messages = [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}]
    out = tokenizer.apply_chat_template(messages, return_dict=True,
                                        return_assistant_tokens_mask=True)
    marked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tokenizer.decode(marked) == "5<|im_end|>"


@pytest.mark.parametrize("lang", STUDY_LANGUAGES)
def test_tokenization_round_trips(tokenizer, lang):
    record = toy_corpus([lang], n=1, seed=11, split="test")[0]
    texts = [record["question"], record["solution"], LITERALS[lang].reason_in_language,
             "  spaces\tand\nnewlines \\frac{1}{2} 1,250 ০১২ ๑๒ ６ 😀"]
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == unicodedata.normalize("NFC", text)
    # the toy text is the tokenizer's training text: it compresses well below a token per byte
    ids = tokenizer.encode(record["question"])
    assert len(ids) < len(record["question"].encode()) / 2


def test_forward_and_generate(model, tokenizer):
    import torch

    batch = tokenizer.apply_chat_template([{"role": "user", "content": "2+3?"}],
                                          add_generation_prompt=True, return_dict=True,
                                          return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
        out = model.generate(**batch, max_new_tokens=5, do_sample=False)
    assert logits.shape == (1, batch["input_ids"].shape[1], len(tokenizer))
    assert torch.isfinite(logits).all()
    assert out.shape[1] > batch["input_ids"].shape[1]


def test_build_is_deterministic(model_dir, tmp_path):
    again = tiny.build_tiny_model(tmp_path / "again", seed=0)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (model_dir / name).read_bytes()


def test_existing_folder_needs_overwrite(model_dir, tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    with pytest.raises(FileExistsError):
        tiny.build_tiny_model(target)
    tiny.build_tiny_model(target, overwrite=True)
    assert (target / "model.safetensors").is_file()


def test_cache_is_built_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    builds = []
    write = tiny._write
    monkeypatch.setattr(tiny, "_write", lambda path, seed, *rest: (builds.append(path), write(path, seed, *rest)))
    first = tiny.tiny_model_path()
    second = tiny.tiny_model_path()
    assert first == second and len(builds) == 1
    assert first.parent.parent == tmp_path and tiny.fingerprint(0) in first.name
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]


def test_cache_race_keeps_the_first_build(tmp_path, monkeypatch):
    """A process that loses the race to rename its build into place uses the winner's."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    write = tiny._write
    final = tmp_path / "models" / f"tiny-qwen2-s0-{tiny.fingerprint(0)}"

    def write_while_another_process_wins(path, seed, *rest):
        final.mkdir(parents=True)
        (final / tiny.MARKER).write_text("{}")  # the winner's finished build
        write(path, seed, *rest)

    monkeypatch.setattr(tiny, "_write", write_while_another_process_wins)
    assert tiny.tiny_model_path() == final
    assert (final / tiny.MARKER).read_text() == "{}"
    assert [p.name for p in final.parent.iterdir()] == [final.name]


def test_fingerprint_follows_the_recipe(monkeypatch):
    before = tiny.fingerprint(0)
    assert tiny.fingerprint(1) != before
    monkeypatch.setattr(tiny, "MODEL_SHAPE", {**tiny.MODEL_SHAPE, "num_hidden_layers": 3})
    assert tiny.fingerprint(0) != before


VLLM_SCRIPT = textwrap.dedent("""
    import json, sys, time
    if __name__ == "__main__":
        start = time.time()
        from vllm import LLM, SamplingParams
        llm = LLM(model=sys.argv[1], dtype="float32", max_model_len=512, enforce_eager=True,
                  seed=0, distributed_executor_backend="uni")
        ready = time.time()
        outputs = llm.generate(["Anna has 5 apples.", "小红有3个苹果。"],
                               SamplingParams(max_tokens=16, temperature=1.0, seed=0))
        chat = llm.chat([{"role": "user", "content": "2+3?"}], SamplingParams(max_tokens=8))
        print("RESULT " + json.dumps({
            "init_s": ready - start, "generate_s": time.time() - ready,
            "texts": [o.outputs[0].text for o in outputs],
            "token_counts": [len(o.outputs[0].token_ids) for o in outputs],
            "chat_prompt": chat[0].prompt,
        }))
""")


@pytest.mark.vllm
def test_vllm_cpu_generates(model_dir, tmp_path):
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm is not installed (tests use the CPU build, vllm-cpu)")
    script = tmp_path / "generate.py"
    script.write_text(VLLM_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
           # one process: the engine and worker processes would each import vllm again (~50 s)
           "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    proc = subprocess.run([sys.executable, str(script), str(model_dir)], env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        "vLLM failed on the tiny model (if it names torchvision: pip uninstall -y torchvision "
        f"torchaudio torchcodec):\n{proc.stderr[-4000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    assert all(count > 0 for count in result["token_counts"])
    assert all(isinstance(text, str) and text for text in result["texts"])
    assert result["chat_prompt"] == "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n"
