"""`harness eval` without a real model: a scripted LM stands in for the backend, so the run
directory, repeats (mean and spread), samples, Gen and the CLI's errors are checked fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_eval.api.model import LM

from harness.core.errors import UserError
from harness.core.literals import STUDY_LANGUAGES
from harness.core.plugins import get_catalog
from harness.core.registry import load_registry
from harness.eval import run as evaluation
from harness.eval.results import combine_runs
from harness.eval.run import EvalRequest, generation_overrides, run_eval
from harness.eval.tasks import task_families
from tests.helpers import run_cli


class RunCountingLM(LM):
    """Run r answers the first r+1 documents of every task correctly (boxed), the rest not at all."""

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.gen_kwargs: list[dict] = []

    def generate_until(self, requests, disable_tqdm: bool = False):
        run, self.calls = self.calls, self.calls + 1
        self.gen_kwargs.append(requests[0].args[1])
        return [f"\\boxed{{{r.doc['answer']}}}" if int(r.doc["id"].split("-")[1]) <= run else "?" for r in requests]

    tokenizer_name = "scripted"

    def apply_chat_template(self, chat_history, add_generation_prompt=True):
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in chat_history) + "<assistant>"

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


@pytest.fixture
def scripted(monkeypatch):
    lm = RunCountingLM()
    monkeypatch.setattr(evaluation, "build_lm", lambda backend, path, request: lm)
    return lm


@pytest.fixture
def registry():
    return load_registry(task_names=task_families())


def test_repeats_report_mean_and_spread(scripted, registry, shared_data, tmp_path):
    request = EvalRequest(model="tiny", tasks=["mgsm_xling"], limit=4, data_dir=str(shared_data), num_repeats=3,
                          seed=5, run_dir=tmp_path / "run")
    run, results = run_eval(request, registry, get_catalog())
    de = results["results"]["mgsm_xling_de"]
    assert de["strict_acc_runs,none"] == [0.25, 0.5, 0.75]
    assert de["strict_acc,none"] == pytest.approx(0.5) and de["strict_acc_std,none"] == pytest.approx(0.25)
    assert results["results"]["mgsm_xling"]["strict_acc,none"] == pytest.approx(0.5)
    assert results["num_runs"] == 3
    # sampling with the requested temperature; one generation call per run
    assert scripted.calls == 3
    assert scripted.gen_kwargs[0]["do_sample"] is True and scripted.gen_kwargs[0]["temperature"] == 0.6
    # the run directory
    assert sorted(p.name for p in (run.path / "runs").iterdir()) == ["run0.json", "run1.json", "run2.json"]
    samples = [json.loads(line) for line in (run.path / "samples_mgsm_xling_de_run1.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and samples[0]["extracted"]["strict"] == samples[0]["doc"]["answer"]
    assert samples[3]["extracted"] == {"strict": None, "flexible": None}
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["seed"] == 5
    assert set(manifest["data_hashes"]) == {f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES}
    assert (run.path / "config.yaml").read_text().count("num_repeats: 3") == 1
    assert json.loads((run.path / "results.json").read_text())["results"]["mgsm_xling_de"]["strict_acc,none"] == 0.5


def test_base_adds_gen_to_the_results(scripted, registry, shared_data, tmp_path):
    base = {"results": {f"mgsm_xling_{lang}": {"strict_acc,none": 1.0 if lang == "en" else 0.25} for lang in STUDY_LANGUAGES}}
    (tmp_path / "base.json").write_text(json.dumps(base))
    request = EvalRequest(tasks=["mgsm_xling"], limit=2, data_dir=str(shared_data), base=str(tmp_path / "base.json"),
                          run_dir=tmp_path / "run")
    _, results = run_eval(request, registry, get_catalog())  # greedy single run: doc 0 right, doc 1 wrong -> 0.5
    gen = results["gen"]["mgsm_xling"]
    assert gen["excluded"] == ["en"]
    assert gen["gen"] == pytest.approx((0.5 - 0.25) / 0.75)
    assert scripted.gen_kwargs[0]["do_sample"] is False


def test_combine_single_run_has_zero_spread():
    run = {"results": {"t": {"alias": "t", "acc,none": 0.5, "acc_stderr,none": 0.1}}}
    combined = combine_runs([run])
    assert combined["results"]["t"] == {"alias": "t", "acc,none": 0.5, "acc_std,none": 0.0, "acc_runs,none": [0.5],
                                        "acc_stderr,none": 0.1}


def test_generation_overrides():
    assert generation_overrides(EvalRequest()) == {}
    assert generation_overrides(EvalRequest(max_gen_toks=64, gen_kwargs="top_k=5")) == {"max_gen_toks": 64, "top_k": 5}
    sampled = generation_overrides(EvalRequest(num_repeats=6, temperature=1.0, top_p=0.9))
    assert sampled == {"do_sample": True, "temperature": 1.0, "top_p": 0.9}


def test_cli_prints_a_language_table(scripted, shared_data, tmp_path, capsys):
    code, out, err = run_cli(capsys, "eval", "--tasks", "mgsm_xling", "--limit", "2", "--data-dir", str(shared_data),
                          "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    assert "mgsm_xling strict_acc" in out and "mgsm_xling flexible_acc" in out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "50.0" in rows["de"] and "50.0" in rows["avg"]
    assert (tmp_path / "run" / "results.json").is_file()


@pytest.mark.parametrize("tasks", ["mgsm_xling_en,mgsm_xling_de", "mgsm_xling_de,mgpqa_diamond_xling_en,mgpqa_diamond_xling_de"])
def test_single_language_tasks_land_in_their_family_row(scripted, shared_data, tmp_path, capsys, tasks):
    # mgpqa's own budget (2048 tokens) leaves the tiny model's context (2048) no room for a prompt
    code, out, err = run_cli(capsys, "eval", "--tasks", tasks, "--limit", "2", "--data-dir", str(shared_data),
                          "--max-gen-toks", "256", "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    assert "mgsm_xling strict_acc" in header and "mgsm_xling_de" not in header
    rows = {line.split()[1]: [cell.strip() for cell in line.split("│")[2:-1]] for line in out.splitlines()
            if line.startswith("│")}
    assert set(rows) == {*{t.rsplit("_", 1)[1] for t in tasks.split(",")}, "avg"}  # languages, not task names
    assert rows["de"][0] == "50.0" and all(rows["de"]) and all(rows["avg"])
    if "mgpqa" in tasks:
        assert "mgpqa_diamond_xling" in header and rows["en"][0] == "" and rows["en"][-1]  # no en for mgsm


def test_single_language_tasks_average_per_run():
    from harness.eval.results import language_table

    task = lambda runs: {"strict_acc,none": sum(runs) / 2, "strict_acc_std,none": 0.1, "strict_acc_runs,none": runs}  # noqa: E731
    results = {"results": {"mgsm_xling_4shot_de": task([0.5, 0.7]), "mgsm_xling_4shot_zh": task([0.1, 0.1])}}
    header, rows = language_table(results, ["mgsm_xling_4shot_de", "mgsm_xling_4shot_zh"])
    assert header == ["language", "mgsm_xling_4shot strict_acc"]
    assert rows == [["de", "60.0 ± 10.0"], ["zh", "10.0 ± 10.0"], ["avg", "35.0 ± 7.1"]]  # runs' means 30, 40


def test_single_language_tasks_with_the_tiny_model(shared_data, tmp_path, capsys):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny", "--tasks", "mgsm_xling_en,mgsm_xling_zh", "--limit", "1",
                             "--max-gen-toks", "8", "--data-dir", str(shared_data), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    rows = {line.split()[1]: [cell.strip() for cell in line.split("│")[2:-1]] for line in out.splitlines()
            if line.startswith("│")}
    assert list(rows) == ["en", "zh", "avg"] and all(all(cells) for cells in rows.values())


@pytest.mark.parametrize(("args", "message"), [
    (["--tasks", "mgsm_xlin"], "unknown task 'mgsm_xlin'; did you mean 'mgsm_xling'?"),
    (["--backend", "tgi"], "--backend must be one of hf, vllm, got 'tgi'"),
    (["--data-dir", "/nonexistent/mirror"], "data directory /nonexistent/mirror does not exist"),
    (["--num-repeats", "0"], "--num-repeats must be at least 1"),
])
def test_cli_user_errors(scripted, capsys, args, message):
    code, _, err = run_cli(capsys, "eval", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_data_file_is_a_user_error(scripted, tmp_path, capsys):
    (tmp_path / "mgsm").mkdir()
    code, _, err = run_cli(capsys, "eval", "--tasks", "mgsm_xling_de", "--data-dir", str(tmp_path),
                        "--run-dir", str(tmp_path / "run"))
    assert code == 2 and "mgsm_de.tsv" in err and "juletxara/mgsm" in err


def test_tasks_path(capsys):
    import harness.tasks

    code, out, _ = run_cli(capsys, "tasks-path")
    assert code == 0 and out.strip() == str(Path(harness.tasks.__file__).resolve().parent)
    assert (Path(out.strip()) / "mgsm_xling" / "_mgsm_xling.yaml").is_file()


def test_base_without_shared_family_keeps_the_results(scripted, registry, shared_data, tmp_path):
    base = {"results": {"mmath500_xling_en": {"strict_acc,none": 0.5}}}
    (tmp_path / "base.json").write_text(json.dumps(base))
    request = EvalRequest(tasks=["mgsm_xling_de"], limit=2, data_dir=str(shared_data), base=str(tmp_path / "base.json"),
                          run_dir=tmp_path / "run")
    run, results = run_eval(request, registry, get_catalog())
    assert "share no task family" in results["gen_error"] and "gen" not in results
    assert json.loads((run.path / "manifest.json").read_text())["status"] == "finished"


def test_data_errors_come_before_any_run_directory(scripted, registry, tmp_path):
    (tmp_path / "mirror" / "mgsm").mkdir(parents=True)
    request = EvalRequest(tasks=["mgsm_xling_de"], data_dir=str(tmp_path / "mirror"), run_dir=tmp_path / "run")
    with pytest.raises(UserError, match="mgsm_de.tsv"):
        run_eval(request, registry, get_catalog())
    assert not (tmp_path / "run").exists()


def test_a_run_trained_with_the_consistency_prompt_is_evaluated_with_it(tmp_path):
    import yaml

    from harness.inference.models import trained_with_consistency_prompt

    run = tmp_path / "run"
    run.mkdir()
    (run / "result.json").write_text(json.dumps({"model_path": str(run / "model")}))
    (run / "config.yaml").write_text(yaml.safe_dump({"paradigm_config": {"consistency_prompt": True}}))
    assert trained_with_consistency_prompt(str(run))
    (run / "config.yaml").write_text(yaml.safe_dump({"paradigm_config": {"consistency_prompt": False}}))
    assert not trained_with_consistency_prompt(str(run))
    assert not trained_with_consistency_prompt("tiny") and not trained_with_consistency_prompt(str(tmp_path))
