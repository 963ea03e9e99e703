from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from harness.core.rundir import RunDir, atomic_write_json, read_jsonl


def test_create_writes_manifest_config_and_log(tmp_path):
    run = RunDir.create("train", "grpo de/x", root=tmp_path)
    assert run.path.parent == tmp_path and run.path.name.endswith("-train-grpo-de-x")
    run.write_config({"seed": 3, "path": tmp_path})
    run.write_manifest(command="train", seed=3, data_hashes={"train": "abc"})
    handler = run.attach_log()
    import logging

    logging.getLogger("harness.test").info("hello")
    handler.flush()
    manifest = run.read_json("manifest.json")
    assert manifest["status"] == "running" and manifest["seed"] == 3
    assert manifest["packages"]["torch"].startswith("2.13")
    assert manifest["data_hashes"] == {"train": "abc"}
    run.finish("finished", model_path="m")
    assert run.read_json("manifest.json")["status"] == "finished"
    assert "hello" in (run.path / "logs" / "harness.log").read_text()
    assert "seed: 3" in (run.path / "config.yaml").read_text()
    logging.getLogger("harness").removeHandler(handler)


def test_two_runs_in_the_same_second_get_distinct_dirs(tmp_path):
    a = RunDir.create("eval", "x", root=tmp_path)
    b = RunDir.create("eval", "x", root=tmp_path)
    assert a.path != b.path


def test_failed_write_leaves_previous_file_intact(tmp_path):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"acc": 0.5})

    class Boom:
        def __str__(self):
            raise RuntimeError("serialization failed half way")

    with pytest.raises(RuntimeError):
        atomic_write_json(target, {"acc": Boom()})
    assert json.loads(target.read_text()) == {"acc": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_killed_writer_leaves_no_half_written_file(tmp_path):
    """SIGKILL a process in the middle of writing a large result: the old file survives whole."""
    target = tmp_path / "results.json"
    atomic_write_json(target, {"old": True})
    script = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        import harness.core.rundir as rd
        real_fdopen = os.fdopen
        def slow_fdopen(*a, **k):
            handle = real_fdopen(*a, **k)
            write = handle.write
            def stalled(text):
                write(text[: len(text) // 2]); handle.flush()
                print("half", flush=True); sys.stdin.readline()
                return write(text[len(text) // 2 :])
            handle.write = stalled
            return handle
        rd.os.fdopen = slow_fdopen
        rd.atomic_write_json(Path({str(target)!r}), {{"new": "x" * 100000}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "half"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads(target.read_text()) == {"old": True}


def test_jsonl_reader_skips_a_torn_last_line(tmp_path):
    run = RunDir.create("train", "x", root=tmp_path)
    run.append_metrics({"step": 1})
    run.append_metrics({"step": 2})
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 3, "rew')
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    import stat

    atomic_write_json(tmp_path / "r.json", {})
    mode = stat.S_IMODE((tmp_path / "r.json").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
