"""One clean screen per command: library chatter off at its source unless ``--verbose``.

The libraries below print progress bars (weight loading and saving, dataset maps), notices
(vLLM's Triton check) and per-task warnings that say nothing to a user of the harness. Each is
switched off through the library's own setting, before the library is imported; warnings and
errors of the harness itself, and real errors of the libraries, still reach the screen.
"""

from __future__ import annotations

import os

# Each library's own switch (read when the library is imported).
QUIET_ENVIRONMENT = {
    "TRANSFORMERS_VERBOSITY": "error",          # "missing keys" on resume of tied weights, notices
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",        # transformers' weight loading/saving bars use hub's switch
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",   # "Map: 100%", "Generating train split"
    "DATASETS_VERBOSITY": "error",
    "VLLM_LOGGING_LEVEL": "ERROR",              # "Triton is installed, but ..." and engine info lines
    "VLLM_CONFIGURE_LOGGING": "1",
}


_state = {"verbose": True}  # until the CLI says otherwise: library use outside the CLI stays as it was


def verbose() -> bool:
    return _state["verbose"]


def quiet_libraries(verbose: bool = False) -> None:
    """Set each library's quiet switch, unless the user already chose a value (or ``verbose``)."""
    _state["verbose"] = verbose
    if verbose:
        return
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    import sys

    if "transformers" in sys.modules:  # imported before (a test session, a notebook): the switch is read
        sys.modules["transformers"].utils.logging.disable_progress_bar()  # at import, so say it directly
    # vLLM's Triton check logs while vLLM is imported, before vLLM configures its own loggers,
    # so the record reaches Python's last-resort handler unless the parent logger says no.
    import logging

    logging.getLogger("vllm").setLevel(os.environ["VLLM_LOGGING_LEVEL"])


def quiet_git_hash() -> None:
    """lm-eval asks ``git describe`` for the working directory's commit and lets git print
    "fatal: not a git repository" outside a checkout; ask quietly instead."""
    import subprocess

    import lm_eval.evaluator

    def git_hash() -> str | None:
        try:
            out = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() or None if out.returncode == 0 else None

    lm_eval.evaluator.get_git_commit_hash = git_hash


def without_task_bars() -> None:
    """lm-eval draws a tqdm bar per task while building its requests. Not through tqdm's global
    switch (TQDM_DISABLE): vLLM's offline generate divides by a disabled bar's elapsed time."""
    import functools

    import lm_eval.api.task as task_module
    from tqdm import tqdm

    if not verbose() and not isinstance(task_module.tqdm, functools.partial):
        task_module.tqdm = functools.partial(tqdm, disable=True)


def without_request_bars(lm):
    """lm-eval's LMs draw a tqdm bar per request type, whatever tqdm's own switch says (they pass
    ``disable=`` themselves); the harness shows its own progress instead."""
    import functools

    if verbose():
        return lm
    for name in ("generate_until", "loglikelihood", "loglikelihood_rolling"):
        method = getattr(lm, name, None)
        if method is not None:
            setattr(lm, name, functools.partial(method, disable_tqdm=True))
    return lm
