"""Training corpora: every source converts to one schema, languages mix with per-language counts."""

from __future__ import annotations

import json

import pytest

from harness.data.corpora import (
    BUILTIN_CORPORA,
    NamedCorpus,
    check_records,
    convert_records,
    find_corpus,
    from_gsm8k,
    load_corpus,
    mix,
    parse_counts,
    split_gsm8k_answer,
    take_per_language,
    toy_easy_corpus,
)
from harness.core.errors import UserError

GSM8K_ROW = {
    "question": "Natalia sold clips to 48 of her friends in April, and then half as many in May. How many in all?",
    "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=72>>72 clips.\n#### 72",
}
# MathOctopus' MGSM8KInstruct_Parallel: an Alpaca prompt naming the language, answer "#### N".
PARALLEL_ROW = {
    "prompt": "Below is an instruction that describes a task. Write a response that appropriately completes "
              "the request in German. Please answer in German.\n\n### Instruction:\nLena hat 3 Äpfel und "
              "kauft 1,000 dazu. Wie viele hat sie?\n\n### Response: Let's think step by step.",
    "chosen": "Sie hat 3 + 1000 = <<3+1000=1003>>1003 Äpfel.\n#### 1,003",
    "reject": "",
}
# LUFFY (Elliott/Openr1-Math-46k-8192): verl-style rows with a system + user prompt and an R1 trace.
LUFFY_ROW = {
    "data_source": "openr1",
    "prompt": [{"role": "system", "content": "You are a helpful assistant."},
               {"role": "user", "content": "Compute $\\frac{1}{2}+\\frac{1}{4}$."}],
    "target": [{"role": "assistant", "content": "<think>Add.</think> The sum is $\\boxed{\\frac{3}{4}}$."}],
    "ability": "math",
    "reward_model": {"ground_truth": "\\frac{3}{4}", "style": "rule"},
    "extra_info": {"index": 17, "split": "default"},
}


def test_gsm8k_answer_splits_into_reasoning_and_number():
    steps, answer = split_gsm8k_answer(GSM8K_ROW["answer"])
    assert answer == "72"
    assert "<<" not in steps and steps.endswith("72 clips.")
    assert split_gsm8k_answer("x\n#### 1,250")[1] == "1250"


def test_gsm8k_record_gets_a_boxed_solution():
    record = from_gsm8k(GSM8K_ROW, 3, "openai/gsm8k")
    assert record["lang"] == "en" and record["answer"] == "72" and record["id"] == "gsm8k-00003"
    assert record["solution"].endswith("The answer is \\boxed{72}.")
    check_records([record], "gsm8k", ["en"])


def test_parallel_gsm8k_record_takes_language_and_question_from_the_prompt():
    (record,) = convert_records([PARALLEL_ROW], "Mathoctopus/GSM8KInstruct_Parallel")
    assert record["lang"] == "de"
    assert record["question"].startswith("Lena hat 3 Äpfel") and "### Response" not in record["question"]
    assert record["answer"] == "1003"
    assert record["solution"].endswith("Die Antwort ist \\boxed{1003}.")


def test_luffy_record_keeps_the_latex_answer_as_math():
    (record,) = convert_records([LUFFY_ROW], "Elliott/Openr1-Math-46k-8192")
    assert record == {
        "id": "luffy-17", "lang": "en", "question": "Compute $\\frac{1}{2}+\\frac{1}{4}$.",
        "solution": "<think>Add.</think> The sum is $\\boxed{\\frac{3}{4}}$.", "answer": "\\frac{3}{4}",
        "answer_kind": "math", "source": "Elliott/Openr1-Math-46k-8192",
    }
    check_records([record], "luffy", ["en"])


def test_unknown_schema_names_the_record():
    with pytest.raises(UserError, match=r"record 1: unknown record schema \(keys: text\)"):
        convert_records([GSM8K_ROW, {"text": "hello"}], "mine.jsonl")


def test_jsonl_file_in_any_schema(tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [GSM8K_ROW, PARALLEL_ROW, {"question": "1+1?", "solution": "\\boxed{2}", "answer": "2", "lang": "zh"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    records = load_corpus(str(path), ["en", "de", "zh"])
    assert [r["lang"] for r in records] == ["en", "de", "zh"]
    assert load_corpus(str(path), ["de"])[0]["answer"] == "1003"


def test_json_array_and_split_folder(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps([GSM8K_ROW, GSM8K_ROW]), encoding="utf-8")
    assert len(load_corpus(str(tmp_path), ["en"], n=1)) == 1


def test_bad_json_line_is_located(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(GSM8K_ROW) + "\n{nope\n", encoding="utf-8")
    with pytest.raises(UserError, match="broken.jsonl:2: not valid JSON"):
        load_corpus(str(path), ["en"])


def test_named_corpus_reads_the_local_mirror(shared_data, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(shared_data))
    records = load_corpus("openai/gsm8k", ["en"], n=5)
    assert len(records) == 5 and records[0]["answer"] == "72"
    assert load_corpus("gsm8k", ["en"], split="test", n=2)[0]["source"] == "openai/gsm8k"


def test_named_corpus_missing_from_the_mirror_says_which_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    with pytest.raises(UserError, match="luffy/train.jsonl: expected the mirror of Elliott/Openr1-Math-46k-8192"):
        load_corpus("luffy", ["en"])


def test_a_language_the_corpus_lacks_is_an_error(shared_data, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(shared_data))
    with pytest.raises(UserError, match="no records for languages de"):
        load_corpus("gsm8k", ["de"], n=3)


def test_take_per_language_keeps_file_order():
    records = [{"lang": lang, "i": i} for i, lang in enumerate(["en", "de", "en", "de", "en"])]
    assert [r["i"] for r in take_per_language(records, 2)] == [0, 1, 2, 3]
    assert take_per_language(records, None) == records


def test_parse_counts():
    assert parse_counts("en=3, de=2", ["en", "de"]) == {"en": 3, "de": 2}
    with pytest.raises(UserError, match="not LANG=COUNT"):
        parse_counts("en:3", ["en"])
    with pytest.raises(UserError, match="unknown language in the counts 'fr'"):
        parse_counts("fr=1", ["en", "de"])


def test_mixture_takes_the_asked_counts_per_language():
    records = load_corpus("toy", ["en", "zh", "de"], n=10)
    mixed = mix(records, {"en": 4, "zh": 2}, seed=1)
    counts = {lang: sum(r["lang"] == lang for r in mixed) for lang in ("en", "zh", "de")}
    assert counts == {"en": 4, "zh": 2, "de": 10}
    assert mix(records, {"en": 4, "zh": 2}, seed=1) == mixed  # deterministic by seed
    with pytest.raises(UserError, match="asks for 11 en problems, the data has 10"):
        mix(records, {"en": 11})


def test_disjoint_mixture_uses_each_problem_once():
    records = load_corpus("toy", ["en", "zh", "de"], n=12)
    mixed = mix(records, None, seed=0, disjoint=True)
    assert len(mixed) == 12 and len({r["id"] for r in mixed}) == 12
    assert {r["lang"] for r in mixed} == {"en", "zh", "de"}


def test_toy_easy_is_parallel_and_its_splits_share_no_problem():
    train = toy_easy_corpus(["en", "de"], n=50)
    test = toy_easy_corpus(["en"], n=50, split="test")
    assert [r["answer"] for r in train[:50]] == [r["answer"] for r in train[50:]]
    numbers = lambda rs: {tuple(int(t) for t in r["solution"].split("=")[0].split() if t.isdigit()) for r in rs}
    assert not numbers(train[:50]) & numbers(test)
    check_records(train + test, "toy_easy", ["en", "de"])


def test_registered_corpora_are_passed_in_not_looked_up(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps(GSM8K_ROW) + "\n", encoding="utf-8")
    registered = {"mine": NamedCorpus("mine", tmp_path, "a test corpus")}
    records = load_corpus("mine", ["en"], corpora=registered)
    assert records[0]["answer"] == "72" and records[0]["source"] == "mine"
    with pytest.raises(UserError, match="training data mine does not exist"):
        load_corpus("mine", ["en"])  # not registered with this caller: a path, and a missing one
    assert find_corpus("toy", {"toy": registered["mine"]}) is BUILTIN_CORPORA["toy"]  # built-ins come first


def test_which_corpora_have_a_held_out_split_is_a_property_of_the_corpus():
    assert {name for name, corpus in BUILTIN_CORPORA.items() if corpus.held_out} == {"toy", "toy_easy", "toy_study"}
    assert not NamedCorpus("mine", None).held_out
    test = BUILTIN_CORPORA["toy_easy"].load(["en"], split="test", n=5)
    assert len(test) == 5 and test[0]["id"].startswith("toy_easy-test")
