"""`harness report`, `harness compare` and the mismatch check on synthetic run directories whose
accuracies and differences are known (written in the layout `harness eval` writes)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests.synthetic import simulate_family, write_eval_run, write_train_run
from tests.helpers import run_cli


def _row(correct: int, n: int = 8) -> np.ndarray:
    return np.array([[1.0] * correct + [0.0] * (n - correct)])


@pytest.fixture
def known(tmp_path) -> Path:
    """Base: en 100% (left out of Gen), de 25%, fr 50%; RL (De): 75% everywhere. Telugu is outside
    the group (as in MGSM) and must count nowhere."""
    exp = tmp_path / "exp"
    write_eval_run(exp / "base", {"mgsm_xling": {"en": _row(8), "de": _row(2), "fr": _row(4)}},
                   extra={"mgsm_xling": {"te": _row(0)}})
    rl = write_train_run(tmp_path / "train" / "rl_de", "grpo", ["de"])
    write_eval_run(exp / "rl_de", {"mgsm_xling": {"en": _row(6), "de": _row(6), "fr": _row(6)}}, model=str(rl),
                   extra={"mgsm_xling": {"te": _row(8)}})
    return exp


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _value(rows: list[dict], table: str, setup: str, column: str) -> float:
    (row,) = [r for r in rows if r["table"] == table and r["setup"] == setup and r["column"] == column]
    return float(row["value"])


def test_main_table_has_the_known_accuracies_avg_and_gen(known, capsys):
    code, out, err = run_cli(capsys, "report", str(known), "--format", "csv", "-B", "500", "--no-langid")
    assert code == 0, err
    rows = _csv_rows(out)
    assert _value(rows, "main_mgsm_xling", "Base", "en") == 100.0
    assert _value(rows, "main_mgsm_xling", "Base", "Avg") == pytest.approx((100 + 25 + 50) / 3, abs=1e-4)
    assert _value(rows, "main_mgsm_xling", "RL (De)", "Avg") == 75.0
    # Gen by hand: en left out (base 100%), te outside the group: ((75-25)/75 + (75-50)/50) / 2
    assert _value(rows, "main_mgsm_xling", "RL (De)", "Gen") == pytest.approx(100 * (2 / 3 + 1 / 2) / 2, abs=1e-4)
    assert not [r for r in rows if r["column"] == "te"]
    gen = [r for r in rows if r["table"] == "main_mgsm_xling" and r["setup"] == "RL (De)" and r["column"] == "Gen"][0]
    assert float(gen["low"]) <= float(gen["value"]) <= float(gen["high"])
    delta = [r for r in rows if r["table"] == "ablation_mgsm_xling" and r["setup"] == "RL (De)" and r["column"].startswith("Δ")][0]
    assert float(delta["value"]) == pytest.approx(75 - 175 / 3, abs=1e-4)


def test_markdown_names_setups_and_what_the_numbers_rest_on(known, capsys):
    code, out, _ = run_cli(capsys, "report", str(known), "-B", "500", "--no-langid")
    assert code == 0
    assert "| Base |" in out and "| RL (De) |" in out
    assert "8 problems per language in 3 languages" in out and "generation budget 16 tokens" in out
    assert "prompt 0-shot" in out and "500 paired bootstrap replicates" in out
    assert "75.0 ±" in out


def test_mismatched_budget_is_refused_then_marked(tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_eval_run(tmp_path / "base", {"mgsm_xling": simulate_family(rng, {"en": .5, "de": .4}, 20)}, max_gen_toks=32)
    write_eval_run(tmp_path / "rl", {"mgsm_xling": simulate_family(rng, {"en": .7, "de": .6}, 20)}, max_gen_toks=1024)
    code, _, err = run_cli(capsys, "report", str(tmp_path / "base"), str(tmp_path / "rl"), "-B", "200")
    assert code == 2
    assert "generation budget differs" in err and "--allow-mismatch" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, "report", str(tmp_path / "base"), str(tmp_path / "rl"), "-B", "200",
                           "--allow-mismatch", "--no-langid")
    assert code == 0
    assert "Mismatched settings" in out and "†" in out and "32" in out and "1024" in out
    code, _, err = run_cli(capsys, "gen", str(tmp_path / "rl"), "--base", str(tmp_path / "base"))
    assert code == 2 and "generation budget differs" in err
    code, out, err = run_cli(capsys, "gen", str(tmp_path / "rl"), "--base", str(tmp_path / "base"), "--allow-mismatch")
    assert code == 0 and "(mismatch)" in out and "generation budget differs" in err


def test_prompt_variant_and_different_problems_are_mismatches(tmp_path, capsys):
    rng = np.random.default_rng(1)
    scores = lambda: {"mgsm_xling": simulate_family(rng, {"en": .5}, 10)}  # noqa: E731
    write_eval_run(tmp_path / "a", scores())
    write_eval_run(tmp_path / "b", scores(), consistency=True)
    code, _, err = run_cli(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"), "-B", "200")
    assert code == 2 and "prompt differs" in err
    write_eval_run(tmp_path / "c", scores(), problem_ids={"en": [f"q{i}" for i in range(10)]})
    code, _, err = run_cli(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "c"), "-B", "200")
    assert code == 2 and "different problems" in err


def test_compare_flags_what_the_interval_cannot_tell_apart(tmp_path, capsys):
    rng = np.random.default_rng(2)
    difficulty = rng.random(150)
    same = simulate_family(rng, {"en": .5, "de": .5}, 150, difficulty=difficulty)
    write_eval_run(tmp_path / "a", {"mgsm_xling": same})
    write_eval_run(tmp_path / "b", {"mgsm_xling": {l: v.copy() for l, v in same.items()}})
    better = simulate_family(rng, {"en": .9, "de": .9}, 150, difficulty=difficulty)
    write_eval_run(tmp_path / "c", {"mgsm_xling": better})
    code, out, _ = run_cli(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"), "-B", "1000")
    assert code == 0 and out.count("not distinguishable at 95%") == 4  # en, de, Avg, Gen (A is the base)
    code, out, _ = run_cli(capsys, "compare", str(tmp_path / "c"), str(tmp_path / "a"), "-B", "1000")
    assert code == 0 and "not distinguishable" not in out
    assert "<0.001" in out or "0.001" in out


def test_seeds_of_one_setup_form_one_row_with_a_two_level_interval(tmp_path, capsys):
    rng = np.random.default_rng(3)
    write_eval_run(tmp_path / "exp" / "base", {"mgsm_xling": simulate_family(rng, {"en": .4, "de": .3}, 40)})
    for seed in (0, 1, 2):
        train = write_train_run(tmp_path / "train" / f"rl_de_s{seed}", "grpo", ["de"], seed=seed)
        write_eval_run(tmp_path / "exp" / f"rl_de_s{seed}",
                       {"mgsm_xling": simulate_family(rng, {"en": .6, "de": .7}, 40, repeats=2)}, model=str(train))
    code, out, err = run_cli(capsys, "report", str(tmp_path / "exp"), "-B", "500", "--no-langid")
    assert code == 0, err
    assert out.count("| RL (De) |") == 2  # main and ablation tables: one row each
    assert "training seeds RL (De): 3 (two-level bootstrap" in out


def test_all_formats_and_figures_are_written(known, tmp_path, capsys):
    out_dir = tmp_path / "report"
    code, out, err = run_cli(capsys, "report", str(known), "--format", "md,latex,csv,html", "--out", str(out_dir),
                             "-B", "300", "--no-langid", "--figures", "png,pdf,svg")
    assert code == 0, err
    latex = (out_dir / "report.tex").read_text()
    assert r"\toprule" in latex and r"\bottomrule" in latex and r"\textbf{" in latex and r"$\pm$" in latex
    page = (out_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<table>" in page and "src='figures" not in page
    for key in ("bars_mgsm_xling", "heatmap_mgsm_xling"):
        for ext in ("png", "pdf", "svg"):
            assert (out_dir / "figures" / f"{key}.{ext}").stat().st_size > 1000
    assert (out_dir / "figures" / "bars_mgsm_xling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    problems = _csv_rows((out_dir / "problems.csv").read_text())
    assert len(problems) == 2 * 3 * 8 and set(problems[0]) == {"setup", "family", "lang", "repeat", "problem", "score"}
    assert "![mgsm_xling: accuracy and Gen per setup](figures/bars_mgsm_xling.png)" in (out_dir / "report.md").read_text()


def test_probes_drift_and_picklang_ranking(tmp_path, capsys):
    """pick-lang ranked de > zh > en; the realized RL Avg has the same order: rho = 1."""
    exp, rng = tmp_path / "exp", np.random.default_rng(4)
    difficulty = rng.random(60)
    write_eval_run(exp / "base", {"mgsm_xling": simulate_family(rng, {"en": .5, "de": .3}, 60, difficulty=difficulty)})
    for lang, acc, spread in (("en", .55, 0.9), ("zh", .7, 0.7), ("de", .85, 0.5)):
        train = write_train_run(tmp_path / "train" / f"rl_{lang}", "grpo", [lang])
        drift = {"drift": {"per_run": {f"rl_{lang}": {"spread": spread, "mean_norm": 1.0, "coherence": 0.5}}}}
        write_eval_run(exp / f"rl_{lang}", {"mgsm_xling": simulate_family(rng, {"en": acc, "de": acc}, 60, difficulty=difficulty)},
                       model=str(train), probes=drift)
    ranking = [{"lang": "de", "score": 1.0}, {"lang": "zh", "score": 0.5}, {"lang": "en", "score": 0.0}]
    (exp / "picklang").mkdir()
    (exp / "picklang" / "picklang.json").write_text(json.dumps({"model": "tiny", "ranking": ranking}))
    (exp / "picklang" / "probes.json").write_text(json.dumps({
        "perplexity": {"per_language": {l: {"problem_ppl": p, "response_ppl": 1.2} for l, p in (("en", 3.0), ("de", 5.0))}},
        "self_similarity": {"per_language": {l: {"self_bleu": b} for l, b in (("en", 60.0), ("de", 40.0))}}}))
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "report", str(exp), "-B", "500", "--no-langid", "--out", str(out_dir))
    assert code == 0, err
    md = (out_dir / "report.md").read_text()
    assert "Representation drift" in md and "| RL (De) | 0.5 |" in md
    assert "| de | 5 | 1.2 | 40 |" in md
    assert "| mgsm_xling · grpo | en,zh,de | +1.00" in md
    assert "pick-lang's first choice is de; the best Gen came from training in de" in md
    assert "the ranking picked it." in md
    assert (out_dir / "figures" / "drift_scatter.png").is_file()
    # ranked the other way round: the note says by how much the first choice fell short
    (exp / "picklang" / "picklang.json").write_text(json.dumps({"model": "tiny", "ranking": ranking[::-1]}))
    code, out, err = run_cli(capsys, "report", str(exp), "-B", "500", "--no-langid")
    assert code == 0, err
    assert "pick-lang's first choice is en; the best Gen came from training in de" in out
    assert "points above en [" in out and "distinguishable" in out


def test_unknown_format_and_missing_run_are_one_sentence(tmp_path, capsys):
    code, _, err = run_cli(capsys, "report", str(tmp_path / "nope"))
    assert code == 2 and "is not a run directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "report", str(tmp_path / "empty"))
    assert code == 2 and "holds no run" in err
    write_eval_run(tmp_path / "r", {"mgsm_xling": {"en": _row(3)}})
    code, _, err = run_cli(capsys, "report", str(tmp_path / "r"), "--format", "docx")
    assert code == 2 and "docx" in err


def test_missing_samples_and_unknown_reference_are_one_sentence(known, capsys):
    code, _, err = run_cli(capsys, "report", str(known), "--reference", "RL (Xx)", "-B", "200", "--no-langid")
    assert code == 2 and "--reference 'RL (Xx)' names no setup" in err
    (known / "rl_de" / "samples_mgsm_xling_de.jsonl").unlink()
    code, _, err = run_cli(capsys, "report", str(known), "-B", "200", "--no-langid")
    assert code == 2 and "no per-problem strict_acc for mgsm_xling_de" in err


@pytest.mark.parametrize("command", ["report", "compare", "pick-lang"])
def test_help_of_the_report_commands(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0 and "Usage" in out


def test_setup_names_come_from_either_training_config_layout():
    from harness.report.collect import _paradigm_and_languages

    assert _paradigm_and_languages({"command": "train", "plugin": "grpo", "lang": ["de"], "paradigm_plugin": "grpo"}) \
        == ("grpo", ["de"])
    assert _paradigm_and_languages({"command": "train", "paradigm": "sft", "plugin": "sft", "languages": ["en", "zh"]}) \
        == ("sft", ["en", "zh"])


def test_an_experiments_probe_cell_lends_its_drift_to_the_setup(tmp_path, capsys):
    """`harness experiment` runs drift as a probe cell beside the eval cell of the same model."""
    exp, rng = tmp_path / "experiments" / "main", np.random.default_rng(5)
    write_eval_run(exp / "eval-base-1234abcd", {"mgsm_xling": simulate_family(rng, {"en": .4}, 30)})
    train = write_train_run(exp / "train-grpo-de-5678abcd", "grpo", ["de"])
    write_eval_run(exp / "eval-grpo-de-9abcdef0", {"mgsm_xling": simulate_family(rng, {"en": .6}, 30)}, model=str(train))
    probe = exp / "probe-grpo-de-0fedcba9"
    probe.mkdir()
    (probe / "config.yaml").write_text(f"command: probe\nmodel: {train}\n")
    (probe / "probes.json").write_text(json.dumps({"drift": {"per_run": {"x": {"spread": 0.25, "mean_norm": 1.0,
                                                                              "coherence": 0.5}}}}))
    code, out, err = run_cli(capsys, "report", str(exp), "-B", "300", "--no-langid")
    assert code == 0, err
    assert "| RL (De) | 0.25 |" in out and "#2" not in out
