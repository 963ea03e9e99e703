"""m_ifeval_xling (IFEval en + M-IFEval es fr ja): which instructions lm-eval's checkers may judge,
a scripted model's exact IFEval metrics on our fixtures (the datasets' row schema), errors for
missing data, and one end-to-end run on the tiny model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.test_tasks_families import ScriptedLM

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
LANGS = ("en", "es", "fr", "ja")


@pytest.fixture(scope="module")
def utils():
    spec = importlib.util.spec_from_file_location("_m_ifeval_utils", REPO / "tasks" / "m_ifeval_xling" / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_language_specific_and_punkt_instructions_are_left_out(utils):
    for lang in ("es", "fr", "ja"):
        got = utils.coverage(lang, FIXTURES)
        assert (got["prompts"], got["scored"], got["left_out"]) == (4, 3, 1), lang
        assert got["unsupported_ids"] == [{"es": "es:special_character:enie", "fr": "fr:special_character:no_accents",
                                           "ja": "ja:letters:furigana"}[lang]]
    assert utils.checker_id("ja:keywords:existence", "ja") == "keywords:existence"
    # lm-eval registers these, but M-IFEval words them differently (localized relations, 《》 highlights, ...)
    assert "detectable_format:number_highlighted_sections" not in utils.checkable_ids("ja")
    assert "keywords:frequency" not in utils.checkable_ids("fr")
    # nltk's punkt_tab is downloaded data: without it, the two checkers that need it are out
    en = utils.checkable_ids("en")
    assert (utils.NEEDS_PUNKT <= en) == utils.punkt_available()
    assert "detectable_format:title" in en


def _good(doc) -> str:
    """A response that follows every instruction of the fixture rows."""
    kwargs = json.loads(doc["kwargs_json"])
    ids = [i.rsplit(":", 1)[-1] for i in doc["instruction_id_list"]]
    placeholders = max([k.get("num_placeholders", 0) for k in kwargs] + [0])
    body = "[x] " * placeholders + "Uno"
    if "two_responses" in ids:
        body += " ****** Dos"
    end = next((k["end_phrase"] for k in kwargs if "end_phrase" in k), "")
    return f"{body} {end}".strip()


def test_scripted_model_gives_exact_ifeval_metrics(utils):
    import lm_eval
    from lm_eval.tasks import TaskManager

    def answer(doc, _):  # keys 1 and 3 followed; key 2 gets one of its two instructions right
        return _good(doc) if doc["key"] % 2 else "[x]"

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False, metadata={"data_dir": str(FIXTURES)})
    out = lm_eval.simple_evaluate(model=ScriptedLM(answer), tasks=["m_ifeval_xling"], task_manager=manager,
                                  bootstrap_iters=0, log_samples=True)
    results = out["results"]
    for lang in ("es", "fr", "ja"):  # key 4 is left out: an instruction lm-eval cannot check
        got = results[f"m_ifeval_xling_{lang}"]
        assert got["prompt_level_strict_acc,none"] == pytest.approx(2 / 3), lang
        assert got["inst_level_strict_acc,none"] == pytest.approx(3 / 4), lang
        assert got["prompt_level_loose_acc,none"] == pytest.approx(2 / 3), lang
        assert got["inst_level_loose_acc,none"] == pytest.approx(3 / 4), lang
    en_prompts = 4 if utils.punkt_available() else 3  # key 4 needs punkt: "[x]" fails both its instructions
    want_en = (2 / en_prompts, 3 / (4 + 2 * (en_prompts - 3)))
    got_en = results["m_ifeval_xling_en"]
    assert (got_en["prompt_level_strict_acc,none"], got_en["inst_level_strict_acc,none"]) == pytest.approx(want_en)
    group = results["m_ifeval_xling"]["prompt_level_strict_acc,none"]
    assert group == pytest.approx((3 * 2 / 3 + want_en[0]) / 4)  # macro average
    sample = out["samples"]["m_ifeval_xling_fr"][0]
    assert sample["arguments"][0][0] == sample["doc"]["prompt"]  # the dataset's own prompt, no boxed-answer line


def test_missing_mirror_file_names_the_dataset(tmp_path):
    from harness.data.sources import DataError, load_m_ifeval

    (tmp_path / "m_ifeval").mkdir()
    with pytest.raises(DataError, match=r"m_ifeval/ja\.jsonl: expected the mirror of lightblue/M-IFEval \(ja\)"):
        load_m_ifeval("ja", tmp_path)
    with pytest.raises(DataError, match=r"m_ifeval/en\.jsonl: expected the mirror of google/IFEval"):
        load_m_ifeval("en", tmp_path)
    (tmp_path / "m_ifeval" / "fr.jsonl").write_text(json.dumps(
        {"key": 1, "prompt": "Bonjour", "instruction_id_list": ["fr:keywords:existence"], "kwargs": []}) + "\n")
    with pytest.raises(DataError, match="row 0 needs key, prompt and one kwargs entry per instruction id"):
        load_m_ifeval("fr", tmp_path)


def test_end_to_end_on_tiny(tmp_path, capsys):
    tasks = ["m_ifeval_xling_en", "m_ifeval_xling_ja"]
    code, _, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", ",".join(tasks), "--limit", "2",
                        "--max-gen-toks", "16", "--data-dir", str(FIXTURES), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())["results"]
    for task in tasks:
        assert 0.0 <= results[task]["prompt_level_strict_acc,none"] <= results[task]["prompt_level_loose_acc,none"] <= 1.0
        assert len((tmp_path / "run" / f"samples_{task}.jsonl").read_text().splitlines()) == 2
