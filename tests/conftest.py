"""Shared test set-up: no network, a private cache and runs folder, fresh plugin state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the test suite may reach a hub; these make any attempt fail fast instead.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("COLUMNS", "200")  # wide rich tables: assertions see whole cells

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """Each test writes runs into its own folder and sees freshly loaded plugins."""
    from harness import plugin_manager

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
