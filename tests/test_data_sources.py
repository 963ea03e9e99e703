"""One table of hub+mirror data sources (harness.data.sources.SOURCES) for the benchmarks and the
training corpora alike, read by one reader (harness.data.sources.read_source)."""

from __future__ import annotations

import json

import pytest

from harness.core.errors import UserError
from harness.data import corpora
from harness.data.sources import DATA_DIR_ENV, SOURCES, DataError, read_jsonl, read_rows, read_source


def test_training_corpora_come_from_the_one_source_table():
    training = {name for name, source in SOURCES.items() if source.training}
    assert training == {"gsm8k", "gsm8k_parallel", "luffy"}
    for name in training:
        corpus = corpora.BUILTIN_CORPORA[name]
        assert corpus.source == name and corpus.origin == SOURCES[name].hf_id
        assert corpora.find_corpus(SOURCES[name].hf_id) is corpus  # --data openai/gsm8k means the same corpus


def test_a_corpus_reads_the_mirror_path_of_its_source(tmp_path, monkeypatch):
    path = tmp_path / SOURCES["gsm8k"].mirror.format(split="train")
    path.parent.mkdir(parents=True)
    rows = [{"question": f"Emma has {i} apples and gets 2 more. How many?", "answer": f"{i} + 2 = {i + 2}\n#### {i + 2}"}
            for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    records = corpora.load_corpus("openai/gsm8k", ["en"])
    assert [r["answer"] for r in records] == ["2", "3", "4"]
    assert corpora.load_corpus("gsm8k", ["en"], data_dir=tmp_path) == records  # an explicit mirror, same file
    with pytest.raises(UserError, match=r"missing data file .*gsm8k/test.jsonl: expected the mirror of openai/gsm8k"):
        corpora.load_corpus("gsm8k", ["en"], split="test")


def test_read_source_fills_lang_into_the_mirror_path(shared_data):
    rows, where = read_source("mgsm", shared_data, lang="de")
    assert where.endswith("mgsm/mgsm_de.tsv") and len(rows) == 250
    assert set(rows[0]) == {"question", "answer_number"}  # the TSV's columns, named as on the hub


def test_the_hub_branch_is_taken_only_without_a_mirror(tmp_path, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network in tests")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"could not load Qwen/P-MMEval \(mlogiqa/test/de.jsonl\) from the Hugging "
                                        r"Face hub \(ConnectionError: no network in tests\); .* mlogiqa/de.jsonl"):
        read_source("mlogiqa", None, lang="de")
    with pytest.raises(DataError, match="missing data file"):
        read_source("mlogiqa", tmp_path, lang="de")


def test_read_rows_by_suffix(tmp_path):
    (tmp_path / "a.json").write_text('[{"x": 1}, {"x": 2}]', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"x": 1}\n{"x": 2}\n', encoding="utf-8")  # JSON lines under a .json name
    (tmp_path / "c.tsv").write_text("Wie viel?\t18\n", encoding="utf-8")
    assert read_rows(tmp_path / "a.json") == read_rows(tmp_path / "b.json") == [{"x": 1}, {"x": 2}]
    assert read_rows(tmp_path / "c.tsv", ("q", "a")) == [{"q": "Wie viel?", "a": "18"}]


def test_read_jsonl_names_the_bad_line_or_drops_a_torn_tail(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1}\n\n{"step": 2}\n{"ste', encoding="utf-8")
    with pytest.raises(UserError, match="log.jsonl:4: not valid JSON"):
        read_jsonl(path)
    assert read_jsonl(path, torn_tail=True) == [{"step": 1}, {"step": 2}]
