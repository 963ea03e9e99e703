"""One table of hub+mirror data sources (harness.datasets_local.SOURCES) for the benchmarks and the
training corpora alike."""

from __future__ import annotations

import json

import pytest

from harness import corpora
from harness.datasets_local import DATA_DIR_ENV, SOURCES, TRAINING_SOURCES
from harness.errors import UserError


def test_training_corpora_come_from_the_one_source_table():
    assert set(corpora.HUB) == set(TRAINING_SOURCES) <= set(SOURCES)
    for name in TRAINING_SOURCES:
        source = SOURCES[name]
        assert corpora.HUB[name] == (source.hf_id, source.config, source.mirror)
        assert corpora.ALIASES[source.hf_id] == name  # --data openai/gsm8k means the same corpus


def test_a_corpus_reads_the_mirror_path_of_its_source(tmp_path, monkeypatch):
    path = tmp_path / SOURCES["gsm8k"].mirror.format(split="train")
    path.parent.mkdir(parents=True)
    rows = [{"question": f"Emma has {i} apples and gets 2 more. How many?", "answer": f"{i} + 2 = {i + 2}\n#### {i + 2}"}
            for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    records = corpora.load_corpus("openai/gsm8k", ["en"])
    assert [r["answer"] for r in records] == ["2", "3", "4"]
    with pytest.raises(UserError, match=r"the mirror .* has no gsm8k/test.jsonl"):
        corpora.load_corpus("gsm8k", ["en"], split="test")
