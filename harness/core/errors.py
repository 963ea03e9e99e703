"""Errors a user can cause. The CLI prints them as one sentence and exits with code 2."""

from __future__ import annotations

import difflib
import errno
import os
from collections.abc import Iterable


class UserError(Exception):
    """Bad input from the user: a wrong flag, name, file or value. Never a bug of ours."""

    exit_code = 2


class ReportedFailure(Exception):
    """A failure that processes this command started have reported in full (their tracebacks are
    above): the CLI adds one sentence and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code or 1


def did_you_mean(name: str, choices: Iterable[str], list_all: bool = True) -> str:
    """'; did you mean 'x'?' for the closest valid name, else a list of the valid names (or, with
    ``list_all=False``, for choices too many to list, nothing)."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not list_all:
        return ""
    if not choices:
        return " (none are available)"
    return f"; valid names: {', '.join(choices)}"


def unknown(kind: str, name: str, choices: Iterable[str], where: str = "") -> UserError:
    """A UserError for an unknown name, suggesting the closest valid one."""
    prefix = f"{where}: " if where else ""
    return UserError(f"{prefix}unknown {kind} {name!r}{did_you_mean(name, choices)}")


# Errors of the machine, not of the harness: a full disk, a read-only or forbidden folder.
MACHINE_SAYS_NO = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def machine_says_no(exc: BaseException) -> str | None:
    """One sentence for a full disk or a forbidden/read-only folder, wherever in the exception
    chain it is (libraries wrap it: safetensors reports "No space left on device (os error 28)")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in MACHINE_SAYS_NO:
            return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
        for number in MACHINE_SAYS_NO:
            if f"(os error {number})" in str(exc):
                return f"{os.strerror(number)} ({type(exc).__name__} while writing)"
        exc = exc.__cause__ or exc.__context__
    return None

