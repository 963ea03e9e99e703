"""``harness corpus build`` end to end against a real OpenAI-compatible server (a subprocess), its
resume after a killed build and after a dead server, ``--data NAME``, and ``harness corpus check``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures.corpus import chat_server
from tests.helpers import run_cli

FIXTURES = REPO / "tests" / "fixtures" / "corpus"
SOURCE = FIXTURES / "source.jsonl"


def build_args(url: str, out: Path, *extra: str, verifier: bool = True) -> list[str]:
    judge = ["--verifier", "judge", "--verifier-url", url] if verifier else ["--verifier", "none"]
    return ["corpus", "build", "--source", str(SOURCE), "--langs", "de,zh", "--translator", "fake",
            "--translator-url", url, *judge, "--out", str(out),
            "--backoff", "0.01", "--chunk-chars", "60", "--progress-every", "0", "--name", "fixture_v1", *extra]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_build_writes_verified_corpus_rejections_and_manifest(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_CORPORA_DIR", str(tmp_path / "corpora"))
    _, url, log = server("--rate-limit-first", "2", "--verify-reject", "米娅", "--refuse", "He spends 3 * 7")
    out = tmp_path / "corpora" / "fixture_v1"
    code, stdout, _ = run_cli(capsys, *build_args(url, out))
    assert code == 0, stdout
    assert "de: 3/5 accepted (rejected: transport 1, numbers 1)" in stdout
    assert [r["id"] for r in read(out / "de.jsonl")] == ["r1", "r2", "r4"]
    assert [r["id"] for r in read(out / "zh.jsonl")] == ["r1", "r2", "r3"]
    assert len(read(out / "en.jsonl")) == 5
    reasons = {(r["id"], r["lang"]): r["check"] for r in read(out / "rejected.jsonl")}
    assert reasons == {("r3", "de"): "numbers", ("r4", "zh"): "verifier", ("r5", "de"): "transport",
                       ("r5", "zh"): "transport"}
    numbers = next(r for r in read(out / "rejected.jsonl") if r["check"] == "numbers")
    assert numbers["evidence"]["missing"] == ["10"] and numbers["evidence"]["added"] == ["12"]
    zh = read(out / "zh.jsonl")[0]
    assert zh["solution"] == "莉娜一开始有12个苹果。\n\n她又买了30个，所以她有 12 + 30 = 42 个苹果。\n\n答案是 \\boxed{42}。"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["zh"]["verifier"] == {"checked": 4, "passed": 3}
    assert manifest["usage"]["translate"]["prompt_tokens"] > 0 and manifest["usage"]["verify"]["cost"] > 0
    assert "Keep every number exactly as written" in manifest["prompts"]["de"]["translate"]

    # Rerun: everything comes from the journal, nothing is sent again.
    sent = len(chat_server.events(log, "request"))
    code, again, _ = run_cli(capsys, *build_args(url, out))
    assert code == 0 and len(chat_server.events(log, "request")) == sent
    assert read(out / "de.jsonl") == read(out / "de.jsonl")

    # The corpus is a named corpus for --data, and plain JSON for datasets.
    from datasets import load_dataset

    from harness.core.plugins import get_catalog
    from harness.data.corpora import load_corpus

    records = load_corpus("fixture_v1", ["de", "en"], corpora=get_catalog().corpora)
    assert Counter(r["lang"] for r in records) == {"en": 5, "de": 3}
    assert len(load_dataset("json", data_files=str(out / "zh.jsonl"), split="train")) == 3


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_build_resumes_and_translates_every_request_once(server, tmp_path, capsys):
    _, url, log = server("--delay", "0.1")
    out = tmp_path / "corpus"
    journal = out / ".cache" / "replies.jsonl"
    command = [sys.executable, "-m", "harness.cli", *build_args(url, out, "--concurrency", "2")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while _lines(journal) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = _lines(journal)
    assert 8 <= done_before < 30 and not (out / "manifest.json").exists()  # killed mid-run
    answered_before = set(chat_server.events(log, "response"))

    code, stdout, _ = run_cli(capsys, *build_args(url, out, "--concurrency", "2"))
    assert code == 0, stdout
    requests = Counter(chat_server.events(log, "request"))
    # Only what was in flight at the kill (at most 2) went out twice; no finished reply was redone.
    assert sum(n - 1 for n in requests.values()) <= 2
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert len(keys) == len(set(keys))
    assert len(answered_before) >= done_before - 2
    rows = read(out / "de.jsonl") + read(out / "zh.jsonl") + read(out / "rejected.jsonl")
    assert Counter((r["id"], r["lang"]) for r in rows) == {(f"r{i}", lang): 1 for i in range(1, 6) for lang in ("de", "zh")}


def test_a_server_that_dies_mid_run_is_resumed_against_a_new_one(server, tmp_path, capsys):
    _, url, first_log = server("--die-after", "6", "--delay", "0.05")
    out = tmp_path / "corpus"
    code, _, stderr = run_cli(capsys, *build_args(url, out, "--concurrency", "2", "--max-retries", "1"))
    assert code == 2 and "rerun the same command to resume" in stderr
    answered = set(chat_server.events(first_log, "response"))
    assert len(answered) == 6
    first_log.rename(tmp_path / "first-server.jsonl")

    _, url, second_log = server()
    code, stdout, _ = run_cli(capsys, *build_args(url, out, "--concurrency", "2"))
    assert code == 0, stdout
    assert not answered & set(chat_server.events(second_log, "request"))  # nothing answered is asked again
    assert len(read(out / "de.jsonl")) == 4 and len(read(out / "zh.jsonl")) == 4  # r3 de: numbers, r5 zh: English


def test_a_reply_cut_at_the_token_limit_is_rejected_as_truncated(server, tmp_path, capsys):
    _, url, _ = server()
    out = tmp_path / "corpus"
    code, stdout, _ = run_cli(capsys, *build_args(url, out, "--max-tokens", "12", verifier=False))
    assert code == 0, stdout
    rejected = read(out / "rejected.jsonl")
    # Every German question is over 48 characters ("tokens" are 4 characters): cut, so rejected as
    # truncated; some Chinese replies fit.
    assert {r["check"] for r in rejected} == {"truncated"}
    assert sorted(r["id"] for r in rejected if r["lang"] == "de") == ["r1", "r2", "r3", "r4", "r5"]
    assert rejected[0]["evidence"] == {"field": "question", "chunk": 0, "completion_tokens": 12}
    assert read(out / "de.jsonl") == [] and json.loads((out / "manifest.json").read_text())["verifier"] is None


def test_check_on_the_mathoctopus_layout_shows_pass_rates_and_failures(capsys, tmp_path):
    report = tmp_path / "report.json"
    code, stdout, _ = run_cli(capsys, "corpus", "check", str(FIXTURES / "MGSM8KInstruct_Parallel.json"),
                              "--json", str(report))
    assert code == 0
    rows = {r["lang"]: r for r in json.loads(report.read_text())["rows"]}
    assert rows["de"]["answer"] == 1.0 and rows["de"]["numbers"] == pytest.approx(2 / 3)  # "fünfzig"
    assert rows["zh"]["answer"] == pytest.approx(2 / 3)  # 5 became 6
    assert '"missing": ["50"]' in stdout


def test_check_on_mgsm_measures_how_strict_the_checks_are(shared_data, capsys, tmp_path):
    report = tmp_path / "report.json"
    code, stdout, _ = run_cli(capsys, "corpus", "check", str(shared_data / "mgsm"), "--json", str(report))
    assert code == 0
    rows = {r["lang"]: r for r in json.loads(report.read_text())["rows"]}
    assert set(rows) == {"bn", "de", "es", "fr", "ja", "ru", "sw", "te", "th", "zh"}
    assert all(r["records"] == 250 and r["answer"] == 1.0 for r in rows.values())  # same answers
    # Human translations adapt numbers ("1:00 PM" -> "13 Uhr", "3 dozen" -> "36"): a few percent fail.
    assert all(0.9 <= r["numbers"] <= 1.0 for r in rows.values()) and rows["de"]["numbers"] < 1.0
    assert all(r["all"] >= 0.9 for r in rows.values())


def test_unknown_target_language_is_one_sentence(capsys):
    code, _, stderr = run_cli(capsys, "corpus", "build", "--source", str(SOURCE), "--langs", "xx")
    assert code == 2 and "unknown target language 'xx'" in stderr
