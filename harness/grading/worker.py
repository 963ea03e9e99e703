"""A math-verify grading worker: a fresh interpreter running :func:`main` (started by
:mod:`harness.grading.mathequiv`, never by hand).

The worker is started by import path, not by multiprocessing's spawn: spawn
re-runs the parent's ``__main__`` in every child, which fails outright when ``__main__`` has no
file (``python - <<EOF``, ``python -c``, some notebooks and embedded interpreters) and re-runs an
unguarded script's top level otherwise. Here nothing of the caller's program is imported.

Protocol, on the worker's stdin and stdout: frames of a 4-byte big-endian length and a pickle.
The worker first sends ``("ready", pid)`` (or ``("error", sentence)`` when math-verify cannot be
imported), then answers each request ``(task, args)`` with ``("ok", result)``. It exits at EOF.
Every call runs on this process's main thread, where math-verify's ``signal.alarm`` works.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from functools import lru_cache

GOLD_UNPARSABLE = None
_HEADER = struct.Struct(">I")


def read_frame(stream):
    """The next object on ``stream``, or None at EOF (the other side is gone)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def encode_frame(obj) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def write_frame(stream, obj) -> None:
    stream.write(encode_frame(obj))
    stream.flush()


# --- the tasks ----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _parsed(text: str, seconds: int, how: str = "latex"):
    """math-verify's parse of an answer: ``latex`` is the content of a box (parsed as
    ``\\boxed{...}``), ``text`` is free text that math-verify's own extraction searches (its
    default LaTeX and expression configs, with their priorities)."""
    from math_verify import parse

    if how == "latex":
        return parse("\\boxed{" + text + "}", parsing_timeout=seconds)
    return parse(text, parsing_timeout=seconds)


def _is_math(parsed) -> bool:
    """math-verify returns ``[sympy_object, text]``, or only ``[text]`` when it fell back to the
    raw string because the LaTeX did not parse; a gold must be real math."""
    return bool(parsed) and not isinstance(parsed[0], str)


def verify_task(gold: str, answer: str, seconds: int, how: str = "latex") -> bool | None:
    """True/False, or None when the gold does not parse."""
    from math_verify import verify

    try:
        gold_parsed = _parsed(gold, seconds)
        if not _is_math(gold_parsed):
            return GOLD_UNPARSABLE
        answer_parsed = _parsed(answer, seconds, how)
        if not answer_parsed:
            return False
        return bool(verify(gold_parsed, answer_parsed, timeout_seconds=seconds))
    except Exception:  # a math-verify bug must grade as wrong, not kill the batch
        return False


def gold_task(gold: str, seconds: int) -> bool:
    try:
        return _is_math(_parsed(gold, seconds))
    except Exception:
        return False


def warm_up() -> None:
    # Pay the lazy imports and cold caches (up to a second) once, at start-up, so a worker's
    # first real comparison does not run into its timeout.
    from math_verify import parse, verify

    verify(parse("\\boxed{x^2 + 2x + 1}"), parse("\\boxed{(x+1)^2}"))
    verify(parse("\\boxed{(-\\infty,-1)\\cup\\{2\\}}"), parse("The answer is $\\frac{\\sqrt{2}}{2}$."))


TASKS = {"verify": verify_task, "gold": gold_task}


def main() -> int:
    # Ctrl-C is the caller's to handle (it stops the workers); a traceback per worker is noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Anything a library prints goes to stderr, never into the protocol stream.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        warm_up()
    except Exception as error:
        write_frame(replies, ("error", f"{type(error).__name__}: {error}"))
        return 1
    write_frame(replies, ("ready", os.getpid()))
    while (request := read_frame(requests)) is not None:
        task, args = request
        write_frame(replies, ("ok", TASKS[task](*args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
