"""pick-lang's ranking rule (fast; the run on the tiny model is in test_report_real.py)."""

from __future__ import annotations

import pytest

from harness.core.errors import UserError
from harness.report.picklang import rank_candidates
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


def test_no_measured_signal_is_a_user_error():
    with pytest.raises(UserError):
        rank_candidates({"en": {"problem_ppl": None, "self_bleu": None}, "de": {"problem_ppl": 1.0, "self_bleu": None}})


def test_pick_lang_refuses_bad_input_before_loading_a_model(capsys):
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en")
    assert code == 2 and "at least two languages" in err
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en,xx")
    assert code == 2 and "unknown language 'xx'" in err
    code, _, err = run_cli(capsys, "pick-lang", "--candidates", "en,de", "--k", "1")
    assert code == 2 and "--k must be at least 2" in err
