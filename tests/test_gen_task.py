"""The ``<family>_gen`` lm-eval tasks: every group language in one task, per-language accuracies
and Gen (harness.plugins.gen) against a base run named by ``--metadata '{"base_results": ...}'``.
The end-to-end tests run the real ``lm_eval`` command on the tiny offline model (toy_xling: no
data mirror needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.core.literals import STUDY_LANGUAGES
from harness.eval.taskkit import GEN_SUFFIX, NO_BASE
from harness.eval.tasks import task_families, tasks_dir
from harness.plugins.gen import compute_gen, family_accuracies, load_results
from tests.helpers import plain_yaml, task_utils
from tests.test_tasks_families import ScriptedLM

TASKS_DIR = tasks_dir()

BIN = Path(sys.executable).parent
# Base accuracies with a language the base has mastered (left out of Gen) and uneven headroom.
BASE_ACC = dict(zip(STUDY_LANGUAGES, (0.5, 0.25, 0.2, 0.1, 0.0, 0.4, 1.0, 0.3, 0.6, 0.05)))


def _base_file(path: Path, family: str = "toy_xling") -> Path:
    """A base run's results in lm-eval's layout (a harness eval results.json has the same)."""
    tasks = {f"{family}_{lang}": {"strict_acc,none": acc, "flexible_acc,none": acc} for lang, acc in BASE_ACC.items()}
    results = {"results": {family: {"strict_acc,none": sum(BASE_ACC.values()) / 10}, **tasks},
               "group_subtasks": {family: list(tasks)}}
    path.write_text(json.dumps(results))
    return path


# --- the task files ----------------------------------------------------------------------------


@pytest.mark.parametrize("family", task_families())
def test_gen_task_covers_the_group_and_stays_out_of_it(family):
    utils = task_utils(family)
    path = TASKS_DIR / family / f"{family}{GEN_SUFFIX}.yaml"
    if not getattr(utils, "GEN_TASK", True):
        assert not path.exists()  # mgsm_xling_4shot: per-language exemplars need per-language tasks
        return
    task = plain_yaml(path)
    group = plain_yaml(TASKS_DIR / family / f"_{family}.yaml")
    assert f"{family}{GEN_SUFFIX}" not in group["task"]
    assert task["dataset_kwargs"]["gen"]["languages"] == list(utils.GROUP_LANGUAGES)
    common = plain_yaml(TASKS_DIR / family / f"{family}_common_yaml")
    for key in ("doc_to_text", "process_results", "generation_kwargs", "filter_list", "repeats"):
        assert task.get(key) == common.get(key), key  # the same prompt, grading and sampling
    names = [m["metric"] for m in task["metric_list"]]
    assert names[0] == "gen" and [f"{m}_{utils.GROUP_LANGUAGES[0]}" in names for m in names[1:2]] == [True]


# --- in process, a scripted model ----------------------------------------------------------------


def _index(doc) -> int:
    return int(str(doc["id"]).rsplit("-", 1)[1])


def _answer(doc, _):  # right on a language-dependent share of the problems
    return f"\\boxed{{{doc['answer']}}}" if (_index(doc) + STUDY_LANGUAGES.index(doc["lang"])) % 4 == 0 else "no"


def _evaluate(tasks, metadata, limit):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)
    out = lm_eval.simple_evaluate(model=ScriptedLM(_answer), tasks=tasks, task_manager=manager, limit=limit,
                                  bootstrap_iters=0, log_samples=False)
    return {k: out[k] for k in ("results", "group_subtasks", "configs")}


def test_scripted_gen_task_equals_the_group_and_compute_gen(tmp_path):
    base = _base_file(tmp_path / "base.json")
    # --limit 4*L on the Gen task takes the same problems as --limit 4 on the group (interleaved)
    group = _evaluate(["toy_xling"], {}, limit=4)
    gen = _evaluate(["toy_xling_gen"], {"base_results": str(base)}, limit=4 * len(STUDY_LANGUAGES))
    got = gen["results"]["toy_xling_gen"]
    for lang in STUDY_LANGUAGES:
        assert got[f"strict_acc_{lang},none"] == pytest.approx(group["results"][f"toy_xling_{lang}"]["strict_acc,none"])
    assert got["strict_acc,none"] == pytest.approx(group["results"]["toy_xling"]["strict_acc,none"])
    want = compute_gen(group, load_results(base))["toy_xling"]
    assert want.excluded == ["ru"] and want.gen != 0
    assert got["gen,none"] == pytest.approx(want.gen)
    # the Gen task's own results read as the family's languages (here: as a base for itself)
    (tmp_path / "gen.json").write_text(json.dumps(gen, default=str))
    assert family_accuracies(load_results(tmp_path / "gen.json"))["toy_xling"] == family_accuracies(group)["toy_xling"]
    again = _evaluate(["toy_xling_gen"], {"base_results": str(tmp_path / "gen.json")}, limit=4 * len(STUDY_LANGUAGES))
    assert again["results"]["toy_xling_gen"]["gen,none"] == pytest.approx(0.0)


def test_a_base_without_the_family_stops_before_generation(tmp_path):
    base = _base_file(tmp_path / "base.json", family="mgsm_xling")
    with pytest.raises(UserError, match=r"toy_xling_gen: the base results .* have no toy_xling strict_acc"):
        _evaluate(["toy_xling_gen"], {"base_results": str(base)}, limit=2)
    with pytest.raises(UserError, match="does not exist"):
        _evaluate(["toy_xling_gen"], {"base_results": str(tmp_path / "missing.json")}, limit=2)


# --- the lm_eval command on the tiny model ----------------------------------------------------------


def _lm_eval(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    from harness.inference.tiny import tiny_model_path

    tasks_path = subprocess.run([str(BIN / "harness"), "tasks-path"], capture_output=True, text=True, check=True).stdout.strip()
    command = [str(BIN / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={tiny_model_path()}",
               "--tasks", "toy_xling_gen", "--include_path", tasks_path, "--apply_chat_template",
               "--limit", str(2 * len(STUDY_LANGUAGES)), "--device", "cpu", "--batch_size", "20",
               "--gen_kwargs", "max_gen_toks=8", "--output_path", str(tmp_path / "out"), *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (results_file,) = (tmp_path / "out").rglob("results_*.json")
    return done, json.loads(results_file.read_text())


def _row(stdout: str, metric: str) -> str:
    """The Value cell of ``metric``'s row in lm-eval's table."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 7 and cells[5] == metric:
            return cells[7]
    raise AssertionError(f"no {metric} row in:\n{stdout}")


@pytest.mark.slow
def test_lm_eval_prints_gen_equal_to_harness_gen(tmp_path):
    base = _base_file(tmp_path / "base.json")
    done, results = _lm_eval(tmp_path, "--metadata", json.dumps({"base_results": str(base)}))
    got = results["results"]["toy_xling_gen"]
    want = compute_gen(load_results(tmp_path / "out"), load_results(base))["toy_xling"]
    assert set(want.model_acc) == set(STUDY_LANGUAGES) and want.excluded == ["ru"]
    assert got["gen,none"] == pytest.approx(want.gen)
    assert float(_row(done.stdout, "gen")) == pytest.approx(want.gen, abs=1e-4)
    for lang in STUDY_LANGUAGES:
        assert float(_row(done.stdout, f"strict_acc_{lang}")) == pytest.approx(want.model_acc[lang], abs=1e-4)
    # `harness gen` on the same two files prints the same number (in percent)
    cli = subprocess.run([str(BIN / "harness"), "gen", "--base", str(base), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert f"Gen toy_xling (strict_acc): {100 * got['gen,none']:.1f}" in cli.stdout


@pytest.mark.slow
def test_lm_eval_without_a_base_says_what_to_pass(tmp_path):
    done, results = _lm_eval(tmp_path)
    got = results["results"]["toy_xling_gen"]
    assert got["gen,none"] is None
    assert {f"strict_acc_{lang},none" for lang in STUDY_LANGUAGES} <= set(got)  # accuracies still reported
    assert NO_BASE.format(task="toy_xling_gen") in done.stderr
    assert done.stderr.count("gen needs the base model's results") == 1
    assert """--metadata '{"base_results": """ in done.stderr


@pytest.mark.slow
def test_gen_task_against_a_real_harness_eval_base_equals_harness_gen(tiny_base, tmp_path):
    """The base is a real `harness eval` run of tiny-base; the model (the random tiny one) is
    evaluated by plain lm_eval on the <family>_gen task. `harness gen` on the same two runs agrees
    without --allow-mismatch: a _gen task's problems are counted per language."""
    from harness.inference.tiny import tiny_model_path

    harness = str(BIN / "harness")
    subprocess.run([harness, "eval", "--model", "tiny-base", "--tasks", "toy_study_xling", "--limit", "3",
                    "--max-gen-toks", "32", "--run-dir", "runs/base"], cwd=tmp_path, check=True,
                   capture_output=True, text=True, timeout=300)
    tasks_path = subprocess.run([harness, "tasks-path"], capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run(
        [str(BIN / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={tiny_model_path()}",
         "--tasks", "toy_study_xling_gen", "--include_path", tasks_path, "--apply_chat_template",
         "--limit", str(3 * len(STUDY_LANGUAGES)), "--device", "cpu", "--batch_size", "30",
         "--gen_kwargs", "max_gen_toks=32", "--output_path", "out",
         "--metadata", json.dumps({"base_results": "runs/base/results.json"})],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = float(_row(done.stdout, "gen"))
    want = compute_gen(load_results(tmp_path / "out"), load_results(tmp_path / "runs/base"))["toy_study_xling"]
    assert printed == pytest.approx(want.gen, abs=1e-4)
    assert any(acc > 0 for acc in want.base_acc.values())  # tiny-base solves some: Gen is not trivial
    cli = subprocess.run([harness, "gen", "--base", "runs/base", "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert f"Gen toy_study_xling (strict_acc): {100 * want.gen:.1f}" in cli.stdout
