"""mgsm_xling and mgsm_xling_4shot: folder conventions, data loading (mirror and hub errors),
prompts, generation settings, the group's macro average."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.literals import STUDY_LANGUAGES, literals
from harness.data.sources import DataError, boxed_exemplar_answer, load_mgsm, load_mgsm_exemplars
from harness.lang.prompts import prompt_text
from harness.eval.tasks import tasks_dir
from tests.helpers import plain_yaml, task_utils

TASKS_DIR = tasks_dir()

FAMILIES = ("mgsm_xling", "mgsm_xling_4shot")


def _manager(data_dir: Path | None = None, **metadata):
    from lm_eval.tasks import TaskManager

    if data_dir is not None:
        metadata["data_dir"] = str(data_dir)
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


# --- conventions -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_group_is_the_study_languages_and_telugu_stays_out(family):
    # (generic conventions of every family: tests/test_tasks_families.py)
    utils = task_utils(family)
    assert utils.GROUP_LANGUAGES == STUDY_LANGUAGES and utils.EXTRA_LANGUAGES == ("te",)
    group = plain_yaml(TASKS_DIR / family / f"_{family}.yaml")
    assert group["task"] == [f"{family}_{lang}" for lang in STUDY_LANGUAGES]
    assert (TASKS_DIR / family / f"{family}_te.yaml").is_file()


def test_generation_never_stops_at_a_newline():
    gen = plain_yaml(TASKS_DIR / "mgsm_xling" / "mgsm_xling_common_yaml")["generation_kwargs"]
    assert "<|im_end|>" in gen["until"]
    assert not any("\n" in stop for stop in gen["until"])
    assert gen["max_gen_toks"] >= 1024 and gen["do_sample"] is False


# --- data ------------------------------------------------------------------------------------


def test_mirror_rows_and_golds(shared_data):
    for lang in STUDY_LANGUAGES + ("te",):
        rows = load_mgsm(lang, shared_data)
        assert len(rows) == 250 and all(r["kind"] == "number" and r["lang"] == lang for r in rows)
    en = load_mgsm("en", shared_data)
    assert sum("," in r["answer"] for r in en) == 4  # thousands separators kept as written
    assert en[0]["answer"] == "18" and en[0]["question"].startswith("Janet")


def test_missing_mirror_file_names_the_path_and_the_dataset(tmp_path):
    (tmp_path / "mgsm").mkdir()
    with pytest.raises(DataError) as info:
        load_mgsm("de", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mgsm" / "mgsm_de.tsv") in message and "juletxara/mgsm" in message


def test_unparsable_gold_stops_the_load(tmp_path):
    (tmp_path / "mgsm").mkdir()
    (tmp_path / "mgsm" / "mgsm_de.tsv").write_text("Wie viel?\t18\nUnd jetzt?\tachtzehn\n", encoding="utf-8")
    with pytest.raises(DataError, match="achtzehn"):
        load_mgsm("de", tmp_path)


def test_hub_loading_offline_says_how_to_use_a_mirror(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="juletxara/mgsm.*--data-dir or HARNESS_DATA_DIR"):
        load_mgsm("de", None)


def test_exemplars_are_native_and_boxed(shared_data):
    shots = load_mgsm_exemplars("de", shared_data)
    assert len(shots) == 8
    assert shots[0]["question"].startswith("Roger hat 5 Tennisbälle")  # "Frage: " label removed
    assert shots[0]["target"].endswith("Die Antwort ist \\boxed{11}.")
    assert not shots[0]["target"].startswith("Schritt")
    zh = load_mgsm_exemplars("zh", shared_data)
    assert zh[0]["target"].endswith("答案是 \\boxed{11}。")
    assert boxed_exemplar_answer("Answer: no number at the end here.", 7) == "no number at the end here. \\boxed{7}"


# --- through lm-eval -------------------------------------------------------------------------


def test_lm_eval_builds_the_group_from_the_mirror(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths never depend on the working directory
    loaded = _manager(shared_data).load(["mgsm_xling"])
    assert sorted(loaded["tasks"]) == sorted(f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES)
    task = loaded["tasks"]["mgsm_xling_sw"]
    doc = task.eval_docs[0]
    assert len(task.eval_docs) == 250
    assert task.doc_to_text(doc) == prompt_text(doc["question"], "sw")
    assert task.doc_to_target(doc) == doc["answer"]
    assert task.process_results(doc, [f"... \\boxed{{{doc['answer']}}}"]) == {"strict_acc": 1.0, "flexible_acc": 1.0}
    assert task.process_results(doc, [f"Jibu ni {doc['answer']}."]) == {"strict_acc": 0.0, "flexible_acc": 1.0}


def test_data_dir_from_the_environment(shared_data, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(shared_data))
    task = _manager().load(["mgsm_xling_te"])["tasks"]["mgsm_xling_te"]
    assert len(task.eval_docs) == 250 and task.eval_docs[0]["lang"] == "te"


def test_consistency_prompt_through_metadata(shared_data):
    task = _manager(shared_data, consistency=True).load(["mgsm_xling_de"])["tasks"]["mgsm_xling_de"]
    text = task.doc_to_text(task.eval_docs[0])
    assert text.endswith(literals("de").reason_in_language)
    assert text == prompt_text(task.eval_docs[0]["question"], "de", consistency=True)


def test_missing_data_through_lm_eval_names_the_file(tmp_path):
    (tmp_path / "mgsm").mkdir()
    with pytest.raises(DataError, match="mgsm_fr.tsv"):
        _manager(tmp_path).load(["mgsm_xling_fr"])


def test_four_shot_context_under_a_chat_template(shared_data):
    from transformers import AutoTokenizer

    from harness.inference.tiny import tiny_model_path

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path())
    task = _manager(shared_data).load(["mgsm_xling_4shot_de"])["tasks"]["mgsm_xling_4shot_de"]
    assert task.get_config("num_fewshot") == 4
    doc = task.eval_docs[0]

    def template(messages, add_generation_prompt=True):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    context = task.fewshot_context(doc, 4, apply_chat_template=True, fewshot_as_multiturn=True, chat_template=template)
    assert context.count("<|im_start|>user") == 5 and context.count("<|im_start|>assistant") == 5
    assert context.count("\\boxed{") == 5 + 4  # 5 instructions, 4 boxed exemplar answers
    for number in (11, 29, 39, 9):
        assert f"\\boxed{{{number}}}" in context
    assert "\\boxed{33}" not in context  # only the first four exemplars
    assert context.endswith(prompt_text(doc["question"], "de") + "<|im_end|>\n<|im_start|>assistant\n")
