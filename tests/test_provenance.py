"""Every default names its source; a `paper` source is a claim DESIGN.md makes; runs record the
source of every setting; the docs table is generated from the code; the ablations deviate from the
study only when asked to."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from harness.core.config import (PAPER, PAPER_UNVERIFIED, SOURCES, build_config, config_sources, field_source, fields,
                                  option, provenance, source_kind)
from harness.core.errors import UserError
from harness.core.plugins import get_catalog
from harness.core.registry import load_registry
from harness.plugins.mixed import MixedOptions, mixture_records
from harness.plugins.rft import RFT, RFTOptions

try:  # the probe options are moving from harness.probe.run to harness.core.hookspecs
    from harness.core.hookspecs import ProbeOptions
except ImportError:
    from harness.probe.run import ProbeOptions
from harness.train.run import INFORMATIONAL_KEYS, TrainRequest, apply_recipe, run_config
from harness.trainers.grpo import GRPOOptions
from harness.trainers.options import liger_arguments
from harness.trainers.sft import SFTOptions, sft_arguments
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _config_classes():
    catalog = get_catalog()  # the built-in paradigms (an installed third-party plugin owes no sources)
    built_in = [p.config_class for name, p in catalog.paradigms.items()
                if catalog.owner[("paradigms", name)] == "harness.plugins"]
    return [*dict.fromkeys(built_in), ProbeOptions]


@pytest.mark.parametrize("config_class", _config_classes(), ids=lambda c: c.__name__)
def test_every_default_names_its_source(config_class):
    for f in fields(config_class):
        source = f.metadata.get("source", "")
        assert source_kind(source), f"{config_class.__name__}.{f.name} has no source"
        if source.startswith("harness choice"):
            assert source.partition(":")[2].strip(), f"{config_class.__name__}.{f.name}: a choice needs a reason"


def test_source_kinds():
    assert PAPER_UNVERIFIED in SOURCES and PAPER in SOURCES
    assert source_kind("paper (unverified: secondary source)") == PAPER_UNVERIFIED
    assert source_kind("paper") == PAPER and source_kind("paper: Table 1") == PAPER
    assert source_kind("harness choice: memory only") == "harness choice"
    assert source_kind("papers") == source_kind("paper (unverified)") == source_kind("") == ""
    assert field_source(option(6, source=PAPER_UNVERIFIED)) == PAPER_UNVERIFIED
    with pytest.raises(ValueError, match="must be one of"):
        option(1, source="paper-ish")


# --- `paper` only where DESIGN.md says so ---------------------------------------------------------

DESIGN = ROOT.parent / "shared" / "DESIGN.md"
# Every default labelled `paper` or `paper (unverified: secondary source)`, as (the class that sets
# it . setting, default): (kind, DESIGN.md's words that back it). A new such label fails the test below until its claim
# is added here with the words of DESIGN.md (or of the paper, once read) that state it. Settings
# DESIGN.md does not state (SFT's lr 2e-5, cosine, batch 32; RFT's and the probes' sampling
# temperature) are harness choices.
PAPER_CLAIMS = {
    ("TrainOptions.learning_rate", 1e-6): (PAPER, "RL: GRPO (the paper used verl), lr 1e-6"),
    ("TrainOptions.num_train_epochs", 3): (PAPER, "KL coefficient 0.001, 3 epochs (the seed)"),
    ("TrainOptions.consistency_prompt", False): (PAPER, "Ablations: RL(De) + consistency prompt 60.5"),
    ("GRPOOptions.prompts_per_rollout", 512): (PAPER, "rollout batch 512 prompts"),
    ("GRPOOptions.temperature", 1.0): (PAPER, "rollout batch 512 prompts, temperature 1.0"),
    ("GRPOOptions.beta", 0.001): (PAPER, "KL coefficient 0.001"),
    ("GRPOOptions.reward", "accuracy"): (PAPER, "reward = correctness of the answer in `\\boxed{}`"),
    ("SFTOptions.num_train_epochs", 3): (PAPER, "SFT: full fine-tuning, 3 epochs (the seed)"),
    ("GRPOConsistencyOptions.consistency_prompt", True): (
        PAPER, "(a) a prompt instruction to reason in the question's language, used in training and evaluation"),
    ("GRPOConsistencyOptions.consistency_reward", False): (
        PAPER, "RL(De) + consistency prompt 60.5; + prompt + consistency reward 52.0"),
    ("GRPOConsistencyOptions.accuracy_weight", 0.5): (PAPER, "r = 0.5 r_acc + 0.5 r_consistency"),
    ("RFTOptions.sampler_model", ""): (
        PAPER, "sample several responses per problem from a model (the paper: the RL model)"),
    ("ColdStartOptions.sft_steps", -1): (PAPER, "SFT→RL cold start 52.6"),
    ("ColdStartOptions.sft_epochs", 3): (PAPER, "SFT: full fine-tuning, 3 epochs (the seed)"),
    ("ProbeOptions.drift_basis", "pca"): (PAPER, "final-layer hidden states, PCA"),
}
PAPER_KINDS = (PAPER, PAPER_UNVERIFIED)


def _default(f: dataclasses.Field):
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _owner(config_class: type, name: str) -> str:
    """The class that sets field ``name``'s default: the most derived one that declares it."""
    return next(c.__name__ for c in config_class.__mro__ if name in vars(c).get("__annotations__", {}))


def _registry_sources(node, where="registry.yaml"):
    """(where, source) of every ``source:`` entry of registry.yaml."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source" and isinstance(value, str):
                yield where, value
            else:
                yield from _registry_sources(value, f"{where}:{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _registry_sources(item, where)


def test_every_paper_source_is_a_claim_design_md_backs():
    unbacked = []
    for config_class in _config_classes():
        for f in fields(config_class):
            kind = source_kind(field_source(f))
            key = (f"{_owner(config_class, f.name)}.{f.name}", _default(f))
            if kind in PAPER_KINDS and PAPER_CLAIMS.get(key, ("",))[0] != kind:
                unbacked.append(f"{key[0]} = {key[1]!r} ({kind})")
    registry = yaml.safe_load((ROOT / "registry.yaml").read_text(encoding="utf-8"))
    unbacked += [f"{where}: {source}" for where, source in _registry_sources(registry)
                 if source_kind(source) in PAPER_KINDS]
    assert not unbacked, ("labelled paper without a DESIGN.md claim in PAPER_CLAIMS (tests/test_provenance.py): "
                          + "; ".join(unbacked))


def test_the_claims_are_design_md_words():
    if not DESIGN.is_file():
        pytest.skip(f"{DESIGN} is not here")
    text = " ".join(DESIGN.read_text(encoding="utf-8").split())
    missing = [words for _, words in PAPER_CLAIMS.values() if " ".join(words.split()) not in text]
    assert not missing, f"not in DESIGN.md: {missing}"


def test_sft_settings_no_text_states_are_harness_choices():
    sources = config_sources(SFTOptions())
    for name in ("learning_rate", "lr_scheduler_type", "batch_size"):
        assert sources[name].startswith("harness choice: ") and "in no text read" in sources[name]
    assert sources["num_train_epochs"] == PAPER
    assert config_sources(RFTOptions())["sample_temperature"].startswith("harness choice: ")


def test_sources_follow_the_layer_that_set_each_value():
    config = build_config(GRPOOptions, {"learning_rate": 1e-6, "loss_type": "grpo"},
                          {"prompts_per_rollout": 16}, args=["--top-p", "0.9"],
                          where=["registry.yaml:90", "train_defaults of model 'tiny'"])
    sources = config_sources(config)
    assert sources["learning_rate"] == "paper"  # a recipe restating the paper keeps the source
    assert sources["loss_type"] == "registry recipe (registry.yaml:90)"
    assert sources["prompts_per_rollout"] == "model alias tiny"
    assert sources["top_p"] == "user (--top-p)"
    assert sources["weight_decay"] == sources["updates_per_rollout"] == "verl default"


def test_run_config_records_sources_and_replays(tmp_path):
    config = build_config(SFTOptions, {"max_length": 512}, where=["train_defaults of model 'tiny'"])
    recorded = run_config(TrainRequest(plugin="sft"), "sft", "/models/tiny", config)
    assert recorded["paradigm_config_sources"]["max_length"] == "model alias tiny"
    assert recorded["paradigm_config_sources"]["batch_size"].startswith("harness choice: ")
    assert "paradigm_config_sources" in INFORMATIONAL_KEYS
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(recorded), encoding="utf-8")
    settings = apply_recipe(TrainRequest(), recorded, path)
    replayed = config_sources(build_config(SFTOptions, settings, where=[str(path)]))
    assert replayed == recorded["paradigm_config_sources"]  # a replay keeps the recorded sources
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("max_length: 1024\n", encoding="utf-8")
    assert config_sources(build_config(SFTOptions, {"max_length": 1024}, where=[str(recipe)]))["max_length"] \
        == f"user (--config {recipe})"


def test_docs_table_is_generated_from_the_code():
    spec = importlib.util.spec_from_file_location("gen_training_docs", ROOT / "scripts" / "gen_training_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = gen.DOC.read_text(encoding="utf-8")
    assert gen.updated(text) == text, "docs/training.md is stale: run python scripts/gen_training_docs.py"
    assert "| `--top-p` | `1.0` | verl default |" in text
    # GSM8K: 44 updates in 3 epochs with one update per rollout, 88 with verl's two.
    assert gen.updates_per_run(7473, 3, 512) == 44 and gen.updates_per_run(7473, 3, 256) == 88


def test_recipe_help_shows_recipe_defaults_with_sources(capsys):
    code, out, _ = run_cli(capsys, "train", "-p", "cold_start_100", "-h")
    assert code == 0 and "source" in out
    row = next(line for line in out.splitlines() if "--sft-steps" in line)
    assert "100" in row and "registry recipe" in row or "recipe cold_start_100" in row


def test_registry_recipes_have_sources():
    catalog = get_catalog()
    registry = load_registry(plugins=catalog.paradigms)
    plugin, defaults, _ = registry.paradigm_defaults("grpo_named")
    rows = {r[0]: r for r in provenance(catalog.paradigms[plugin].config_class, defaults, "grpo_named")}
    assert rows["--loss-type"][2:4] == ("'grpo'", "recipe grpo_named")
    assert rows["--beta"][3] == "paper"


# --- no silent deviations ------------------------------------------------------------------------


def test_rft_without_a_sampler_model_is_refused(tmp_path):
    context = SimpleNamespace(output_dir=tmp_path, resume=False)
    with pytest.raises(UserError, match="--sampler-model self"):
        RFT().train(context, RFTOptions())


def _parallel(n: int, langs=("en", "zh", "de")) -> list[dict]:
    return [{"id": f"p{i}", "lang": lang, "question": f"q{i}", "answer": "1"} for lang in langs for i in range(n)]


def test_mixed_keeps_a_single_language_budget_unless_asked():
    records = _parallel(30)
    single, kind = mixture_records(records, MixedOptions(), ["en", "zh", "de"], seed=0)
    assert kind == "single" and len(single) == 30 and len({r["id"] for r in single}) == 30
    assert {lang: sum(r["lang"] == lang for r in single) for lang in ("en", "zh", "de")} == {"en": 10, "zh": 10, "de": 10}
    assert mixture_records(records, MixedOptions(), ["en", "zh", "de"], seed=0)[0] == single  # seeded
    full, kind = mixture_records(records, MixedOptions(mixture="full"), ["en", "zh", "de"], seed=0)
    assert kind == "full" and len(full) == 90
    with pytest.raises(UserError, match="did you mean 'full'"):
        mixture_records(records, MixedOptions(mixture="ful"), ["en", "zh", "de"], seed=0)


# --- GPU settings, constructed on a CPU ----------------------------------------------------------


def test_liger_and_packing_settings_construct(tmp_path):
    assert liger_arguments("auto") == {"use_liger_kernel": False}  # never on a CPU
    assert liger_arguments("true") == {"use_liger_kernel": False}
    with pytest.raises(UserError, match="use_liger_kernel"):
        liger_arguments("maybe")
    args = sft_arguments(dataclasses.replace(SFTOptions(), packing=True), tmp_path, processes=1)
    assert args.packing and args.max_length == 2048 and args.max_grad_norm == 1.0
    assert args.warmup_steps == 0 and args.weight_decay == 0.0 and not args.use_liger_kernel


# --- drift: centred PCA by default ---------------------------------------------------------------


def test_drift_basis_is_a_centred_pca_unless_asked():
    import numpy as np

    from harness.plugins.probes.drift import pca_basis, shared_basis

    rng = np.random.default_rng(0)
    # Drift along a common direction (the mean) with its scatter along another axis.
    drift = np.tile([10.0, 0, 0, 0], (40, 1)) + np.outer(rng.normal(size=40), [0, 1.0, 0, 0]) \
        + 0.01 * rng.normal(size=(40, 4))
    basis, shares, center = pca_basis([drift[:20], drift[20:]])
    assert abs(basis[0, 1]) > 0.99 and shares[0] > 0.99  # centred: the scatter axis
    assert np.allclose(center, drift.mean(axis=0))
    raw, raw_shares = shared_basis([drift])
    assert abs(raw[0, 0]) > 0.99  # uncentred: the mean drift's direction
    basis, shares, _ = pca_basis([np.zeros((3, 4))])
    assert shares.tolist() == [0.0, 0.0] and basis.shape == (2, 4)


# --- evaluation on several GPUs, constructed on a CPU --------------------------------------------


def test_eval_backend_arguments_pass_parallel_sizes_and_model_args():
    from harness.eval.lm import lm_arguments
    from harness.eval.run import EvalRequest

    request = EvalRequest(backend="vllm", tensor_parallel_size=2, data_parallel_size=4, max_model_len=2048,
                          model_args="dtype=float16,revision=abc,gpu_memory_utilization=0.9,max_model_len=4096")
    kwargs = lm_arguments("vllm", "/m", request, cuda=True)
    assert (kwargs["tensor_parallel_size"], kwargs["data_parallel_size"]) == (2, 4)
    assert (kwargs["dtype"], kwargs["revision"], kwargs["gpu_memory_utilization"], kwargs["max_model_len"]) == \
        ("float16", "abc", 0.9, 4096)
    assert kwargs["trust_remote_code"] is False and "enforce_eager" not in kwargs
    hf = lm_arguments("hf", "/m", EvalRequest(model_args="revision=main"), cuda=False)
    assert (hf["dtype"], hf["device"], hf["revision"]) == ("float32", "cpu", "main")
    with pytest.raises(UserError, match="need --backend vllm"):
        lm_arguments("hf", "/m", EvalRequest(tensor_parallel_size=2), cuda=True)
    with pytest.raises(UserError, match="remote code never runs"):
        lm_arguments("vllm", "/m", EvalRequest(model_args="trust_remote_code=True"), cuda=True)


def test_eval_parallel_flags_reach_the_backend(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", "toy_xling", "--limit", "1",
                           "--tensor-parallel-size", "2", "--run-dir", str(tmp_path / "run"))
    assert code == 2 and "need --backend vllm" in err
