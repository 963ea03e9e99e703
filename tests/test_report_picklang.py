"""pick-lang's ranking rule (fast; the run on the tiny model is in test_report_real.py)."""

from __future__ import annotations

import pytest
from rich.console import Console

from harness.core.errors import UserError
from harness.report.picklang import print_ranking, rank_candidates, recommendation
from tests.helpers import run_cli


def test_the_most_uncertain_language_ranks_first():
    # the study's German: highest problem perplexity, lowest self-similarity
    ranking = rank_candidates({
        "en": {"problem_ppl": 1.2, "self_bleu": 60.0, "headroom": None},
        "zh": {"problem_ppl": 1.3, "self_bleu": 50.0, "headroom": None},
        "de": {"problem_ppl": 1.4, "self_bleu": 42.5, "headroom": None},
    })
    assert [row["lang"] for row in ranking] == ["de", "zh", "en"]
    assert [row["score"] for row in ranking] == [1.0, 0.5, 0.0]
    assert ranking[0]["self_bleu_rank"] == 1.0 and "headroom_rank" not in ranking[0]


def test_signals_that_disagree_are_averaged_and_shown():
    ranking = rank_candidates({
        "en": {"problem_ppl": 2.0, "self_bleu": 30.0, "headroom": 0.1},
        "de": {"problem_ppl": 1.0, "self_bleu": 60.0, "headroom": 0.9},
    })
    rows = {row["lang"]: row for row in ranking}
    assert rows["en"]["score"] == pytest.approx(2 / 3) and rows["de"]["score"] == pytest.approx(1 / 3)
    assert rows["de"]["headroom_rank"] == 1.0 and rows["en"]["problem_ppl_rank"] == 1.0


def test_tied_scores_share_a_rank_and_the_recommendation_says_so():
    # en and zh disagree the same way on both signals: equal scores, so the first place is tied
    ranking = rank_candidates({
        "en": {"problem_ppl": 2.0, "self_bleu": 40.0, "response_ppl": 3.0, "headroom": None},
        "zh": {"problem_ppl": 1.0, "self_bleu": 30.0, "response_ppl": 3.0, "headroom": None},
        "de": {"problem_ppl": 0.5, "self_bleu": 70.0, "response_ppl": 3.0, "headroom": None},
    })
    assert [(row["lang"], row["rank"], row["tied"]) for row in ranking] == [
        ("en", 1, True), ("zh", 1, True), ("de", 3, False)]
    assert recommendation(ranking).startswith("first place is tied: en and zh (score 0.75 each)")
    console = Console(width=200, record=True)
    print_ranking(console, {"model": "tiny", "ranking": ranking, "scored_signals": ["problem_ppl", "self_bleu"]})
    lines = console.export_text().splitlines()
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│")] == ["1=", "1=", "3"]
    assert any(line.startswith("first place is tied: en and zh") for line in lines)


def test_an_untied_first_place_is_recommended():
    ranking = rank_candidates({"en": {"problem_ppl": 1.0, "self_bleu": 50.0}, "de": {"problem_ppl": 2.0, "self_bleu": 40.0}})
    assert [(row["rank"], row["tied"]) for row in ranking] == [(1, False), (2, False)]
    assert recommendation(ranking) == "recommended training language: de (score 1.00)"


def test_no_measured_signal_is_a_user_error():
    with pytest.raises(UserError):
        rank_candidates({"en": {"problem_ppl": None, "self_bleu": None}, "de": {"problem_ppl": 1.0, "self_bleu": None}})


def test_pick_lang_refuses_bad_input_before_loading_a_model(capsys):
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en")
    assert code == 2 and "at least two languages" in err
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en,xx")
    assert code == 2 and "unknown language 'xx'" in err
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en,de", "--num-generations", "1")
    assert code == 2 and "--num-generations must be at least 2" in err


def test_the_report_says_when_picklang_first_place_is_tied(tmp_path, capsys):
    import json

    import numpy as np

    from tests.synthetic import simulate_family, write_eval_run, write_train_run

    exp, rng = tmp_path / "exp", np.random.default_rng(4)
    write_eval_run(exp / "base", {"mgsm_xling": simulate_family(rng, {"en": .5, "de": .3}, 40)})
    for lang, acc in (("en", .55), ("zh", .7), ("de", .85)):
        train = write_train_run(tmp_path / "train" / f"rl_{lang}", "grpo", [lang])
        write_eval_run(exp / f"rl_{lang}", {"mgsm_xling": simulate_family(rng, {"en": acc, "de": acc}, 40)}, model=str(train))
    ranking = [{"lang": "zh", "score": 0.75}, {"lang": "de", "score": 0.75}, {"lang": "en", "score": 0.0}]
    (exp / "picklang").mkdir()
    (exp / "picklang" / "picklang.json").write_text(json.dumps({"model": "tiny", "ranking": ranking}))
    code, out, err = run_cli(capsys, "report", str(exp), "-B", "200", "--no-langid")
    assert code == 0, err
    assert "pick-lang's first place is tied (zh = de); the best Gen came from training in de" in out
    assert "one of the tied first choices." in out
