"""The README's quick start, run literally as a new user runs it: in an empty folder, relative
paths, output not a terminal. Each output line the README shows must appear (``…`` stands for
anything, numbers may differ).

One command is not run here: ``harness experiment run toy`` is the toy study, a 35-cell grid
(20 minutes); tests/test_toy_study.py runs a reduced grid of the same cells end to end,
bench/bench_experiment_toy.py the whole one, and this test checks its plan."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def quickstart_block(readme: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of the console block after the ``quickstart`` marker."""
    after = readme.split("<!-- quickstart:", 1)[1]
    block = after.split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip() and steps:
            steps[-1][1].append(line.strip())
    return steps


def pattern(expected: str) -> re.Pattern:
    """A README output line as a regex: ``…`` is anything, numbers are any numbers, runs of
    spaces are any whitespace."""
    parts = []
    for piece in re.split(r"(…|\s+|" + NUMBER + ")", expected):
        if not piece:
            continue
        if piece == "…":
            parts.append(".*")
        elif piece.isspace():
            parts.append(r"\s+")
        elif re.fullmatch(NUMBER, piece):
            parts.append(NUMBER)
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def test_quickstart_block_is_found_and_parsed():
    steps = quickstart_block((REPO / "README.md").read_text(encoding="utf-8"))
    commands = [command.split("#")[0].split() for command, _ in steps]
    assert commands[0] == ["source", ".venv/bin/activate"]
    assert [c[:2] for c in commands[1:]][:4] == [["harness", "ls"], ["harness", "plugins"], ["harness", "ls"],
                                                  ["harness", "tiny"]]
    assert any(c[:2] == ["harness", "train"] and "--model" in c and c[c.index("--model") + 1] == "runs/sft_de"
               for c in commands)  # the chain the relative-path defect broke
    assert pattern("train=… global_step=12 x").search("train=1.5 a=2 global_step=12 x")
    assert not pattern("done final model: runs/grpo_de/model").search("done final model: /abs/runs/x")


@pytest.mark.slow
def test_readme_quickstart_runs_verbatim(tmp_path):
    steps = quickstart_block((REPO / "README.md").read_text(encoding="utf-8"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_RUNS_DIR"}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(VENV_BIN.parent))
    for command, expected in steps:
        if command.startswith("source .venv/bin/activate"):
            continue  # done above through PATH: the venv lives in the checkout, not in the scratch folder
        if command.startswith("harness experiment run toy"):
            command, expected = "harness experiment plan toy", ["train-sft-de", "eval-grpo-en", "picklang-tiny-base",
                                                                 "train-mixed-en+zh+de"]
        proc = subprocess.run(["bash", "-c", command], cwd=scratch, env=env, capture_output=True, text=True,
                              timeout=1800)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{command}\n{output}"
        assert "Traceback" not in output and "Warning" not in output, f"{command}\n{output}"
        lines = [" ".join(line.split()) for line in output.splitlines()]
        for line in expected:
            if line == "…":
                continue
            regex = pattern(line)
            assert any(regex.search(actual) for actual in lines), f"{command}: no line like {line!r} in\n{output}"
    # The same commands again, in the same folder: each run directory is refused in one sentence
    # (nothing is overwritten), and says how to go on.
    for command, _ in steps:
        if " --run-dir " in command and not command.startswith("harness experiment"):
            again = subprocess.run(["bash", "-c", command], cwd=scratch, env=env, capture_output=True, text=True,
                                   timeout=600)
            assert again.returncode == 2, f"{command}\n{again.stdout}{again.stderr}"
            assert "already holds a run (finished); pass --resume to continue it or --overwrite" in \
                " ".join(again.stderr.split()), again.stderr
