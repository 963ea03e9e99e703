"""Shared test set-up: no network, a private cache and runs folder, fresh plugin state."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Nothing in the test suite may reach a hub; these make any attempt fail fast instead.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("COLUMNS", "200")  # wide rich tables: assertions see whole cells

# The suite never depends on what an earlier run left in the user's caches: the tiny model and
# the datasets cache are built afresh in a folder of this test session's own.
_SESSION_CACHE = Path(tempfile.mkdtemp(prefix="harness-test-cache-"))
os.environ["HARNESS_CACHE"] = str(_SESSION_CACHE / "harness")
os.environ["HF_HOME"] = str(_SESSION_CACHE / "hf")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_CACHE / "hf" / "datasets")
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """Each test writes runs into its own folder and sees freshly loaded plugins."""
    from harness.core import plugins as plugin_manager

    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("HARNESS_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("HARNESS_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("HARNESS_REGISTRY", raising=False)
    plugin_manager.reset()
    yield
    plugin_manager.reset()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared data mirror {SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture
def server(tmp_path):
    """``start(*args)`` starts the test's OpenAI-compatible chat server (tests/fixtures/corpus);
    every server started is killed at the end of the test."""
    from tests.fixtures.corpus import chat_server

    started = []

    def start(*args: str):
        process, url, log = chat_server.start(tmp_path, *args)
        started.append(process)
        return process, url, log

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def tiny_base() -> Path:
    """The pretrained ``tiny-base``, built once per test session into the session's cache (a few
    CPU minutes); every subprocess of the session finds it there."""
    from harness.inference.models import builtin_model_path

    return builtin_model_path("tiny-base")
