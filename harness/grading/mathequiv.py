"""Symbolic answer equivalence (math-verify) in a process pool with hard per-call timeouts.

math-verify times out with ``signal.alarm``, which only works on a main thread: called from a
trainer's worker thread it fails and every score silently becomes 0 (verl #5635, #5839,
Math-Verify #50). Here each comparison runs in a spawned worker process, on that process's main
thread, and the caller waits at most ``timeout`` seconds for it; then the workers are killed
(sympy can hang inside C code, where no alarm reaches) and a fresh pool starts on the next call.
A timeout grades as wrong, is counted in :data:`STATS` and logged; nothing here raises on answer
text. math-verify's own alarms stay on, set past the hard limit, only as a backstop.

Workers start once, lazily, and are reused; start-up (importing sympy) is not charged to any
comparison's timeout. ``HARNESS_GRADING_WORKERS`` sets their number (default: up to 4).
"""

from __future__ import annotations

import atexit
import logging
import math
import multiprocessing
import os
import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

log = logging.getLogger(__name__)

GOLD_UNPARSABLE = None
"""What :func:`verify_many` reports for a pair whose gold math-verify cannot parse."""

MAX_ANSWER_CHARS = 1000
"""Answers longer than this are wrong without a trip to sympy: no real answer is this long, and
sympy on megabytes of LaTeX is the classic way to hang a grader."""

STARTUP_TIMEOUT = 180.0
"""Seconds a fresh pool may take to import math-verify in every worker (not charged to calls)."""

STATS: Counter = Counter()
"""Running counts: ``calls``, ``timeouts``, ``too_long``, ``crashes``, ``pool_starts``."""

_lock = threading.RLock()
_pool: ProcessPoolExecutor | None = None
_pool_pid: int | None = None


def worker_count() -> int:
    configured = os.environ.get("HARNESS_GRADING_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


# --- inside the worker processes ----------------------------------------------------------------


def _init_worker() -> None:
    # Pay the lazy imports and cold caches (up to a second per worker) once, at start-up, so a
    # worker's first real comparison does not run into its timeout.
    from math_verify import parse, verify

    verify(parse("\\boxed{x^2 + 2x + 1}"), parse("\\boxed{(x+1)^2}"))
    verify(parse("\\boxed{(-\\infty,-1)\\cup\\{2\\}}"), parse("\\boxed{\\frac{\\sqrt{2}}{2}}"))


def _ping() -> int:
    time.sleep(0.05)  # hold the worker so each ping forces its own process to spawn
    return os.getpid()


@lru_cache(maxsize=4096)
def _parsed(latex: str, seconds: int):
    from math_verify import parse

    return parse("\\boxed{" + latex + "}", parsing_timeout=seconds)


def _is_math(parsed) -> bool:
    """math-verify returns ``[sympy_object, text]``, or only ``[text]`` when it fell back to the
    raw string because the LaTeX did not parse; a gold must be real math."""
    return bool(parsed) and not isinstance(parsed[0], str)


def _verify_task(gold: str, answer: str, seconds: int) -> bool | None:
    """True/False, or None when the gold does not parse (runs in a worker process)."""
    from math_verify import verify

    try:
        gold_parsed = _parsed(gold, seconds)
        if not _is_math(gold_parsed):
            return GOLD_UNPARSABLE
        answer_parsed = _parsed(answer, seconds)
        if not answer_parsed:
            return False
        return bool(verify(gold_parsed, answer_parsed, timeout_seconds=seconds))
    except Exception:  # a math-verify bug must grade as wrong, not kill the batch
        return False


def _gold_task(gold: str, seconds: int) -> bool:
    try:
        return _is_math(_parsed(gold, seconds))
    except Exception:
        return False


# --- the pool -----------------------------------------------------------------------------------


def _get_pool() -> ProcessPoolExecutor:
    """The shared pool, started and warmed on first use (and again after a fork or a kill)."""
    global _pool, _pool_pid
    if _pool is not None and _pool_pid == os.getpid():
        return _pool
    context = multiprocessing.get_context("spawn")  # safe beside threads, CUDA and vLLM
    pool = ProcessPoolExecutor(worker_count(), mp_context=context, initializer=_init_worker)
    try:
        pings = [pool.submit(_ping) for _ in range(worker_count())]
        for ping in pings:
            ping.result(timeout=STARTUP_TIMEOUT)
    except BaseException:
        _pool, _pool_pid = pool, os.getpid()
        _kill_pool()
        raise
    _pool, _pool_pid = pool, os.getpid()
    STATS["pool_starts"] += 1
    return pool


def _kill_pool() -> None:
    """Kill the workers now: a timed-out one may be stuck in C code that ignores signals."""
    global _pool
    pool, _pool = _pool, None
    if pool is None or _pool_pid != os.getpid():
        return
    kill = getattr(pool, "kill_workers", None)  # Python >= 3.14
    if kill is not None:
        kill()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the workers (they restart on the next call)."""
    with _lock:
        _kill_pool()


atexit.register(shutdown)


def warm_up() -> None:
    """Start the workers now, so the first graded batch does not wait for sympy to import."""
    with _lock:
        _get_pool()


# --- public calls -------------------------------------------------------------------------------


def _seconds(timeout: float) -> int:
    # math-verify's own alarms (whole seconds) are only a backstop: the caller's hard timeout
    # fires first. Tighter alarms would fail slow-but-legitimate comparisons on a busy machine.
    return math.ceil(timeout) + 1


def verify_many(pairs: list[tuple[str, str]], timeout: float = 5.0) -> list[bool | None]:
    """``math_verify.verify`` of each ``(gold, answer)`` pair (LaTeX without ``\\boxed``): True,
    False (also on timeout or crash), or :data:`GOLD_UNPARSABLE`. Never raises on answer text."""
    results: list[bool | None] = [False] * len(pairs)
    todo = deque(i for i, (_, answer) in enumerate(pairs) if len(answer) <= MAX_ANSWER_CHARS)
    with _lock:
        STATS["calls"] += len(pairs)
        STATS["too_long"] += len(pairs) - len(todo)
        _run(pairs, todo, results, timeout, _seconds(timeout))
    return results


def _run(pairs, todo: deque, results: list, timeout: float, seconds: int) -> None:  # noqa: C901
    """Keep at most one task per worker in flight, so each task starts when it is submitted and
    its deadline (submission + timeout) measures its own run time only."""
    retries: Counter = Counter()
    inflight: dict[Future, tuple[int, float]] = {}
    while todo or inflight:
        try:
            pool = _get_pool()
        except Exception as error:  # the pool cannot start: grade what is left as wrong
            log.error("math-verify workers failed to start (%s); %d answers graded wrong", error, len(todo))
            return
        try:
            while todo and len(inflight) < worker_count():
                future = pool.submit(_verify_task, *pairs[todo[0]], seconds)
                inflight[future] = (todo.popleft(), time.monotonic() + timeout)
        except RuntimeError:  # the pool broke while idle (a worker was killed): start another
            _kill_pool()
            if not inflight:
                continue
        soonest = min(deadline for _, deadline in inflight.values())
        done, _ = wait(list(inflight), timeout=max(0.0, soonest - time.monotonic()), return_when=FIRST_COMPLETED)
        victims: list[int] = []  # tasks lost when a worker died
        for future in done:
            i, _ = inflight.pop(future)
            try:
                results[i] = future.result()
            except BrokenProcessPool:
                victims.append(i)
            except Exception:
                results[i] = False
        now = time.monotonic()
        expired = [f for f, (_, deadline) in inflight.items() if deadline <= now and not f.done()]
        for future in expired:
            i, _ = inflight.pop(future)
            results[i] = False
            STATS["timeouts"] += 1
            log.warning("math-verify took over %.1fs on answer %r; graded wrong", timeout, pairs[i][1][:80])
        if not (expired or victims):
            continue
        still_running = [i for i, _ in inflight.values()]
        inflight.clear()
        _kill_pool()
        if victims:
            # A worker died (a crash, the OOM killer) and which task killed it is unknown: each
            # task then in flight gets two more tries before it counts as wrong.
            for i in victims + still_running:
                retries[i] += 1
                if retries[i] <= 2:
                    todo.appendleft(i)
                else:
                    STATS["crashes"] += 1
        else:
            todo.extendleft(still_running)  # innocent bystanders of a timeout: start them again


def math_equal(gold: str, answer: str, timeout: float = 5.0) -> bool | None:
    """One comparison; see :func:`verify_many`."""
    return verify_many([(gold, answer)], timeout)[0]


def gold_parses(gold: str, timeout: float = 10.0) -> bool:
    """Whether math-verify can parse ``gold`` (a timeout counts as no)."""
    with _lock:
        try:
            future = _get_pool().submit(_gold_task, gold, _seconds(timeout))
            return bool(future.result(timeout=timeout))
        except Exception:
            _kill_pool()
            return False
