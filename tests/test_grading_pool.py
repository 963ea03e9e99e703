"""The math-verify workers start from any entry point, and fail loudly when they cannot.

Each test runs a real Python process the way a user would: a script on stdin (``python -``), a
script without a ``__main__`` guard, an environment where math-verify cannot be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

GRADE = textwrap.dedent(
    """
    import sys
    from harness.grading import grade, grade_many, mathequiv
    print("TOP LEVEL RAN", flush=True)
    print("RESULT", grade("\\\\boxed{\\\\sqrt{2}/2}", "\\\\frac{\\\\sqrt{2}}{2}", kind="math"),
          grade_many(["$[0,1)$ is the domain.", "So $x \\\\geq 5$."], ["[0,1)", "x \\\\ge 5"],
                     kind="math", mode="flexible"))
    print("WORKERS", len(mathequiv.worker_pids()))
    """
)


def _python(args, script: str, env_extra: dict | None = None, cwd: Path | None = None):
    env = {**os.environ, "HARNESS_GRADING_WORKERS": "2", **(env_extra or {})}
    return subprocess.run([sys.executable, *args], input=script, capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=240)


def test_script_on_stdin_grades(tmp_path):
    # `python - <<EOF`: __main__ is "<stdin>", which spawn workers would try (and fail) to run.
    done = _python(["-"], GRADE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "RESULT True [True, True]" in done.stdout
    assert "WORKERS 2" in done.stdout
    assert "Traceback" not in done.stderr


def test_unguarded_script_runs_once(tmp_path):
    # No `if __name__ == "__main__":` guard: workers must not re-run the script's top level.
    script = tmp_path / "grade_it.py"
    script.write_text(GRADE, encoding="utf-8")
    done = _python([str(script)], "", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("TOP LEVEL RAN") == 1
    assert "RESULT True [True, True]" in done.stdout


def test_python_c_grades(tmp_path):
    done = _python(["-c", GRADE], "", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "RESULT True [True, True]" in done.stdout


def test_workers_that_cannot_start_raise_one_sentence(tmp_path):
    # A math-verify that cannot be imported (a broken install): grading raises a clear error
    # instead of grading every answer wrong.
    broken = tmp_path / "broken"
    (broken / "math_verify").mkdir(parents=True)
    (broken / "math_verify" / "__init__.py").write_text("raise ImportError('math-verify is broken here')\n")
    script = textwrap.dedent(
        """
        from harness.core.errors import UserError
        from harness.grading import grade
        from harness.grading.mathequiv import GradingPoolError
        try:
            grade("\\\\boxed{\\\\sqrt{2}/2}", "\\\\frac{\\\\sqrt{2}}{2}", kind="math")
        except GradingPoolError as error:
            assert isinstance(error, UserError)
            print("RAISED", error)
        else:
            print("NOT RAISED")
        """
    )
    done = _python(["-"], script, env_extra={"PYTHONPATH": str(broken)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith(("RAISED", "NOT RAISED")))
    assert line.startswith("RAISED math-verify grading workers could not start")
    assert "math-verify is broken here" in line
    assert line.endswith(".") and "\n" not in line


@pytest.mark.parametrize("kind", ["math", "number"])
def test_plain_answers_need_no_workers(tmp_path, kind):
    # Plain numbers are graded in the caller's process: no worker starts, even where none could.
    script = textwrap.dedent(
        f"""
        from harness.grading import grade, mathequiv
        print("RESULT", grade("\\\\boxed{{1 000}}", "1000", kind="{kind}"), mathequiv.STATS["pool_starts"])
        """
    )
    done = _python(["-"], script, env_extra={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert "RESULT True 0" in done.stdout, done.stderr
