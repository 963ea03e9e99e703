"""harness.inference: one sampler, one backend vocabulary, one device check."""

from __future__ import annotations


import pytest

from harness import inference
from harness.core.errors import UserError
from harness.inference import SamplingSettings, resolve_backend, sample
from harness.inference import sampler as sampler_module


def test_backends_are_hf_and_vllm_and_nothing_else():
    assert resolve_backend("hf") == "hf"
    for other in ("transformers", "auto", "HF"):
        with pytest.raises(UserError, match="unknown sampling backend"):
            resolve_backend(other)


def test_automatic_choice_is_hf_without_a_gpu(monkeypatch):
    monkeypatch.setattr("harness.inference.accelerator.device", lambda: "cpu")
    assert resolve_backend(None) == resolve_backend("") == "hf"
    monkeypatch.setattr("harness.inference.accelerator.device", lambda: "cuda")
    expected = "vllm" if sampler_module.vllm_available() else "hf"
    assert resolve_backend(None) == expected


def test_unknown_backend_is_a_user_error_with_a_suggestion():
    with pytest.raises(UserError, match="did you mean 'vllm'"):
        resolve_backend("vlm")


def test_device_check_is_shared():
    assert inference.device() in {"cuda", "xpu", "mps", "cpu"}
    assert inference.on_cpu() == (inference.device() == "cpu")
    assert inference.has_cuda() == (inference.device() == "cuda")


def test_bad_settings_are_refused_before_loading_anything():
    with pytest.raises(UserError, match="at least 1 sample"):
        sample("no/such-model", ["a prompt"], SamplingSettings(num_generations=0))
    assert sample("no/such-model", [], SamplingSettings()) == []


@pytest.mark.slow
def test_hf_samples_records_and_prompt_texts_alike():
    from harness.inference import chat_prompt, load_lm
    from harness.inference.tiny import tiny_model_path

    model = str(tiny_model_path())
    records = [{"question": "Emma has 3 apples and buys 2 more. How many?", "lang": "en"},
               {"question": "Emma hat 3 Äpfel und kauft 2 dazu. Wie viele?", "lang": "de"}]
    settings = SamplingSettings(num_generations=2, max_new_tokens=6, seed=3, backend="hf")
    cache: dict = {}
    first = sample(model, records, settings, cache=cache)
    assert [len(r) for r in first] == [2, 2] and all(isinstance(t, str) for r in first for t in r)
    tokenizer, _ = load_lm(model, cache)  # the cached model: no second load
    assert cache["lm_path"] == model
    texts = [chat_prompt(tokenizer, r["question"], r["lang"]) for r in records]
    assert sample(model, texts, settings, cache=cache) == first  # same prompts, same seed
    greedy = SamplingSettings(num_generations=1, temperature=0.0, max_new_tokens=6)
    assert sample(model, texts, greedy, cache=cache) == sample(model, records, greedy, cache=cache)
