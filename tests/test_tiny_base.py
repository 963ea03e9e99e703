"""tiny-base: an English-centric base model pretrained offline on text our code writes, and the toy
study's three disjoint splits (pretraining text, training data, benchmark)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from harness.core.literals import STUDY_LANGUAGES
from harness.data import pretrain
from harness.data.toy import STUDY_SPLITS, study_problems, toy_study_corpus
from harness.inference import tiny
from tests.conftest import REPO
from tests.helpers import harness_in

REGISTRY_PATH = REPO / "registry.yaml"


def _keys(split: str, n: int) -> set:
    return {(t, tuple(sorted(nums.items())), name, item) for t, nums, name, item in study_problems(n, 0, split)}


def test_the_three_splits_share_no_problem():
    pre, train, test = (_keys(split, 1500) for split in STUDY_SPLITS)
    assert len(test) == 1500 and not (pre & train) and not (pre & test) and not (train & test)


def test_no_benchmark_question_appears_in_the_pretraining_text():
    questions = {r["question"] for r in toy_study_corpus(STUDY_LANGUAGES, n=250, split="test")}
    documents = list(pretrain.iter_documents(20_000))
    found = [q for q in questions if any(q in d for d in documents)]
    assert found == []
    # while the training split's questions are not in it either
    train_questions = {r["question"] for r in toy_study_corpus(["en"], n=200, split="train")}
    assert not any(q in d for q in train_questions for d in documents[:3000])


def test_benchmark_is_parallel_with_250_problems_per_language():
    records = toy_study_corpus(STUDY_LANGUAGES, n=250, split="test")
    by_id: dict[str, set] = {}
    for r in records:
        by_id.setdefault(r["id"], set()).add((r["lang"], r["answer"]))
    assert len(by_id) == 250
    assert all(len(v) == 10 and len({a for _, a in v}) == 1 for v in by_id.values())


def test_mixture_is_english_centric_and_matches_the_registry():
    import yaml

    stated = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))["models"]["tiny-base"]["pretraining"]
    assert stated["language_shares"] == dict(pretrain.LANGUAGE_SHARES)
    assert stated["answer_formats"] == dict(pretrain.ANSWER_FORMATS)
    assert stated["documents"] == dict(pretrain.DOCUMENT_KINDS)
    assert stated["source"].startswith("harness choice")
    shares = pretrain.LANGUAGE_SHARES
    assert abs(sum(shares.values()) - 1) < 1e-9
    assert shares["en"] == max(shares.values())
    assert max(shares[l] for l in ("th", "sw", "bn")) < min(shares[l] for l in ("zh", "de", "es", "fr", "ja", "ru"))
    # the documents follow the shares: the boxed-answer instruction is English in every language,
    # so count the language of the answer phrase
    from harness.core.literals import LITERALS

    docs = [d for d in pretrain.iter_documents(6000) if "=" in d and "\\boxed" not in d[:0]]
    english = sum("The answer is" in d for d in docs)
    boxed = sum("\\boxed{" in d for d in docs)
    assert 0.05 < boxed / len(docs) < 0.4  # answers in \boxed{} are the minority, as on the web
    assert english > 3 * sum(LITERALS["de"].answer_phrases[0] in d for d in docs)


def test_pretraining_is_deterministic_by_seed(tmp_path):
    settings = {**tiny.PRETRAIN, "steps": 2, "documents": 200}
    a = tiny.build_tiny_model(tmp_path / "a", kind="tiny-base", settings=settings)
    b = tiny.build_tiny_model(tmp_path / "b", kind="tiny-base", settings=settings)
    c = tiny.build_tiny_model(tmp_path / "c", kind="tiny-base", settings=settings, seed=1)
    info = json.loads((a / tiny.MARKER).read_text())
    assert info["kind"] == "tiny-base" and info["pretraining_loss"]["steps"] == 2
    assert tiny.weights_hash(a) == tiny.weights_hash(b) == info["weights_sha256"]
    assert tiny.weights_hash(c) != tiny.weights_hash(a)


def test_a_damaged_cache_entry_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    path = tiny.tiny_model_path()
    good = tiny.weights_hash(path)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # a torn copy
    assert not tiny.is_intact(path)
    told = []
    assert tiny.tiny_model_path(announce=lambda p, why: told.append((p, why))) == path
    assert tiny.weights_hash(path) == good and told == [(path, "damaged; rebuilding")]
    assert tiny.tiny_model_path(announce=lambda p, why: told.append(why)) == path and len(told) == 1  # cached


def test_tiny_base_profile_on_held_out_problems(tiny_base, tmp_path):
    """The built base answers held-out problems in every language, English best (greedy, 40 per
    language: a smoke check of the profile that bench/bench_tiny_base.py measures on all 250)."""
    from harness.plugins.gen import family_accuracies, load_results
    proc = harness_in(tmp_path, "eval", "--model", "tiny-base", "--tasks", "toy_study_xling", "--limit", "40",
                   "--batch-size", "64", "--run-dir", "runs/base", timeout=600)
    assert proc.returncode == 0, proc.stderr
    _, accs = family_accuracies(load_results(tmp_path / "runs" / "base"))["toy_study_xling"]
    assert set(accs) == set(STUDY_LANGUAGES)
    assert all(acc > 0 for acc in accs.values()), accs
    assert accs["en"] >= max(accs[l] for l in ("th", "sw", "bn")), accs


def test_harness_tiny_base_prints_the_cached_path(tiny_base, tmp_path):
    proc = harness_in(tmp_path, "tiny", "--base", timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == str(tiny_base)
    assert (tiny_base / tiny.MARKER).is_file() and tiny.is_intact(tiny_base)


@pytest.mark.parametrize("template", ["add", "sub", "price", "share"])
def test_every_template_reaches_the_benchmark(template):
    assert Counter(t for t, *_ in study_problems(250, 0, "test"))[template] > 10
