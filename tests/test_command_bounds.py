"""The rules between options of ``report``, ``compare``, ``experiment plan|run|status`` and ``corpus
build|check``, and the crashes they replace: each refusal is one sentence and exit code 2, with
nothing created in the working directory (tests/test_option_bounds.py tries every declared bound)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO
from tests.helpers import run_cli

CORPUS_FILE = REPO / "tests" / "fixtures" / "corpus" / "MGSM8KInstruct_Parallel.json"
DEAD = "http://127.0.0.1:9/v1"  # nothing listens: a request would fail at once
BUILD = ["corpus", "build", "--source", "toy", "--langs", "de", "--translator", "fake", "--translator-url", DEAD,
         "--max-retries", "0"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working directory (a refused command creates nothing in it) and scratch space
    beside it for the inputs."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("HARNESS_RUNS_DIR", "HARNESS_CORPORA_DIR", "HARNESS_EXPERIMENTS_DIR", "HARNESS_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    return cwd


def refused(capsys, cwd, *args: str) -> str:
    code, _, err = run_cli(capsys, *args)
    assert code == 2, f"harness {' '.join(args)}: exit {code}\n{err}"
    assert err.startswith("error:") and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in cwd.iterdir()) == [], f"harness {' '.join(args)} created files"
    return " ".join(err.split())


# --- corpus build: the option combinations that crashed, and the rules between options -------------

@pytest.mark.parametrize("extra, message", [
    # were tracebacks: ValueError, AssertionError: unreachable, TypeError (no worker sent a request)
    (["--chunk-chars", "0"], "--chunk-chars must be at least 1, got 0"),
    (["--max-retries", "-1"], "--max-retries must be in [0, 100], got -1"),
    (["--concurrency", "0"], "--concurrency must be at least 1, got 0"),
    (["--backoff", "nan"], "--backoff must be a finite number in [0, 60], got nan"),
    (["--progress-every", "-1"], "--progress-every must be at least 0, got -1.0"),
    (["--limit", "0"], "--limit must be at least 1, got 0"),
    (["--max-tokens", "0"], "--max-tokens must be at least 1, got 0"),
    # options that would be ignored, or break later
    (["--verifier-url", DEAD], "--verifier-url needs --verifier MODEL"),
    (["--engine-args", '{"tensor_parallel_size": 2}'], "--engine-args configures vLLM's offline engine"),
    (["--engine-args", '{"model": "x"}', "--verifier", "judge"], "--engine-args must not set model"),
    (["--engine-args", "[1]", "--verifier", "judge"], "--engine-args must be a JSON object"),
    (["--extra-body", "{bad"], "--extra-body must be a JSON object (Expecting property name"),
    (["--translator-url", "localhost:8000/v1"], "--translator-url must be an http:// or https:// address"),
    (["--langs", "en,de"], "--langs includes 'en', the source language"),
    (["--langs", "de,zh,de"], "--langs names de twice"),
    (["--langs", "dee"], "unknown target language 'dee'; did you mean 'de'?"),
    (["--langs", ","], "--langs names no language"),
    (["--name", "../elsewhere"], "--name '../elsewhere' must be a folder name, not a path"),
    (["--name", ""], "--name must be non-empty"),
    (["--out", ""], "--out must be non-empty"),
    (["--translator", " "], "--translator must be non-empty"),
])
def test_corpus_build_refuses_before_anything_is_made(capsys, work, extra, message):
    assert message in refused(capsys, work, *BUILD, *extra)


def test_corpus_build_refuses_an_extra_body_without_an_endpoint(capsys, work):
    offline = [a for a in BUILD if a not in ("--translator-url", DEAD)]
    assert "--extra-body is sent to an endpoint" in refused(capsys, work, *offline, "--extra-body", '{"a": 1}')


def test_corpus_build_names_an_unknown_engine_argument(capsys, work):
    from harness.corpus.requests import engine_keywords

    if engine_keywords() is None:
        pytest.skip("vLLM is not installed: its engine arguments are unknown")
    offline = [a for a in BUILD if a not in ("--translator-url", DEAD)]
    text = refused(capsys, work, *offline, "--engine-args", '{"tensor_paralel_size": 1}')
    assert "--engine-args: unknown vLLM engine argument 'tensor_paralel_size'; did you mean 'tensor_parallel_size'?" in text


def test_corpus_build_refuses_an_out_that_is_a_file(capsys, work, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("x")
    assert f"--out {taken} is a file, not a folder" in refused(capsys, work, *BUILD, "--out", str(taken))


def test_the_corpus_build_example_reaches_the_endpoint(capsys, work):
    """The declared example is valid: it gets as far as the (dead) translator, quickly."""
    from harness.cli.common import DECLARED

    code, _, err = run_cli(capsys, "corpus", "build", *DECLARED["corpus build"].example)
    assert code == 2 and "still failing after 1 attempts" in err and "Traceback" not in err
    assert (work / "corpora" / "toy_de_v1").is_dir()


# --- corpus check ----------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, message", [
    (["--json", "missing/report.json"], "--json missing/report.json: folder missing does not exist"),
    (["--json", "."], "--json . is a folder; name the file to write"),
    (["--langs", ","], "--langs names no language, got ','"),
    (["--examples", "-1"], "--examples must be at least 0, got -1"),
    (["--source-lang", ""], "--source-lang must be non-empty"),
])
def test_corpus_check_refuses_before_reading(capsys, work, extra, message):
    assert message in refused(capsys, work, "corpus", "check", str(CORPUS_FILE), *extra)


# --- experiment plan | run | status ---------------------------------------------------------------

@pytest.mark.parametrize("command", [["plan", "smoke"], ["status", "smoke"], ["run", "smoke", "--dry-run"],
                                     ["run", "smoke", "--only", "base-*"]])
def test_an_experiment_root_that_is_a_file_is_refused(capsys, work, tmp_path, monkeypatch, command):
    root = tmp_path / "root-file"
    root.write_text("not a folder")
    assert f"--root {root} is a file, not a folder of experiments" in refused(
        capsys, work, "experiment", *command, "--root", str(root))
    monkeypatch.setenv("HARNESS_EXPERIMENTS_DIR", str(root))
    assert f"$HARNESS_EXPERIMENTS_DIR {root} is a file" in refused(capsys, work, "experiment", *command)


def test_an_experiment_folder_that_is_a_file_is_refused(capsys, work, tmp_path):
    root = tmp_path / "exps"
    root.mkdir()
    (root / "smoke").write_text("x")
    assert "is a file, not the folder of experiment 'smoke'" in refused(
        capsys, work, "experiment", "run", "smoke", "--root", str(root))


@pytest.mark.parametrize("extra, message", [
    (["--executor", "pbs"], "--executor must be one of local, slurm, got 'pbs'"),
    (["--max-parallel", "0"], "--max-parallel must be in [1, 64], got 0"),
    (["--max-parallel", "100000000"], "--max-parallel must be in [1, 64]"),
    (["--signal-s", "60"], "--signal-s is for --executor slurm"),
    (["--no-wait"], "--no-wait is for --executor slurm"),
    (["--only", ","], "--only names no cell, got ','"),
    (["--partition", ""], "--partition must be non-empty"),
    (["--data", ""], "--data must be non-empty"),
])
def test_experiment_run_refuses_before_the_registry_is_read(capsys, work, tmp_path, extra, message):
    assert message in refused(capsys, work, "experiment", "run", "smoke", "--root", str(tmp_path / "exps"), *extra)
    assert not (tmp_path / "exps").exists()


def test_a_data_dir_that_is_a_file_is_refused(capsys, work, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.write_text("x")
    assert "--data-dir" in refused(capsys, work, "experiment", "plan", "smoke", "--data-dir", str(mirror))


# --- registry: experiment seeds ---------------------------------------------------------------------

@pytest.mark.parametrize("seeds, message", [
    ([-1], "must be in [0, 4294967295] (what numpy, torch and vLLM take), got -1"),
    ([0, 2**32], "must be in [0, 4294967295] (what numpy, torch and vLLM take), got 4294967296"),
    ([True], "must be a non-empty list of integers"),
    ([1, 2, 1], "name 1 twice"),
])
def test_registry_seeds_are_seeds(capsys, work, tmp_path, seeds, message):
    registry = yaml.safe_load((REPO / "registry.yaml").read_text(encoding="utf-8"))
    registry["experiments"]["smoke"]["seeds"] = seeds
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "seeds:" and i > lines.index("  smoke:"))
    for command in (["validate"], ["experiment", "plan", "smoke"]):
        text = refused(capsys, work, "--registry", str(path), *command)
        assert f"{path}:{line}: seeds of experiment 'smoke' {message}" in text


# --- report, compare --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def eval_runs(tmp_path_factory):
    import numpy as np

    from tests.synthetic import simulate_family, write_eval_run

    root = tmp_path_factory.mktemp("runs")
    for seed, name in enumerate(("a", "b")):
        scores = simulate_family(np.random.default_rng(seed), {"en": 0.6, "de": 0.4}, 8)
        write_eval_run(root / name, {"toy_xling": scores})
    return [str(root / "a"), str(root / "b")]


@pytest.mark.parametrize("extra, message", [
    (["-B", "99"], "--iterations must be in [100, 1000000], got 99"),
    (["-B", "1000001"], "--iterations must be in [100, 1000000], got 1000001"),
    (["--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    (["--format", "md,pdf"], "--format must be one of md, latex, csv, html"),
    (["--format", ","], "--format names no format"),
    (["--figures", "gif"], "--figures must be one of png, pdf, svg"),
    (["--tasks", ","], "--tasks names no task family"),
    (["--label", "no-equals-sign"], "--label takes RUN=NAME"),
    (["--out", ""], "--out must be non-empty"),
    (["--metric", ""], "--metric must be non-empty"),
])
def test_report_refuses_before_reading_or_writing(capsys, work, eval_runs, extra, message):
    assert message in refused(capsys, work, "report", eval_runs[0], "--out", "out", *extra)


def test_report_refuses_an_out_that_is_a_file(capsys, work, eval_runs, tmp_path):
    taken = tmp_path / "report.md"
    taken.write_text("x")
    assert f"--out {taken} is a file, not a folder" in refused(capsys, work, "report", eval_runs[0], "--out", str(taken))


@pytest.mark.parametrize("extra, message", [
    (["--p-value", "exact"], "--p-value must be one of permutation, bootstrap, got 'exact'"),
    (["--seed", str(2**32)], "--seed must be in [0, 4294967295]"),
    (["-B", "0"], "--iterations must be in [100, 1000000], got 0"),
    (["--base", ""], "--base must be non-empty"),
])
def test_compare_refuses_before_reading(capsys, work, eval_runs, extra, message):
    assert message in refused(capsys, work, "compare", *eval_runs, *extra)


# --- the declarations stay light ----------------------------------------------------------------------

def test_the_requests_load_without_the_model_stack():
    code = ("import sys\nimport harness.report.requests, harness.experiment.requests, harness.corpus.requests\n"
            "print(sorted(m for m in ('numpy', 'torch', 'transformers', 'lm_eval', 'vllm', 'openai', 'matplotlib')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
