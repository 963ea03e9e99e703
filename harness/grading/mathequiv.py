"""Symbolic answer equivalence (math-verify) in worker processes with hard per-call timeouts.

math-verify times out with ``signal.alarm``, which only works on a main thread: called from a
trainer's worker thread it fails and every score silently becomes 0 (verl #5635, #5839,
Math-Verify #50). Here each comparison runs in a worker process (:mod:`harness.grading.worker`),
on that process's main thread, and the caller waits at most ``timeout`` seconds for it; then that
worker is killed (sympy can hang inside C code, where no alarm reaches) and replaced. A timeout
grades as wrong, is counted in :data:`STATS` and logged; nothing here raises on answer text.
math-verify's own alarms stay on, set past the hard limit, only as a backstop.

Workers are fresh interpreters that run :func:`harness.grading.worker.main`, not children of
multiprocessing's spawn, so they never re-import the caller's ``__main__``: grading works from
``python - <<EOF``, ``python -c`` and unguarded scripts alike. Workers that cannot start raise
:class:`GradingPoolError` (one sentence) instead of grading answers wrong.

Workers start once, lazily, and are reused; start-up (importing sympy) is not charged to any
comparison's timeout. ``HARNESS_GRADING_WORKERS`` sets their number (default: up to 4).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from multiprocessing.connection import wait
from pathlib import Path

from harness.core.errors import UserError
from harness.grading.worker import GOLD_UNPARSABLE, encode_frame, read_frame

log = logging.getLogger(__name__)

__all__ = ["GOLD_UNPARSABLE", "GradingPoolError", "STATS", "gold_parses", "math_equal", "shutdown",
           "verify_many", "warm_up", "worker_count"]

MAX_ANSWER_CHARS = 1000
"""Answers longer than this are wrong without a trip to sympy: no real answer is this long, and
sympy on megabytes of LaTeX is the classic way to hang a grader."""

MAX_TEXT_CHARS = 6000
"""Free text handed to math-verify's own extraction (flexible mode without a box) is cut to its
last this many characters: the answer of a response is at its end, and math-verify's regexes
must not walk a megabyte."""

STARTUP_TIMEOUT = 180.0
"""Seconds a fresh worker may take to import math-verify (not charged to any comparison)."""

STATS: Counter = Counter()
"""Running counts: ``calls``, ``timeouts``, ``too_long``, ``crashes``, ``pool_starts``,
``worker_starts``."""


class GradingPoolError(UserError):
    """The math-verify workers could not start; raised rather than grading answers wrong."""


def worker_count() -> int:
    configured = os.environ.get("HARNESS_GRADING_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


# --- one worker ---------------------------------------------------------------------------------


def _worker_env() -> dict[str, str]:
    # The worker imports harness by name: make the copy this process uses importable even when
    # it is not installed (a checkout on sys.path).
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    if root.name != "site-packages":
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


# By import path, not `-m`: the package's own import already loads harness.grading.worker.
_WORKER_MAIN = "import sys; from harness.grading.worker import main; sys.exit(main())"


class _Worker:
    """One worker process: ``starting`` until it says ready, then ``running``. Tasks queue up in
    its stdin (a few at a time, so it never waits for the next one); the first of ``queue`` is
    the one it is computing, and ``deadline`` is that task's."""

    def __init__(self) -> None:
        # Unbuffered pipes: a reply read ahead into a buffer would hide from wait().
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_worker_env(), bufsize=0,
        )
        self.state = "starting"
        self.started = time.monotonic()
        self.queue: deque[tuple[int, int]] = deque()  # (task index, request size in bytes)
        self.deadline = math.inf
        STATS["worker_starts"] += 1

    def fileno(self) -> int:
        return self.proc.stdout.fileno()

    @property
    def queued_bytes(self) -> int:
        return sum(size for _, size in self.queue)

    def send(self, i: int, request: bytes, timeout: float) -> bool:
        try:
            view = memoryview(request)
            while view:  # an unbuffered write may take part of a large frame
                view = view[self.proc.stdin.write(view) :]
        except (OSError, ValueError):  # it died while idle (killed, OOM): the caller replaces it
            return False
        if not self.queue:
            self.deadline = time.monotonic() + timeout
        self.queue.append((i, len(request)))
        return True

    def receive(self):
        try:
            return read_frame(_Exact(self.proc.stdout))
        except Exception:  # a torn frame from a dying worker reads as its death
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the OS will reap
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Exact:
    """``read(n)`` of exactly n bytes (or fewer only at EOF) from an unbuffered pipe."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def read(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self.raw.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _start_error(worker: _Worker, message) -> GradingPoolError:
    if message is not None and message[0] == "error":
        reason = message[1]
    else:
        reason = f"the worker exited with status {worker.proc.wait()}; its error output is above"
    return GradingPoolError(f"math-verify grading workers could not start ({reason}).")


class _Pool:
    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.workers = [_Worker() for _ in range(size)]
        STATS["pool_starts"] += 1

    def replace(self, worker: _Worker, todo: deque) -> None:
        """Kill ``worker`` and start another; the tasks still queued on it go back to ``todo``."""
        worker.kill()
        todo.extendleft(reversed([i for i, _ in worker.queue]))
        self.workers[self.workers.index(worker)] = _Worker()

    def of_state(self, state: str) -> list[_Worker]:
        return [w for w in self.workers if w.state == state]

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.state == "running" and w.queue]

    def on_ready_message(self, worker: _Worker) -> None:
        """Read a starting worker's first frame; raises :class:`GradingPoolError` if it failed."""
        message = worker.receive()
        if message is None or message[0] != "ready":
            raise _start_error(worker, message)
        worker.state = "running"

    def await_ready(self) -> None:
        """Wait until every worker is ready (start-up is never charged to a comparison)."""
        while starting := self.of_state("starting"):
            deadline = min(w.started for w in starting) + STARTUP_TIMEOUT
            ready = wait(starting, timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise GradingPoolError(f"math-verify grading workers did not start within {STARTUP_TIMEOUT:.0f} s.")
            for worker in ready:
                self.on_ready_message(worker)

    def kill(self) -> None:
        if self.pid != os.getpid():  # a forked child must not kill its parent's workers
            return
        for worker in self.workers:
            worker.kill()


_lock = threading.RLock()
_pool: _Pool | None = None


def _get_pool() -> _Pool:
    """The shared pool, started on first use (and again in a forked child or after shutdown)."""
    global _pool
    if _pool is None or _pool.pid != os.getpid():
        _pool = _Pool(worker_count())
        try:
            _pool.await_ready()
        except BaseException:
            _kill_pool()
            raise
    return _pool


def _kill_pool() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.kill()


def shutdown() -> None:
    """Stop the workers (they restart on the next call)."""
    with _lock:
        _kill_pool()


atexit.register(shutdown)


def warm_up() -> None:
    """Start the workers now, so the first graded batch does not wait for sympy to import;
    raises :class:`GradingPoolError` if they cannot start."""
    with _lock:
        _get_pool().await_ready()


def worker_pids() -> list[int]:
    """Process ids of the running workers (for tests and monitoring)."""
    with _lock:
        return [w.proc.pid for w in _pool.workers] if _pool is not None else []


# --- public calls -------------------------------------------------------------------------------


def _seconds(timeout: float) -> int:
    # math-verify's own alarms (whole seconds) are only a backstop: the caller's hard timeout
    # fires first. Tighter alarms would fail slow-but-legitimate comparisons on a busy machine.
    return math.ceil(timeout) + 1


def _tail(text: str) -> str:
    """The last :data:`MAX_TEXT_CHARS` characters of ``text``, from a line start where one is near:
    a cut inside ``$...$`` would pair every later dollar sign wrongly (inline math never spans
    lines, so a line start is a safe place to begin)."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    tail = text[-MAX_TEXT_CHARS:]
    newline = tail.find("\n", 0, MAX_TEXT_CHARS // 3)
    return tail[newline + 1 :] if newline >= 0 else tail


def verify_many(pairs: list[tuple], timeout: float = 5.0) -> list[bool | None]:
    """``math_verify.verify`` of each ``(gold, answer)`` or ``(gold, answer, how)`` pair: True,
    False (also on timeout or crash), or :data:`GOLD_UNPARSABLE`. ``answer`` is LaTeX without
    ``\\boxed`` (``how="latex"``, the default) or free text for math-verify's own extraction
    (``how="text"``, cut to its last :data:`MAX_TEXT_CHARS` characters). Never raises on answer
    text; raises :class:`GradingPoolError` when the workers cannot start."""
    seconds = _seconds(timeout)
    requests: list = [None] * len(pairs)
    for i, (gold, answer, *how) in enumerate(pairs):
        how = how[0] if how else "latex"
        if how == "text":
            answer = _tail(answer)
        elif len(answer) > MAX_ANSWER_CHARS:
            continue
        requests[i] = ("verify", (gold, answer, seconds, how))
    results: list = [False] * len(pairs)
    todo = deque(i for i, request in enumerate(requests) if request is not None)
    with _lock:
        STATS["calls"] += len(pairs)
        STATS["too_long"] += len(pairs) - len(todo)
        _run(requests, todo, results, timeout)
    return results


PIPELINE_TASKS = 4
"""Tasks queued per worker, so it starts the next as soon as it answers one."""
PIPELINE_BYTES = 32 * 1024
"""...and at most this many bytes of them: a full pipe would block the caller past a deadline."""


def _hand_out(pool: _Pool, requests: list, todo: deque, timeout: float) -> None:
    """Queue tasks on the running workers; each task's deadline starts when its worker starts it
    (when the task before it in the queue is answered)."""
    for worker in pool.of_state("running"):
        while todo and len(worker.queue) < PIPELINE_TASKS:
            i = todo[0]
            frame = encode_frame(requests[i])
            if worker.queue and worker.queued_bytes + len(frame) > PIPELINE_BYTES:
                break
            if not worker.send(i, frame, timeout):
                pool.replace(worker, todo)
                break
            todo.popleft()


def _run(requests: list, todo: deque, results: list, timeout: float) -> None:
    """Run ``requests[i]`` for each i in ``todo`` on the workers, results into ``results``."""
    try:
        _run_on(_get_pool(), requests, todo, results, timeout)
    except BaseException:  # workers with replies still queued would answer the next call
        _kill_pool()
        raise


def _run_on(pool: _Pool, requests: list, todo: deque, results: list, timeout: float) -> None:
    retries: Counter = Counter()
    while todo or pool.busy():
        _hand_out(pool, requests, todo, timeout)
        busy, starting = pool.busy(), pool.of_state("starting")
        deadlines = [w.deadline for w in busy] + [w.started + STARTUP_TIMEOUT for w in starting]
        if not deadlines:
            continue
        for worker in wait(busy + starting, timeout=max(0.0, min(deadlines) - time.monotonic())):
            if worker.state == "starting":
                pool.on_ready_message(worker)
                continue
            message = worker.receive()
            if message is not None:
                i, _ = worker.queue.popleft()
                results[i] = message[1]
                worker.deadline = time.monotonic() + timeout  # the next queued task starts now
                continue
            # The worker died mid-task (a crash, the OOM killer): the task it was computing gets
            # two more tries; the ones queued behind it go back untouched.
            i, _ = worker.queue[0]
            retries[i] += 1
            if retries[i] > 2:
                STATS["crashes"] += 1
                worker.queue.popleft()
                results[i] = False
            pool.replace(worker, todo)
        now = time.monotonic()
        for worker in pool.busy():
            if worker.deadline <= now:
                i, _ = worker.queue.popleft()
                results[i] = False
                STATS["timeouts"] += 1
                answer = requests[i][1][1] if requests[i][0] == "verify" else requests[i][1][0]
                log.warning("math-verify took over %.1fs on %r; graded wrong", timeout, answer[:80])
                pool.replace(worker, todo)  # only this worker: the others' tasks run on
        for worker in pool.of_state("starting"):
            if now - worker.started > STARTUP_TIMEOUT:
                raise GradingPoolError(f"a math-verify grading worker did not start within {STARTUP_TIMEOUT:.0f} s.")


def math_equal(gold: str, answer: str, timeout: float = 5.0) -> bool | None:
    """One comparison; see :func:`verify_many`."""
    return verify_many([(gold, answer)], timeout)[0]


def gold_parses(gold: str, timeout: float = 10.0) -> bool:
    """Whether math-verify can parse ``gold`` (a timeout counts as no)."""
    results = [False]
    with _lock:
        _run([("gold", (gold, _seconds(timeout)))], deque([0]), results, timeout)
    return bool(results[0])
