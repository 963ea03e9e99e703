"""The probe interface and the probes' measurements, without a model: registration through the
hook, third-party probes, reading eval samples, and the properties each measure must have."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.core.errors import UserError
from harness.core.hookspecs import EvalContext, Probe, ProbeContext, hookimpl
from harness.core.literals import STUDY_LANGUAGES
from harness.core.plugins import collect, fire_eval_hook, make_plugin_manager
from harness.core.registry import load_registry
from harness.core.rundir import RunDir
from harness.plugins.probes.inputs import load_problems, read_eval_samples
from harness.plugins.probes.runner import PROBES_FILE, parse_names, run_probes

BUILTIN = {"consistency", "perplexity", "self_similarity", "drift"}


class CountingProbe:
    name = "mine"
    description = "A third party's probe: counts the problems per language."

    def run(self, context):
        path = context.plot_path("mine.txt")
        path.write_text("plot")
        return {"per_language": {lang: len(p) for lang, p in context.problems.items()},
                "plots": [context.relative(path)]}


class ThirdParty:
    @hookimpl
    def register_probes(self, register):
        register(CountingProbe())


def context(tmp_path, **changes) -> ProbeContext:
    problems = load_problems("toy", ["en", "de"], n=3)
    return ProbeContext(model="unused", run=RunDir.create("probe", "t", root=tmp_path),
                        languages=["en", "de"], problems=problems, **changes)


# --- registration and running ---------------------------------------------------------------------


def test_builtin_probes_are_registered_by_the_probes_plugin():
    catalog = collect(make_plugin_manager(entry_points=False))
    assert BUILTIN <= set(catalog.probes)
    for name in BUILTIN:
        assert catalog.owner[("probes", name)] == f"harness.plugins.probes.{name}"  # one default plugin each
        assert isinstance(catalog.probes[name], Probe)
        assert catalog.probes[name].description


def test_third_party_probe_registers_and_runs_through_post_eval(tmp_path):
    pm = make_plugin_manager(entry_points=False, extra=[("mine", ThirdParty())])
    catalog = collect(pm)
    assert catalog.owner[("probes", "mine")] == "mine"
    # post_eval finds the probe in the catalog it is given (no global catalog).
    run = RunDir.create("eval", "fake", root=tmp_path)
    results = {"results": {}}
    hooks = EvalContext(settings={"model": "someone/a-model", "probes": "mine", "languages": ["de", "fr"],
                                  "probe_options": {"num_problems": 2}},
                        catalog=catalog, registry=load_registry(), run=run, results=results)
    assert fire_eval_hook("post_eval", hooks) == {"harness.plugins.probes.runner": {"file": PROBES_FILE}}
    assert results["probes"] == {"mine": {"per_language": {"de": 2, "fr": 2}, "plots": ["probes/mine.txt"]}}
    assert json.loads((run.path / PROBES_FILE).read_text())["mine"]["per_language"] == {"de": 2, "fr": 2}
    assert (run.path / "probes" / "mine.txt").read_text() == "plot"


def test_post_eval_without_probes_does_nothing(tmp_path):
    pm = make_plugin_manager(entry_points=False)
    run = RunDir.create("eval", "fake", root=tmp_path)
    results = {"results": {}}
    hooks = EvalContext(settings={"model": "tiny"}, catalog=collect(pm), registry=load_registry(), run=run,
                        results=results)
    assert fire_eval_hook("post_eval", hooks) == {} and results == {"results": {}}
    assert not (run.path / PROBES_FILE).exists()


def test_unknown_probe_is_a_user_error_before_anything_runs(tmp_path):
    ctx = context(tmp_path)
    with pytest.raises(UserError, match="unknown probe 'consistensy'; did you mean 'consistency'"):
        run_probes("consistensy", ctx, {"consistency": CountingProbe()})
    assert not (ctx.run.path / PROBES_FILE).exists()


def test_results_of_later_probes_are_merged_into_probes_json(tmp_path):
    ctx = context(tmp_path)
    other = CountingProbe()
    other.name = "other"
    run_probes(["mine"], ctx, {"mine": CountingProbe()})
    run_probes("other", ctx, {"other": other})
    assert set(json.loads((ctx.run.path / PROBES_FILE).read_text())) == {"mine", "other"}


def test_post_eval_reads_probe_options_only_from_probe_options(tmp_path):
    from harness.plugins.probes.runner import options_from

    eval_settings = {"backend": "hf", "temperature": 0.6, "batch_size": "auto", "probe_options": {"num_generations": "3"}}
    options = options_from(eval_settings)
    assert (options.backend, options.temperature, options.batch_size, options.num_generations) == ("hf", 1.0, 8, 3)
    with pytest.raises(UserError, match="unknown probe option 'num_generation'; did you mean 'num_generations'"):
        options_from({"probe_options": {"num_generation": 3}})


def test_parse_names():
    assert parse_names("a, b,a") == ["a", "b"]
    assert parse_names(["a,b", "c"]) == ["a", "b", "c"]
    assert parse_names(None) == []


# --- inputs -----------------------------------------------------------------------------------------


def test_toy_problems_are_translations_of_each_other():
    problems = load_problems("toy", ["en", "zh", "de"], n=4, seed=1)
    assert [len(problems[lang]) for lang in ("en", "zh", "de")] == [4, 4, 4]
    assert [p["answer"] for p in problems["en"]] == [p["answer"] for p in problems["de"]]
    assert problems["zh"][0]["lang"] == "zh"


def test_mgsm_problems_take_the_same_rows_in_every_language(shared_data):
    problems = load_problems(shared_data / "mgsm", ["en", "th"], n=5, seed=3)
    assert [p["id"] for p in problems["en"]] == [p["id"] for p in problems["th"]]
    assert [p["answer"] for p in problems["en"]] == [p["answer"] for p in problems["th"]]
    assert load_problems(shared_data, ["en"], n=5, seed=3) == {"en": problems["en"]}  # the mirror's root
    with pytest.raises(UserError, match="neither 'toy', 'toy_study' nor"):
        load_problems(shared_data / "nowhere", ["en"], n=2)


def _write_samples(path, task, docs, runs=1, filters=("strict", "flexible")):
    for run in range(runs):
        suffix = f"_run{run}" if runs > 1 else ""
        with open(path / f"samples_{task}{suffix}.jsonl", "w", encoding="utf-8") as handle:
            for i, (doc, response) in enumerate(docs):
                for filt in filters:  # lm-eval: one line per document per filter
                    handle.write(json.dumps({"doc_id": i, "doc": doc, "target": doc["answer"], "filter": filt,
                                             "resps": [[f"{response} #{run}"]], "filtered_resps": ["x"]},
                                            ensure_ascii=False) + "\n")
            handle.write('{"doc_id": 99, "do')  # a torn last line


def test_read_eval_samples_pools_runs_and_skips_repeated_filters(tmp_path):
    docs = [({"id": f"mgsm-{i}", "lang": "de", "question": f"Frage {i}", "answer": str(i)}, f"Antwort {i}")
            for i in range(3)]
    _write_samples(tmp_path, "mgsm_xling_de", docs, runs=2)
    _write_samples(tmp_path, "mgsm_xling_zh", [({"question": "问题", "answer": "1"}, "答")])  # lang from name
    samples = read_eval_samples(tmp_path)
    assert set(samples) == {"mgsm_xling"}
    german = samples["mgsm_xling"]["de"]
    assert [r["question"] for r in german] == ["Frage 0", "Frage 1", "Frage 2"]
    assert german[1]["responses"] == ["Antwort 1 #0", "Antwort 1 #1"]
    assert samples["mgsm_xling"]["zh"][0]["responses"] == ["答 #0"]


# --- measurement properties -------------------------------------------------------------------------


def test_identical_samples_have_self_bleu_100_and_different_ones_less():
    from harness.plugins.probes.self_similarity import pairwise_bleu

    for lang, text in [("en", "She has 3 + 4 = 7 apples. The answer is \\boxed{7}."),
                       ("zh", "她有3 + 4 = 7个苹果。答案是 \\boxed{7}。"), ("th", "มะลิมีแอปเปิล 7 ลูก"), ("de", "")]:
        assert pairwise_bleu([text] * 3, lang) == 100.0
    assert pairwise_bleu(["the cat sat on the mat", "a dog ran in the park"], "en") < 20
    mixed = pairwise_bleu(["她有七个苹果", "她有七个苹果", "他买了三本书"], "zh")
    assert 0 < mixed < 100


def test_self_similarity_tokenizes_cjk_and_thai_by_characters():
    from harness.plugins.probes.self_similarity import pairwise_bleu, tokenizer_for

    assert [tokenizer_for(lang) for lang in ("zh", "ja", "th", "de")] == ["zh", "char", "char", "13a"]
    # Unsegmented scripts share characters, not whitespace words: char n-grams see the overlap.
    assert pairwise_bleu(["りんごを三個買いました", "りんごを四個買いました"], "ja") > 30


def test_drift_statistics():
    from harness.plugins.probes.drift import dispersion, shared_basis

    zero = np.zeros((4, 6))
    base = np.ones((4, 6))
    assert dispersion(zero, base) == {"mean_norm": 0.0, "relative_norm": 0.0, "centroid_norm": 0.0,
                                      "spread": 0.0, "total_variance": 0.0, "coherence": 0.0}
    basis, shares = shared_basis([zero, zero])
    assert basis.shape == (2, 6) and shares.tolist() == [0.0, 0.0]
    same_way = np.tile([3.0, 4.0, 0, 0, 0, 0], (4, 1))
    stats = dispersion(same_way, base)
    assert stats["mean_norm"] == pytest.approx(5.0) and stats["spread"] == pytest.approx(0.0)
    assert stats["coherence"] == pytest.approx(1.0)
    scattered = np.array([[1.0, 0, 0, 0, 0, 0], [-1.0, 0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0, 0], [0, -1.0, 0, 0, 0, 0]])
    stats = dispersion(scattered, base)
    assert stats["coherence"] == pytest.approx(0.0) and stats["total_variance"] == pytest.approx(1.0)
    basis, shares = shared_basis([same_way, scattered])
    assert np.allclose(basis @ basis.T, np.eye(2)) and 0 < shares.sum() <= 1 + 1e-9


def test_perplexity_pools_tokens_and_leaves_out_empty_responses():
    from harness.plugins.probes.perplexity import summarize

    row = summarize([(2.0, 2), (0.0, 0), (6.0, 2)], "response")
    assert row["response_ppl"] == pytest.approx(np.exp(8.0 / 4))
    assert row["response_ppl_mean"] == pytest.approx((np.exp(1.0) + np.exp(3.0)) / 2)
    assert row["empty_responses"] == 1 and row["response_tokens_mean"] == 2
    assert summarize([(0.0, 0)], "problem")["problem_ppl"] is None


# --- consistency on real MGSM questions ---------------------------------------------------------------


def mgsm_questions(shared_data, lang, n=8):
    lines = (shared_data / "mgsm" / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()
    return [line.rpartition("\t")[0] for line in lines[:n]]


@pytest.mark.parametrize("lang", STUDY_LANGUAGES)
def test_consistency_is_one_in_the_questions_language_and_zero_in_another(shared_data, lang):
    from harness.plugins.probes.consistency import measure

    own = measure(mgsm_questions(shared_data, lang), lang, STUDY_LANGUAGES)
    assert own["consistency"] == 1.0 and own["main_languages"] == {lang: 8}
    assert own["mix"][lang] > 0.9
    other = "en" if lang != "en" else "de"
    foreign = measure(mgsm_questions(shared_data, other), lang, STUDY_LANGUAGES)
    assert foreign["consistency"] == 0.0 and foreign["main_languages"] == {other: 8}


def test_consistency_probe_reads_eval_samples_and_draws_a_stacked_bar(shared_data, tmp_path):
    """German questions "answered" by German text are consistent; Chinese questions answered in
    English are not; the plot is a real PNG."""
    docs = [({"id": f"mgsm-{i}", "lang": "de", "question": q, "answer": "1"}, q)
            for i, q in enumerate(mgsm_questions(shared_data, "de", 4))]
    zh = mgsm_questions(shared_data, "zh", 4)
    docs_zh = [({"id": f"mgsm-{i}", "lang": "zh", "question": q, "answer": "1"}, e)
               for i, (q, e) in enumerate(zip(zh, mgsm_questions(shared_data, "en", 4)))]
    run = RunDir.create("eval", "fake", root=tmp_path)
    _write_samples(run.path, "mgsm_xling_de", docs, filters=("strict",))
    _write_samples(run.path, "mgsm_xling_zh", docs_zh, filters=("strict",))
    samples = read_eval_samples(run.path)
    ctx = ProbeContext(model="unused", run=run, languages=["de", "zh"], problems={}, samples=samples)
    probes = collect(make_plugin_manager(entry_points=False)).probes
    result = run_probes("consistency", ctx, probes)["consistency"]
    assert result["source"] == "eval samples"
    rows = result["per_task"]["mgsm_xling"]
    assert rows["de"]["consistency"] == 1.0 and rows["zh"]["consistency"] == 0.0
    assert max(rows["zh"]["mix"], key=rows["zh"]["mix"].get) == "en"
    png = run.path / result["plots"][0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
