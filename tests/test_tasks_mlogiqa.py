"""mlogiqa_xling (P-MMEval's multilingual LogiQA): the loader on our fixtures (P-MMEval's row
schema), a scripted model's exact accuracies, errors for bad or missing data, and one end-to-end
run on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.test_tasks_families import ScriptedLM, _index

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GROUP = ("en", "zh", "es", "fr", "ja", "th")


def test_rows_become_boxed_letter_questions():
    from harness.data.sources import load_mlogiqa

    rows = load_mlogiqa("en", FIXTURES)
    assert [r["answer"] for r in rows] == ["A", "C", "B", "D"]  # answer is the 0-based option index
    assert rows[0]["kind"] == "choice" and rows[0]["id"] == "mlogiqa-0"
    assert rows[1]["question"] == ("If it rains, the market closes. The market is open today.\n\n"
                                   "Question:\nWhat follows?\nOptions:\nA. It is raining.\n"
                                   "B. The market closed yesterday.\nC. It is not raining.\nD. It will rain tomorrow.")


def test_scripted_letters_give_exact_accuracy():
    import lm_eval
    from lm_eval.tasks import TaskManager

    def answer(doc, _):
        i = _index(doc)
        if i == 0:
            return f"Reasoning.\n\\boxed{{{doc['answer']}}}"
        if i == 1:
            return f"The answer is ({doc['answer']})."  # unboxed: flexible only
        return "\\boxed{" + ("A" if doc["answer"] != "A" else "B") + "}"

    manager = TaskManager(include_path=str(Path(__file__).resolve().parents[1] / "tasks"), include_defaults=False,
                          metadata={"data_dir": str(FIXTURES)})
    out = lm_eval.simple_evaluate(model=ScriptedLM(answer), tasks=["mlogiqa_xling", "mlogiqa_xling_ko"],
                                  task_manager=manager, bootstrap_iters=0, log_samples=True)
    results = out["results"]
    for lang in GROUP:
        assert results[f"mlogiqa_xling_{lang}"]["strict_acc,none"] == pytest.approx(1 / 4), lang
        assert results[f"mlogiqa_xling_{lang}"]["flexible_acc,none"] == pytest.approx(2 / 4), lang
    assert results["mlogiqa_xling_ko"]["strict_acc,none"] == pytest.approx(1 / 2)  # 2 rows, outside the group
    assert results["mlogiqa_xling"]["strict_acc,none"] == pytest.approx(0.25)
    assert out["group_subtasks"]["mlogiqa_xling"] == [f"mlogiqa_xling_{lang}" for lang in GROUP]
    prompt = out["samples"]["mlogiqa_xling_ja"][0]["arguments"][0][0]
    assert prompt.startswith("クラブの画家は") and "\\boxed{}" in prompt  # the shared boxed-answer prompt


def test_bad_answer_and_missing_file_are_named(tmp_path):
    from harness.data.sources import DataError, load_mlogiqa

    (tmp_path / "mlogiqa").mkdir()
    row = json.loads((FIXTURES / "mlogiqa" / "en.jsonl").read_text().splitlines()[0])
    row["answer"] = 4  # four options: indices 0-3
    (tmp_path / "mlogiqa" / "en.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="row 0 has answer 4"):
        load_mlogiqa("en", tmp_path)
    with pytest.raises(DataError, match=r"missing data file .*mlogiqa/vi\.jsonl: expected the mirror of Qwen/P-MMEval"):
        load_mlogiqa("vi", tmp_path)


def test_end_to_end_on_tiny(tmp_path, capsys):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", "mlogiqa_xling_en,mlogiqa_xling_zh", "--limit", "2",
                        "--max-gen-toks", "16", "--data-dir", str(FIXTURES), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())["results"]
    for task in ("mlogiqa_xling_en", "mlogiqa_xling_zh"):
        assert 0.0 <= results[task]["strict_acc,none"] <= 1.0
        assert len((tmp_path / "run" / f"samples_{task}.jsonl").read_text().splitlines()) == 2
