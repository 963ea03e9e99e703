"""Gen = mean over languages of (Acc(M) - Acc(base)) / (1 - Acc(base)), base-100% languages left out."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.core.errors import UserError
from harness.plugins.gen import compute_gen, family_accuracies, gen_score, gen_terms, load_results


def test_hand_computed_value():
    base = {"en": 0.5, "zh": 0.2, "de": 0.0}
    model = {"en": 0.75, "zh": 0.6, "de": 0.1}
    # en: 0.25/0.5 = 0.5; zh: 0.4/0.8 = 0.5; de: 0.1/1.0 = 0.1  -> mean 1.1/3
    assert gen_score(model, base) == pytest.approx(1.1 / 3)


def test_language_where_base_is_perfect_is_left_out():
    base = {"en": 1.0, "zh": 0.5}
    model = {"en": 0.0, "zh": 0.75}
    terms, excluded = gen_terms(model, base)
    assert excluded == ["en"] and terms == {"zh": pytest.approx(0.5)}
    assert gen_score(model, base) == pytest.approx(0.5)  # the en collapse does not count


def test_all_languages_perfect_gives_none():
    assert gen_score({"en": 1.0}, {"en": 1.0}) is None


def test_negative_gen_can_exceed_minus_one():
    # base 0.9 -> 0.5 loses 4 times the headroom; base 0.5 -> 0.5 is 0.
    assert gen_score({"en": 0.5, "de": 0.5}, {"en": 0.9, "de": 0.5}) == pytest.approx(-2.0)


def test_upper_bound_is_one():
    assert gen_score({"en": 1.0, "de": 1.0}, {"en": 0.3, "de": 0.0}) == pytest.approx(1.0)


def test_paper_rows_are_reproduced_from_their_own_numbers():
    # The paper's MGSM table gives En/Zh/De only; Gen over those three must follow the formula.
    base = {"en": 0.634, "zh": 0.483, "de": 0.335}
    rl_de = {"en": 0.910, "zh": 0.776, "de": 0.805}
    expected = ((0.910 - 0.634) / 0.366 + (0.776 - 0.483) / 0.517 + (0.805 - 0.335) / 0.665) / 3
    assert gen_score(rl_de, base) == pytest.approx(expected)


def test_missing_base_language_is_a_user_error():
    with pytest.raises(UserError, match="'de'"):
        gen_terms({"en": 0.5, "de": 0.5}, {"en": 0.4})


def _results(values: dict[str, float], *, group: str = "mgsm_xling", extra: dict[str, float] | None = None) -> dict:
    """lm-eval-shaped results: a group over the given languages, extra tasks outside it."""
    results = {f"{group}_{lang}": {"alias": lang, "strict_acc,none": v, "strict_acc_stderr,none": 0.01,
                                   "flexible_acc,none": min(1.0, v + 0.1)} for lang, v in values.items()}
    for lang, v in (extra or {}).items():
        results[f"{group}_{lang}"] = {"strict_acc,none": v}
    results[group] = {"strict_acc,none": sum(values.values()) / len(values)}
    return {"results": results, "groups": {group: results[group]},
            "group_subtasks": {group: [f"{group}_{lang}" for lang in values]}}


def test_family_accuracies_follow_the_group_and_skip_extra_languages():
    results = _results({"en": 0.5, "de": 0.25}, extra={"te": 0.9})
    assert family_accuracies(results) == {"mgsm_xling": ("strict_acc", {"en": 0.5, "de": 0.25})}
    assert family_accuracies(results, "flexible_acc")["mgsm_xling"][1] == {"en": 0.6, "de": 0.35}


def test_tasks_without_group_form_a_family_by_name():
    results = {"results": {"mgsm_xling_4shot_de": {"strict_acc,none": 0.5}}}
    assert family_accuracies(results) == {"mgsm_xling_4shot": ("strict_acc", {"de": 0.5})}


def test_compute_gen_from_results_files(tmp_path):
    base = _results({"en": 0.5, "zh": 1.0, "de": 0.2})
    model = _results({"en": 0.75, "zh": 0.9, "de": 0.6}, extra={"te": 0.0})
    scores = compute_gen(model, base)
    score = scores["mgsm_xling"]
    assert score.excluded == ["zh"] and score.metric == "strict_acc"
    assert score.terms == {"en": pytest.approx(0.5), "de": pytest.approx(0.5)}
    assert score.gen == pytest.approx(0.5)
    assert "te" not in score.model_acc


def test_no_shared_family_is_a_user_error():
    with pytest.raises(UserError, match="share no task family"):
        compute_gen(_results({"en": 0.5}), _results({"en": 0.5}, group="mmath500_xling"))


def test_load_results_accepts_run_dirs_lm_eval_dirs_and_files(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(_results({"en": 0.5})))
    assert load_results(run)["results"]["mgsm_xling_en"]["strict_acc,none"] == 0.5
    lm_eval_out = tmp_path / "lm" / "model__name"
    lm_eval_out.mkdir(parents=True)
    (lm_eval_out / "results_2026-01-01T00-00-00.json").write_text(json.dumps(_results({"en": 0.25})))
    assert load_results(tmp_path / "lm")["results"]["mgsm_xling_en"]["strict_acc,none"] == 0.25
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no results.json"):
        load_results(tmp_path / "empty")
    with pytest.raises(UserError, match="does not exist"):
        load_results(tmp_path / "nothing")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="not an lm-eval or harness results file"):
        load_results(tmp_path / "bad.json")


def test_gen_command_prints_terms(tmp_path, capsys):
    (tmp_path / "base.json").write_text(json.dumps(_results({"en": 0.5, "zh": 1.0, "de": 0.2})))
    (tmp_path / "model.json").write_text(json.dumps(_results({"en": 0.75, "zh": 0.9, "de": 0.6})))
    with pytest.raises(SystemExit) as info:
        main(["gen", "--base", str(tmp_path / "base.json"), str(tmp_path / "model.json")])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert (info.value.code or 0) == 0
    assert "Gen mgsm_xling (strict_acc): 50.0" in out
    assert "left out (base 100%)" in out


def test_gen_command_missing_file_is_one_sentence(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["gen", "--base", str(tmp_path / "nope.json"), str(tmp_path / "model.json")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
