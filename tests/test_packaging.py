"""The wheel carries registry.yaml and the task YAMLs, installs under `harness` only, and works
outside the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, text=True, timeout=300)
    (path,) = out.glob("xling_harness-*.whl")
    return path


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "harness/registry.yaml" in names
    assert "harness/cli/__init__.py" in names and "harness/plugins/__init__.py" in names
    assert "harness/trainers/__init__.py" in names and "harness/tasks/__init__.py" in names
    task_yamls = [n for n in names if n.startswith("harness/tasks/") and (n.endswith(".yaml") or n.endswith("_yaml"))]
    source_yamls = [p for p in (REPO / "tasks").rglob("*") if p.suffix == ".yaml" or p.name.endswith("_yaml")]
    assert len(task_yamls) == len(source_yamls)
    for folder, package in [("harness", "harness"), ("plugins", "harness/plugins"), ("trainers", "harness/trainers"),
                            ("tasks", "harness/tasks")]:
        for source in (REPO / folder).rglob("*.py"):
            if "__pycache__" not in source.parts:
                wanted = f"{package}/{source.relative_to(REPO / folder).as_posix()}"
                assert wanted in names, f"{wanted} is missing from the wheel (add its package to pyproject.toml)"
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"harness", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, tops
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "harness = harness.cli:main" in entry_points


def test_installed_wheel_runs_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import harness, harness.core.registry as r, harness.eval.tasks as t;"
        "assert harness.__file__.startswith(sys.argv[1]), harness.__file__;"
        "p = r.default_registry_path(); assert p.parent.name == 'harness' and p.exists(), p;"
        "print(len(r.load_registry(p).languages), t.tasks_dir())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    count, tasks_dir = done.stdout.split()
    assert int(count) >= 10 and tasks_dir.startswith(str(target))
