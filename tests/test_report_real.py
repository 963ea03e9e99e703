"""`harness report` / `compare` / `pick-lang` on real run directories of the tiny model (slow: one
real `harness eval` per module), and the synthetic writer checked against that real layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.synthetic import write_eval_run
from tests.helpers import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A real evaluation of the tiny model: toy_xling, 4 problems per language, 16 tokens."""
    from harness.cli import main

    path = tmp_path_factory.mktemp("real") / "base"
    with pytest.raises(SystemExit) as info:
        main(["eval", "--model", "tiny", "--tasks", "toy_xling", "--limit", "4", "--max-gen-toks", "16",
              "--run-dir", str(path)])
        raise SystemExit(0)
    assert not info.value.code
    return path


def _real_ids(run: Path, lang: str) -> list[str]:
    lines = (run / f"samples_toy_xling_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["doc"]["id"] for line in lines]


def test_synthetic_runs_have_the_real_layout(real_run, tmp_path):
    real = json.loads((real_run / "results.json").read_text())
    fake_dir = write_eval_run(tmp_path / "fake", {"toy_xling": {"en": np.ones((1, 4))}})
    fake = json.loads((fake_dir / "results.json").read_text())
    assert set(fake) - {"probes"} <= set(real)
    assert set(fake["results"]["toy_xling_en"]) <= set(real["results"]["toy_xling_en"])
    assert set(fake["configs"]["toy_xling_en"]["metadata"]) <= set(real["configs"]["toy_xling_en"]["metadata"])
    real_record = json.loads((real_run / "samples_toy_xling_en.jsonl").read_text().splitlines()[0])
    fake_record = json.loads((fake_dir / "samples_toy_xling_en.jsonl").read_text().splitlines()[0])
    assert set(fake_record) <= set(real_record) and set(fake_record["doc"]) <= set(real_record["doc"])


def test_per_problem_scores_reproduce_lm_evals_own_accuracies(real_run, tmp_path, capsys):
    code, out, err = run_cli(capsys, "report", str(real_run), "--format", "csv", "-B", "300")
    assert code == 0, err
    results = json.loads((real_run / "results.json").read_text())["results"]
    rows = [r.split(",") for r in out.splitlines() if r.startswith("main_toy_xling,")]
    by_lang = {r[3]: float(r[4]) for r in rows}
    for lang in ("en", "zh", "de", "bn"):
        assert by_lang[lang] == pytest.approx(100 * results[f"toy_xling_{lang}"]["strict_acc,none"])


def test_report_puts_a_real_and_a_synthetic_run_side_by_side(real_run, tmp_path, capsys):
    """A synthetic setup that solves every real problem: Gen 100 over the real base."""
    langs = ["en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn"]
    write_eval_run(tmp_path / "perfect", {"toy_xling": {l: np.ones((1, 4)) for l in langs}}, max_gen_toks=16,
                   problem_ids={l: _real_ids(real_run, l) for l in langs})
    code, out, err = run_cli(capsys, "report", str(real_run), str(tmp_path / "perfect"), "--label",
                             f"{tmp_path / 'perfect'}=Oracle", "-B", "300")
    assert code == 0, err
    assert "| Oracle | 100.0 ±0.0" in out and "4 problems per language in 10 languages" in out
    oracle = [line for line in out.splitlines() if line.startswith("| Oracle |")][0]
    assert oracle.rstrip(" |").endswith("100.0 ±0.0")  # Gen: every headroom taken
    code, out, err = run_cli(capsys, "compare", str(tmp_path / "perfect"), str(real_run), "-B", "300")
    assert code == 0, err
    assert "Gen" in out


def test_pick_lang_ranks_candidates_on_the_tiny_model(real_run, tmp_path, capsys):
    run_dir = tmp_path / "pick"
    code, out, err = run_cli(capsys, "pick-lang", "--model", "tiny", "--candidates", "en,de", "--num-problems", "2",
                             "--num-generations", "2", "--max-new-tokens", "8", "--base-eval", str(real_run), "--run-dir", str(run_dir))
    assert code == 0, err
    result = json.loads((run_dir / "picklang.json").read_text())
    assert [row["rank"] for row in result["ranking"]] == [1, 2]
    assert {row["lang"] for row in result["ranking"]} == {"en", "de"}
    for row in result["ranking"]:
        assert row["problem_ppl"] > 1 and row["self_bleu"] is not None and row["headroom"] == 1.0
    assert result["scored_signals"] == ["problem_ppl", "self_bleu", "headroom"]
    probes = json.loads((run_dir / "probes.json").read_text())
    assert set(probes) == {"perplexity", "self_similarity"}  # measured by the probes themselves
    code, out, err = run_cli(capsys, "report", str(real_run), str(run_dir), "-B", "300")
    assert code == 0, err
    assert "Probes of pick-lang tiny per language" in out
