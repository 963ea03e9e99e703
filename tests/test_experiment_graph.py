"""harness experiment: the graph of cells, their commands and hashes, registry validation, bad input.

Fast: nothing here trains or evaluates a model."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.core.plugins import get_catalog
from harness.core.registry import load_registry
from harness.eval.tasks import task_families
from harness.experiment.cells import reuse_flags
from harness.experiment.graph import expand
from harness.experiment.state import is_locked, read_status
from tests.conftest import REPO
from tests.helpers import run_cli

SEVEN = ["mgsm_xling", "mmath500_xling", "maime2024_xling", "mgpqa_diamond_xling", "mmlu_prox_lite_xling",
         "mlogiqa_xling", "m_ifeval_xling"]


@pytest.fixture(scope="module")
def registry():
    return load_registry(REPO / "registry.yaml", plugins=get_catalog().paradigms, task_names=task_families())


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_main_expands_to_the_papers_table_1(registry, tmp_path):
    exp = expand(registry, "main", root=tmp_path)
    names = list(exp.cells)
    assert names[0] == "base-qwen2.5-3b"
    trains = [n for n in names if n.startswith("train-")]
    assert sorted(trains) == sorted(f"train-{p}-{l}" for p in ("sft", "grpo") for l in ("en", "zh", "de"))
    assert len(names) == 1 + 3 * len(trains)
    for train in trains:
        cell = exp.cells[train]
        assert option(cell.argv, "--data") == "gsm8k_parallel" and option(cell.argv, "--model") == "qwen2.5-3b"
        assert cell.resources["gpus"] == 8 and cell.deps == []
        evaluation = exp.cells["eval-" + train.removeprefix("train-")]
        assert evaluation.deps == [train, "base-qwen2.5-3b"]
        assert option(evaluation.argv, "--model") == str(cell.run_dir)
        assert option(evaluation.argv, "--base") == str(exp.cells["base-qwen2.5-3b"].run_dir)
        assert option(evaluation.argv, "--tasks").split(",") == SEVEN
        assert option(evaluation.argv, "--num-repeats") == "6"
    assert option(exp.cells["train-grpo-de"].argv, "--use-vllm") == "true"
    # Every cell's run directory is under experiments/<name>/<cell>-<hash8>
    for cell in exp.cells.values():
        assert cell.run_dir == tmp_path / "main" / f"{cell.name}-{cell.digest[:8]}"
        assert option(cell.argv, "--run-dir") == str(cell.run_dir)


def test_rft_samples_from_the_grpo_cell_mixed_is_one_cell_seeds_expand(registry, tmp_path):
    rft = expand(registry, "rft", root=tmp_path)
    cell = rft.cells["train-rft-de"]
    assert cell.deps == ["train-grpo-de"]
    assert option(cell.argv, "--sampler-model") == str(rft.cells["train-grpo-de"].run_dir)
    assert list(rft.cells).index("train-grpo-de") < list(rft.cells).index("train-rft-de")
    mixed = expand(registry, "mixed", root=tmp_path)
    assert [n for n in mixed.cells if n.startswith("train-")] == ["train-mixed-en+zh+de"]
    assert option(mixed.cells["train-mixed-en+zh+de"].argv, "--lang") == "en,zh,de"
    seeds = expand(registry, "seeds", root=tmp_path)
    assert {option(c.argv, "--seed") for n, c in seeds.cells.items() if n.startswith("train-sft")} == {"0", "1", "2"}
    assert "eval-grpo-de-s2" in seeds.cells
    consistency = expand(registry, "consistency", root=tmp_path)
    assert "--consistency-prompt" in consistency.cells["eval-grpo_consistency_prompt-de"].argv


def test_smoke_has_small_flags_and_probes(registry, tmp_path):
    exp = expand(registry, "smoke", root=tmp_path)
    assert len(exp.cells) == 13
    sft = exp.cells["train-sft-de"].argv
    assert option(sft, "--max-steps") == "20" and option(sft, "--model") == "tiny"
    probe = exp.cells["probe-grpo-en"]
    assert probe.argv[:2] == ["probe", "consistency,drift"] and probe.deps == ["train-grpo-en"]
    assert option(probe.argv, "--base") == "tiny"
    assert exp.cells["base-tiny"].resources == {"gpus": 0, "cpus": 1, "mem_gb": 3, "hours": 0.5}


def test_a_changed_configuration_changes_its_hash_and_everything_downstream(registry, tmp_path):
    before = expand(registry, "smoke", root=tmp_path)
    changed = copy.copy(registry)
    changed.experiments = {**registry.experiments}
    toy = copy.deepcopy(dict(registry.experiments["smoke"]))
    toy["train_args"]["sft"]["max_steps"] = 21
    changed.experiments["smoke"] = toy
    after = expand(changed, "smoke", root=tmp_path)
    differ = {n for n in before.cells if before.cells[n].digest != after.cells[n].digest}
    assert differ == {"train-sft-en", "train-sft-de", "eval-sft-en", "eval-sft-de", "probe-sft-en", "probe-sft-de"}
    # The hash does not depend on where the experiments live, or on the data mirror's location.
    elsewhere = expand(registry, "smoke", root=tmp_path / "x", data_dir="/mirror")
    assert all(elsewhere.cells[n].digest == c.digest for n, c in before.cells.items())
    assert option(elsewhere.cells["train-sft-de"].argv, "--data-dir") == "/mirror"


def test_only_selects_cells_with_what_they_need(registry, tmp_path):
    exp = expand(registry, "smoke", root=tmp_path)
    assert exp.select("eval-sft-de") == ["base-tiny", "train-sft-de", "eval-sft-de"]
    with pytest.raises(UserError, match="unknown cell 'nope'"):
        exp.select("nope")
    assert exp.dependants("train-sft-de") == {"eval-sft-de", "probe-sft-de"}


def test_toy_is_the_study_in_miniature(registry, tmp_path):
    """SFT and GRPO in en/zh/de, the German ablations, one mixed cell, pick-lang on the base."""
    exp = expand(registry, "toy", root=tmp_path)
    trains = {n for n in exp.cells if n.startswith("train-")}
    assert trains == {"train-sft-en", "train-sft-zh", "train-sft-de", "train-grpo-en", "train-grpo-zh",
                      "train-grpo-de", "train-rft-de", "train-grpo_consistency_prompt-de",
                      "train-grpo_consistency_reward-de", "train-cold_start-de", "train-mixed-en+zh+de"}
    assert all(f"eval-{n[6:]}" in exp.cells and f"probe-{n[6:]}" in exp.cells for n in trains)
    rft = exp.cells["train-rft-de"]
    assert rft.deps == ["train-grpo-de"] and option(rft.argv, "--sampler-model") == str(exp.cells["train-grpo-de"].run_dir)
    assert option(exp.cells["train-sft-de"].argv, "--model") == "tiny-base"
    assert option(exp.cells["train-sft-de"].argv, "--data") == "toy_study"
    pick = exp.cells["picklang-tiny-base"]
    assert pick.deps == ["base-tiny-base"] and option(pick.argv, "--candidates") == "en,zh,de"
    assert option(pick.argv, "--base-eval") == str(exp.cells["base-tiny-base"].run_dir)
    assert len(exp.cells) == 2 + 3 * 11


# --- registry validation: one sentence with file:line ---------------------------------------------


def registry_with(tmp_path: Path, experiment: str) -> tuple[Path, str]:
    text = (REPO / "registry.yaml").read_text(encoding="utf-8")
    text = text[: text.index("\nexperiments:")] + "\nexperiments:\n" + experiment
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


BASE_EXP = """\
  x:
    paradigms: [sft, rft, grpo]
    languages: [de]
    models: [tiny]
    tasks: [toy_xling]
"""


@pytest.mark.parametrize("extra, marker, message", [
    ("    data: toy\n    uses: {rft: {sampler_model: grpoo}}\n", "uses:", "unknown cell reference 'grpoo'"),
    ("    data: toy\n    uses: {rft: {sampler_model: grpo}, grpo: {model: rft}}\n", "uses:", "cycle"),
    ("", "    paradigms:", "lacks data (its training corpus"),
    ("    data: toy\n    eval: {limits: 5}\n", "eval:", "unknown key 'limits' in eval of 'x'; did you mean 'limit'?"),
    ("    data: toy\n    train_args: {sft: {max_step: 3}}\n", "train_args:", "unknown sft setting 'max_step'"),
    ("    data: toy\n    train_args: {ppo: {max_steps: 3}}\n", "train_args:", "unknown cell reference 'ppo'"),
    ("    data: toy\n    resources: {train: {gpu: 3}}\n", "resources:", "unknown key 'gpu'"),
    ("    data: toy\n    probes: {num_generations: 2}\n", "probes:", "need names"),
])
def test_registry_errors_name_file_and_line(tmp_path, extra, marker, message):
    path, text = registry_with(tmp_path, BASE_EXP + extra)
    with pytest.raises(UserError) as info:
        load_registry(path, plugins=get_catalog().paradigms, task_names=task_families())
    line = text[: text.index(marker, text.index("\nexperiments:"))].count("\n") + 1
    assert f"{path}:{line}: " in str(info.value) and message in str(info.value)


# --- the command line ------------------------------------------------------------------------------


def test_plan_json_and_table(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "experiment", "plan", "smoke", "--json", "--root", str(tmp_path))
    assert code == 0
    plan = json.loads(out)
    assert len(plan["cells"]) == 13
    eval_cell = next(c for c in plan["cells"] if c["name"] == "eval-grpo-de")
    assert eval_cell["deps"] == ["train-grpo-de", "base-tiny"]
    assert shlex.split(eval_cell["command"])[:2] == ["harness", "eval"]
    code, out, _ = run_cli(capsys, "experiment", "plan", "smoke", "--root", str(tmp_path))
    assert code == 0 and "probe-sft-en" in out and "train-sft-en, base-tiny" in out


def test_plan_says_whose_translation_the_main_grids_train_on(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "experiment", "plan", "main", "--root", str(tmp_path))
    text = " ".join(out.split())
    assert code == 0
    assert ("training data: gsm8k_parallel is Mathoctopus/GSM8KInstruct_Parallel, MathOctopus's translation of "
            "GSM8K, not the paper's own (Qwen3-30B-A3B translating, DeepSeek-V3 verifying; not released)") in text
    assert "`harness corpus build --source gsm8k --langs zh,de`" in text and "--data gsm8k_zh_de_v1" in text
    for name in ("main", "replication"):
        assert "MathOctopus" in (REPO / "registry.yaml").read_text(encoding="utf-8").split(f"\n  {name}:\n")[1][:400]
    code, out, _ = run_cli(capsys, "experiment", "plan", "main", "--json", "--root", str(tmp_path))
    plan = json.loads(out)
    assert plan["data"] == "gsm8k_parallel" and "MathOctopus" in plan["notes"][0]


def test_data_replaces_the_grids_corpus_in_train_cells_only(registry, tmp_path):
    own = expand(registry, "main", root=tmp_path)
    built = expand(registry, "main", root=tmp_path, data="gsm8k_zh_de_v1")
    assert built.data == "gsm8k_zh_de_v1"
    assert built.notes == ["training data: gsm8k_zh_de_v1 (--data; the grid's own: gsm8k_parallel)"]
    for name, cell in built.cells.items():
        if cell.kind == "train":
            assert option(cell.argv, "--data") == "gsm8k_zh_de_v1" and cell.digest != own.cells[name].digest
    assert built.cells["base-qwen2.5-3b"].digest == own.cells["base-qwen2.5-3b"].digest


def test_main_luffy_needs_a_built_corpus(capsys, registry, tmp_path):
    with pytest.raises(UserError) as info:
        expand(registry, "main_luffy", root=tmp_path)
    message = str(info.value)
    assert message == ("experiment 'main_luffy' trains in zh, de but luffy is English only: build the translation "
                       "with `harness corpus build --source luffy --langs zh,de` and pass it with --data luffy_zh_de_v1")
    for command in ("plan", "run", "status"):
        code, _, err = run_cli(capsys, "experiment", command, "main_luffy", "--root", str(tmp_path / "exps"))
        assert code == 2 and "harness corpus build --source luffy" in err
    assert not (tmp_path / "exps").exists()
    with pytest.raises(UserError, match="Elliott/Openr1-Math-46k-8192 is English only"):
        expand(registry, "main", root=tmp_path, data="Elliott/Openr1-Math-46k-8192")
    exp = expand(registry, "main_luffy", root=tmp_path, data="luffy_zh_de_v1")
    assert {option(c.argv, "--data") for c in exp.cells.values() if c.kind == "train"} == {"luffy_zh_de_v1"}
    code, out, _ = run_cli(capsys, "experiment", "plan", "main_luffy", "--data", "luffy_zh_de_v1",
                           "--root", str(tmp_path))
    assert code == 0 and "train-grpo-de" in out and "(--data; the grid's own: luffy)" in " ".join(out.split())


@pytest.mark.parametrize("args, message", [
    (["plan", "toyy"], "unknown experiment 'toyy'; did you mean 'toy'?"),
    (["run", "toy", "--only", "nothing-*"], "unknown cell 'nothing-*'"),
    (["run", "toy", "--executor", "pbs"], "--executor must be one of local, slurm, got 'pbs'"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, "experiment", *args, "--root", str(tmp_path / "exps"))
    assert code == 2 and message in err
    assert not (tmp_path / "exps").exists()


def test_slurm_requested_but_absent_starts_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch on it
    code, _, err = run_cli(capsys, "experiment", "run", "toy", "--executor", "slurm", "--root", str(tmp_path / "exps"))
    assert code == 2 and "sbatch is not installed" in err
    assert not (tmp_path / "exps").exists()


def test_a_folder_of_another_experiment_is_refused(capsys, tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "experiment.json").write_text('{"experiment": "main"}')
    code, _, err = run_cli(capsys, "experiment", "run", "toy", "--root", str(tmp_path))
    assert code == 2 and "holds the runs of experiment 'main'" in err
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == ["experiment.json"]


def test_dry_run_says_what_would_run(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "experiment", "run", "toy", "--dry-run", "--only", "eval-sft-de",
                           "--root", str(tmp_path))
    assert code == 0
    assert [line.split()[0] for line in out.splitlines() if line.strip()] == ["run", "run", "run"]
    assert not (tmp_path / "toy").exists()


# --- cell state and rerun decisions ----------------------------------------------------------------


def manifest(run_dir: Path, status: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").write_text(json.dumps({"status": status, "started": "2026-11-29T08:00:00+00:00"}))


def test_rerun_decisions_follow_the_run_directory(tmp_path):
    run = tmp_path / "cell"
    assert reuse_flags("train", run) == []
    (run / "logs").mkdir(parents=True)
    (run / "logs" / "cell.log").write_text("an attempt that failed before the run started\n")
    assert reuse_flags("train", run) == ["--overwrite"]
    manifest(run, "finished")
    assert reuse_flags("train", run) is None
    for status in ("failed", "interrupted"):
        manifest(run, status)
        assert reuse_flags("train", run) == ["--resume"]
        assert reuse_flags("eval", run) == ["--resume"]
        assert reuse_flags("probe", run) == ["--overwrite"]


def test_a_running_manifest_without_its_lock_holder_is_interrupted(tmp_path):
    import fcntl

    run = tmp_path / "cell"
    manifest(run, "running")
    assert read_status(run) == "interrupted"  # the command was killed outright
    with open(run / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        assert is_locked(run) and read_status(run) == "running"
    assert read_status(run) == "interrupted"


def test_local_executor_blocks_only_the_dependants_of_a_failure(tmp_path):
    """Real subprocesses of quick harness commands: two at a time, a failure blocks its dependant
    only, and each cell's output lands in its log even when the command made no run directory."""
    from harness.experiment.executors import run_local
    from harness.experiment.graph import Cell, Experiment

    def cell(name: str, argv: list[str], deps: list[str]) -> Cell:
        return Cell(name, "base", argv, deps, {}, run_dir=tmp_path / name)

    cells = [cell("ok", ["ls", "languages"], []), cell("bad", ["ls", "nonsense"], []),
             cell("after-ok", ["ls", "models"], ["ok"]), cell("after-bad", ["ls", "tasks"], ["bad"])]
    exp = Experiment("t", tmp_path, {c.name: c for c in cells})
    seen: list[tuple[str, str]] = []
    states = run_local(exp, list(exp.cells), lambda n, s: seen.append((n, s)), max_parallel=2)
    assert states == {"ok": "done", "bad": "failed", "after-ok": "done", "after-bad": "blocked"}
    assert ("after-bad", "running") not in seen
    assert "German" in (tmp_path / "ok" / "logs" / "cell.log").read_text()
    assert "nonsense" in (tmp_path / "bad" / "logs" / "cell.log").read_text()
    with pytest.raises(UserError, match="--max-parallel must be at least 1"):
        run_local(exp, [], lambda n, s: None, max_parallel=0)


def test_a_multi_gpu_training_cell_is_launched_with_accelerate(registry, tmp_path, monkeypatch):
    from harness.experiment.cells import command

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7,8,9,10,11")  # SLURM's allocation wins
    cell = expand(registry, "main", root=tmp_path).cells["train-grpo-de"]
    argv, env = command(cell.spec(), ["--resume"])
    assert argv[:2] == ["accelerate", "launch"] and option(argv, "--num_processes") == "8"
    assert option(argv, "--config_file").endswith("zero2.yaml")
    assert argv[argv.index("--module"):][:3] == ["--module", "harness.cli", "train"]
    assert argv[-3:] == ["--run-dir", str(cell.run_dir), "--resume"]
    assert env["CUDA_VISIBLE_DEVICES"] == "4,5,6,7,8,9,10,11"
    one_gpu = expand(registry, "main", root=tmp_path).cells["eval-grpo-de"]
    argv, _ = command(one_gpu.spec(), [])
    assert argv[1:4] == ["-m", "harness.cli", "eval"]


def test_an_unknown_probe_is_refused_before_anything_runs(capsys, tmp_path):
    path, _ = registry_with(tmp_path, BASE_EXP + "    data: toy\n    probes: {names: [consistensy]}\n")
    code, _, err = run_cli(capsys, "--registry", str(path), "experiment", "run", "x", "--root", str(tmp_path / "e"))
    assert code == 2 and "experiment 'x': unknown probe 'consistensy'; did you mean 'consistency'?" in err
    assert not (tmp_path / "e").exists()
