"""The probes end to end on tiny models: a base (the offline tiny Qwen2) and two copies trained
briefly (plain next-token training on toy solutions, German and English), through the post_eval
hook after a real evaluation, through ``harness probe``, and with the vLLM sampler."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.core.hookspecs import EvalContext, ProbeContext, ProbeOptions
from harness.core.plugins import collect, make_plugin_manager
from harness.core.rundir import RunDir
from harness.plugins.probes.inputs import load_problems
from harness.plugins.probes import runner
from harness.plugins.probes.runner import PROBES_FILE, run_probes

PNG = b"\x89PNG\r\n\x1a\n"
ALL = ["consistency", "perplexity", "self_similarity", "drift"]


def train_copy(base: str, lang: str, out, steps: int = 6, seed: int = 0) -> str:
    """A few AdamW steps of next-token training on toy solutions in ``lang`` (loss on the solutions)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.data.toy import toy_corpus
    from harness.lang.prompts import prompt_messages

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base).train()
    records = toy_corpus([lang], n=48, seed=seed)
    prompts = [tokenizer.apply_chat_template(prompt_messages(r["question"], lang), add_generation_prompt=True,
                                             tokenize=False) for r in records]
    texts = [p + r["solution"] + tokenizer.eos_token for p, r in zip(prompts, records)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for step in range(steps):
        rows = [(step * 8 + i) % len(texts) for i in range(8)]
        batch = tokenizer([texts[i] for i in rows], return_tensors="pt", padding=True, add_special_tokens=False)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        for row, i in enumerate(rows):  # learn the solutions, not the prompts (as SFT does)
            labels[row, : len(tokenizer(prompts[i], add_special_tokens=False)["input_ids"])] = -100
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval().save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    from harness.inference.tiny import tiny_model_path

    base = str(tiny_model_path())
    root = tmp_path_factory.mktemp("probe-models")
    return {"base": base, "sft_de": train_copy(base, "de", root / "sft_de"),
            "sft_en": train_copy(base, "en", root / "sft_en", seed=1)}


def builtin_probes():
    return collect(make_plugin_manager(entry_points=False)).probes


def assert_png(path):
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000, path


def test_a_model_compared_with_itself_has_zero_drift(tiny_models, tmp_path):
    run = RunDir.create("probe", "self", root=tmp_path)
    ctx = ProbeContext(model=tiny_models["sft_de"], base_model=tiny_models["sft_de"], run=run,
                       languages=["en", "de"], problems=load_problems("toy", ["en", "de"], n=3))
    result = run_probes("drift", ctx, builtin_probes())["drift"]
    stats = result["per_run"]["model"]
    assert stats["mean_norm"] == 0.0 and stats["total_variance"] == 0.0 and stats["spread"] == 0.0
    assert all(v == 0.0 for v in stats["per_language"].values())
    assert_png(run.path / result["plots"][0])


def test_drift_without_a_base_is_skipped_not_failed(tiny_models, tmp_path):
    ctx = ProbeContext(model=tiny_models["sft_de"], run=RunDir.create("probe", "x", root=tmp_path),
                       languages=["en"], problems=load_problems("toy", ["en"], n=1))
    assert "base model" in run_probes("drift", ctx, builtin_probes())["drift"]["skipped"]


def test_sampling_is_reproducible_and_shaped_k_per_problem(tiny_models):
    from harness.plugins.probes.sampling import sample

    problems = load_problems("toy", ["de", "zh"], n=2)
    flat = [p for lang in ("de", "zh") for p in problems[lang]]
    first = sample(tiny_models["sft_de"], flat, ProbeOptions(num_generations=3, max_new_tokens=8, seed=5))
    assert [len(r) for r in first] == [3, 3, 3, 3] and all(isinstance(t, str) for r in first for t in r)
    assert sample(tiny_models["sft_de"], flat, ProbeOptions(num_generations=3, max_new_tokens=8, seed=5)) == first


def test_all_probes_after_a_real_evaluation_through_post_eval(tiny_models, shared_data, tmp_path):
    """harness eval's run directory (real lm-eval samples), then the post_eval hook with every
    built-in probe; two trained runs drift from one base on one shared PCA basis."""
    evaluation = pytest.importorskip("harness.eval.run")
    from harness.core.registry import load_registry

    langs = ["en", "de", "zh"]
    request = evaluation.EvalRequest(model=tiny_models["sft_de"], tasks=[f"mgsm_xling_{l}" for l in langs],
                                     limit=3, data_dir=str(shared_data), max_gen_toks=24, batch_size="8",
                                     run_dir=tmp_path / "eval")
    pm = make_plugin_manager(entry_points=False)
    catalog, registry = collect(pm), load_registry()
    run, results = evaluation.run_eval(request, registry, catalog)
    # What the evaluation command passes: its own settings (backend "hf", temperature, ...) + ours.
    settings = {**dataclasses.asdict(request), "model_path": tiny_models["sft_de"],
                "base": tiny_models["base"], "probes": ",".join(ALL),
                "compare": {"sft_en": tiny_models["sft_en"]}, "label": "sft_de",
                "probe_options": {"num_generations": 3, "max_new_tokens": 24, "num_problems": 3}}
    # The probes plugin's own post_eval (settings["base"] here is a model, which Gen would refuse).
    runner.post_eval(EvalContext(settings=settings, catalog=catalog, registry=registry, run=run, results=results))
    figures = results["probes"]
    assert set(figures) == set(ALL)
    assert json.loads((run.path / PROBES_FILE).read_text(encoding="utf-8")).keys() == set(ALL)

    consistency = figures["consistency"]
    assert consistency["source"] == "eval samples"
    assert set(consistency["per_task"]["mgsm_xling"]) == set(langs)
    assert all(row["n"] == 3 for row in consistency["per_task"]["mgsm_xling"].values())

    perplexity = figures["perplexity"]["per_language"]
    assert set(perplexity) == set(langs)
    assert all(row["problem_ppl"] > 1 for row in perplexity.values())

    similarity = figures["self_similarity"]["per_language"]
    assert all(0 <= row["self_bleu"] <= 100 and row["problems"] == 3 for row in similarity.values())

    drift = figures["drift"]
    assert set(drift["per_run"]) == {"sft_de", "sft_en"} and drift["problems"] == 9  # MGSM questions
    assert all(stats["mean_norm"] > 0 and 0 < stats["coherence"] <= 1 for stats in drift["per_run"].values())
    assert 0 < sum(drift["explained_by_2d"]) <= 1 + 1e-9

    plots = [p for name in ALL for p in figures[name]["plots"]]
    assert sorted(plots) == ["probes/consistency_mgsm_xling.png", "probes/drift.png",
                             "probes/perplexity.png", "probes/self_similarity.png"]
    for plot in plots:
        assert_png(run.path / plot)


def test_probe_command(tiny_models, tmp_path, capsys):
    from harness.cli import main

    out_dir = tmp_path / "probe-run"
    with pytest.raises(SystemExit) as info:
        main(["probe", "self_similarity,perplexity", "--model", tiny_models["sft_de"], "--lang", "en,de",
              "--num-problems", "2", "--num-generations", "2", "--max-new-tokens", "12", "--run-dir", str(out_dir)])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert info.value.code == 0, out
    assert "self_similarity" in out and "response_ppl" in out
    saved = json.loads((out_dir / PROBES_FILE).read_text(encoding="utf-8"))
    assert set(saved) == {"self_similarity", "perplexity"}
    assert json.loads((out_dir / "manifest.json").read_text())["status"] == "finished"


def test_probe_command_errors_are_one_sentence(capsys):
    from harness.cli import main

    with pytest.raises(SystemExit) as info:
        main(["probe", "--help"])
    assert info.value.code == 0 and "--num-problems" in capsys.readouterr().out
    for args, message in [(["probe", "consistensy"], "did you mean 'consistency'"),
                          (["probe", "consistency", "--lang", "xx"], "unknown language 'xx'"),
                          (["probe", "drift", "--compare", "oops"], "--compare takes label=model")]:
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_sampler_on_cpu(tiny_models):
    pytest.importorskip("vllm")
    from harness.plugins.probes.sampling import sample

    problems = load_problems("toy", ["en", "ja"], n=1)
    flat = problems["en"] + problems["ja"]
    responses = sample(tiny_models["sft_de"], flat, ProbeOptions(num_generations=2, max_new_tokens=8, backend="vllm"))
    assert [len(r) for r in responses] == [2, 2] and all(isinstance(t, str) for r in responses for t in r)
