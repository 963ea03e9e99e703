"""Bad input, as an ordinary but hostile user gives it, ends in one sentence and exit 2, before
anything is loaded or created: a table per class of input (issue 10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli

TRAIN = ["train", "--plugin", "example_lm", "--lang", "de", "--steps", "1"]
EVAL = ["eval", "--tasks", "toy_xling", "--limit", "1"]


def one_sentence(capsys, *args: str) -> str:
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    text = " ".join(err.split())
    assert text.startswith("error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2, err  # one sentence (rich may wrap it once)
    return text


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A scratch working directory; nothing may be created in it by a refused command."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    return tmp_path


@pytest.fixture
def broken_models(work):
    """Copies of the tiny model with one thing wrong each."""
    from harness.inference.tiny import tiny_model_path

    tiny = tiny_model_path()
    models = {}
    for name in ("no_weights", "bad_config", "truncated", "config_list", "wrong_type"):
        target = work / name
        shutil.copytree(tiny, target)
        models[name] = target
    (models["no_weights"] / "model.safetensors").unlink()
    (models["bad_config"] / "config.json").write_text('{"model_type": "qwen2",')
    (models["config_list"] / "config.json").write_text("[1, 2]")
    config = json.loads((models["wrong_type"] / "config.json").read_text())
    (models["wrong_type"] / "config.json").write_text(json.dumps({**config, "num_hidden_layers": "two"}))
    weights = models["truncated"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return models


# --- inputs that would reach a library before being checked ---------------------------------------

@pytest.mark.parametrize("args, message", [
    ([*TRAIN, "--model", "tinyy"], "unknown model 'tinyy' (not an alias, a folder or an org/name hub id); did you mean 'tiny'?"),
    ([*EVAL, "--model", "tinyy"], "unknown model 'tinyy'"),
    ([*TRAIN, "--model", "runs/none/model"], "model path runs/none/model does not exist"),
    ([*EVAL, "--limit", "0"], "--limit must be at least 1, got 0"),
    ([*EVAL, "--batch-size", "abc"], "--batch-size must be a positive integer or 'auto'"),
    ([*EVAL, "--max-gen-toks", "-5"], "--max-gen-toks must be at least 1"),
    ([*EVAL, "--num-repeats", "0"], "--num-repeats must be at least 1"),
    ([*EVAL, "--top-p", "1.5"], "--top-p must be in (0, 1]"),
    ([*EVAL, "--gen-kwargs", "temperature"], "--gen-kwargs takes key=value pairs"),
    ([*EVAL, "--tasks", "../../etc/passwd"], "--tasks takes task names"),
    ([*EVAL, "--tasks", "/tmp/evil"], "--tasks takes task names"),
    ([*EVAL, "--tasks", "mgsm_xling/../x"], "--tasks takes task names"),
    ([*TRAIN, "--num-problems", "0"], "--num-problems must be at least 1, got 0"),
    ([*TRAIN, "--steps", "abc"], "--steps must be int, got 'abc'"),
    ([*TRAIN, "--resume", "--overwrite", "--run-dir", "r"], "give one of them"),
    (["train", "--plugin", "grpo", "--lang", "de", "--report-to", "tensorbord"], "did you mean 'tensorboard'"),
])
def test_flags_and_names(capsys, work, args, message):
    assert message in one_sentence(capsys, *args)
    assert not (work / "runs").exists() and not (work / "r").exists()


@pytest.mark.parametrize("name, message", [
    ("no_weights", "has no weights"),
    ("bad_config", "config.json:1: not valid JSON (Expecting property name enclosed in double quotes at column 24, byte offset 23)"),
    ("config_list", "config.json is not a model config"),
    ("wrong_type", "config.json: transformers cannot load this model config (Field 'num_hidden_layers' expected int"),
    ("truncated", "model.safetensors is truncated"),
])
def test_damaged_model_folders_are_named(capsys, work, broken_models, name, message):
    for command in (TRAIN, EVAL):
        text = one_sentence(capsys, *command, "--model", str(broken_models[name]))
        assert message in text and name in text
    assert not (work / "runs").exists()


# --- encodings and sizes ------------------------------------------------------------------------

LATIN1 = "Frage: Wie viele Äpfel?".encode("latin-1")


def test_non_utf8_files_are_named_with_their_line(capsys, work):
    data = work / "train.jsonl"
    data.write_bytes(b'{"question": "q", "solution": "s", "answer": "1", "lang": "de"}\n'
                     b'{"question": "' + LATIN1 + b'", "solution": "s", "answer": "1", "lang": "de"}\n')
    assert "train.jsonl:2: not UTF-8 text (byte 0xc4" in one_sentence(capsys, *TRAIN, "--data", str(data))
    registry = work / "registry.yaml"
    registry.write_bytes(b"languages:\n  de: {name: " + LATIN1 + b", langid: de}\n")
    assert "registry.yaml:2: not UTF-8 text" in one_sentence(capsys, "--registry", str(registry), "validate")
    results = work / "results.json"
    results.write_bytes(b'{"results": {"x": "' + LATIN1 + b'"}}')
    assert "results.json:1: not UTF-8 text" in one_sentence(capsys, "gen", "--base", str(results), str(results))
    config = work / "config.yaml"
    config.write_bytes(b"model: " + LATIN1 + b"\n")
    assert "config.yaml:1: not UTF-8 text" in one_sentence(capsys, "eval", "--config", str(config))
    assert "config.yaml:1: not UTF-8 text" in one_sentence(capsys, *TRAIN, "--config", str(config))
    samples = synthetic_eval_run(work / "eval-latin1")
    samples.write_bytes(samples.read_bytes() + b'{"doc_id": 9, "doc": {"id": "' + LATIN1 + b'"}}\n')
    assert f"{samples.name}:3: not UTF-8 text (byte 0xc4" in one_sentence(capsys, "report", str(samples.parent))
    tsv = work / "mirror" / "mgsm"
    tsv.mkdir(parents=True)
    (tsv / "mgsm_de.tsv").write_bytes(LATIN1 + b"\t3\n")
    assert "mgsm_de.tsv:1: not UTF-8 text" in one_sentence(
        capsys, "probe", "consistency", "--lang", "de", "--data", str(work / "mirror" / "mgsm"), "--num-problems", "1")


def synthetic_eval_run(path: Path) -> Path:
    """An eval run of two problems in en and de; returns its samples file of de."""
    import numpy as np

    from tests.synthetic import write_eval_run

    write_eval_run(path, {"toy_xling": {"en": np.array([[1, 0]]), "de": np.array([[0, 1]])}})
    return next(path.glob("samples_toy_xling_de*.jsonl"))


@pytest.mark.parametrize("damage, message", [
    (lambda run: (run / "results.json").write_text('{"results": {"toy_xling_en": {"acc": 1,}}}'),
     'results.json:1: not valid JSON (Expecting property name enclosed in double quotes at column 40, byte offset 39)'),
    (lambda run: (run / "results.json").write_text('{"results": 1}'), "results.json is not a harness or lm-eval results file"),
    (lambda run: next(run.glob("samples_toy_xling_de*.jsonl")).write_text('{"doc_id": 0\n{"doc_id": 1}\n'),
     ":1: not valid JSON (Expecting ',' delimiter at column 13, byte offset 12)"),
    (lambda run: (run / "config.yaml").write_text("model: [tiny\n"), "config.yaml:2: not valid YAML"),
])
def test_damaged_report_inputs_are_named(capsys, work, damage, message):
    run, other = synthetic_eval_run(work / "eval").parent, synthetic_eval_run(work / "other").parent
    damage(run)
    for command in (("report", str(run)), ("compare", str(other), str(run))):
        assert message in one_sentence(capsys, *command)


def test_a_damaged_base_eval_of_pick_lang_is_named(capsys, work):
    results = work / "results.json"
    results.write_bytes(b'{"results": {}, "note": "' + LATIN1 + b'"}')
    assert "results.json:1: not UTF-8 text (byte 0xc4 at column 43, byte offset 42)" in one_sentence(
        capsys, "pick-lang", "--candidates", "en,de", "--base-eval", str(results))
    results.write_text('{"results": {}\n"x": 1}')
    assert "results.json:2: not valid JSON (Expecting ',' delimiter at column 1, byte offset 15)" in one_sentence(
        capsys, "pick-lang", "--candidates", "en,de", "--base-eval", str(results))


def test_damaged_corpus_inputs_are_named(capsys, work):
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "de.jsonl").write_bytes(b'{"id": "a", "lang": "en", "question": "q", "answer": "1"}\n'
                                      b'{"id": "a", "lang": "de", "question": "' + LATIN1 + b'", "answer": "1"}\n')
    assert "de.jsonl:2: not UTF-8 text (byte 0xc4 at column 57, byte offset 114)" in one_sentence(
        capsys, "corpus", "check", str(corpus))
    built = work / "built"
    built.mkdir()
    (built / "manifest.json").write_text('{"files": \n')
    assert "manifest.json:2: not valid JSON (Expecting value at column 1, byte offset 11)" in one_sentence(
        capsys, "corpus", "check", str(built))


@pytest.mark.slow
def test_a_record_that_would_train_on_nothing_is_refused(capsys, work):
    data = work / "huge.jsonl"
    question = "Wie viele Äpfel hat Lena? " * 400  # thousands of tokens: more than max_length
    data.write_text(json.dumps({"question": question, "solution": "Sie hat \\boxed{3}.", "answer": "3",
                                "lang": "de", "id": "huge-1"}) + "\n", encoding="utf-8")
    text = one_sentence(capsys, "train", "--plugin", "sft", "--lang", "de", "--data", str(data), "--max-length", "256",
                        "--max-steps", "1", "--run-dir", "runs/huge")
    assert "training example 0 (huge-1, " in text and "huge.jsonl) has a" in text and "would train on nothing" in text
    manifest = json.loads((work / "runs/huge/manifest.json").read_text())
    assert manifest["status"] == "failed"  # the directory tells the truth


# --- silent acceptance -----------------------------------------------------------------------------

def test_records_without_a_language_are_refused(capsys, work):
    data = work / "nolang.jsonl"
    data.write_text('{"question": "q", "solution": "s", "answer": "1"}\n')
    assert "record 0: no 'lang' field" in one_sentence(capsys, *TRAIN, "--data", str(data))
    data.write_text('[1, 2]\n')
    assert "record 0: a record must be a JSON object" in one_sentence(capsys, *TRAIN, "--data", str(data))


@pytest.mark.parametrize("snippet, message", [
    ("paradigms:\n  fast:\n    plugin: sft\n    defaults: {learning_rate: fast}\n", ":4: learning_rate must be float, got 'fast'"),
    ("models:\n  broken:\n    path: [1, 2]\n", ":3: path of model 'broken' must be a non-empty string"),
    ("models:\n  small:\n    path: x/y\n    train_defaults: {num_generations: many}\n", ":4: num_generations must be int"),
    ("models:\n  small:\n    path: x/y\n    train_defaults: {learnin_rate: 1}\n", ":4: unknown training setting 'learnin_rate'"),
])
def test_registry_types_are_checked_with_file_and_line(capsys, work, snippet, message):
    from harness.core.registry import default_registry_path

    text = default_registry_path().read_text(encoding="utf-8")
    section = snippet.split(":", 1)[0] + ":\n"
    registry = work / "registry.yaml"
    new = text.replace(section, snippet, 1)
    registry.write_text(new, encoding="utf-8")
    line = new.splitlines().index(snippet.splitlines()[-1]) + 1
    result = one_sentence(capsys, "--registry", str(registry), "validate")
    assert f"registry.yaml:{line}" in result and message.split(": ", 1)[1] in result


def test_a_registry_path_that_is_a_folder(capsys, work):
    assert f"registry file {work} is a folder, not a file" in one_sentence(capsys, "--registry", str(work), "validate")


# --- the machine says no -------------------------------------------------------------------------

def test_an_unwritable_run_dir_is_one_sentence(capsys, work):
    text = one_sentence(capsys, *TRAIN, "--run-dir", "/proc/harness-test-run")
    assert "/proc/harness-test-run" in text


@pytest.fixture
def small_disk(tmp_path):
    """A real 700 KB filesystem (tmpfs; needs root, as CI has): too small for a model."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_ends_in_one_sentence_and_a_failed_run(capsys, work, small_disk):
    text = one_sentence(capsys, *TRAIN, "--num-problems", "2", "--run-dir", str(small_disk / "run"))
    assert "No space left on device" in text
    manifest = json.loads((small_disk / "run" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "No space left on device" in manifest["error"]
