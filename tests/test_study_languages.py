"""The study's languages are written down in several places that must stay separate: the user's
``registry.yaml``, the code's ``literals.STUDY_LANGUAGES``, each task folder's generated YAMLs
(``GROUP_LANGUAGES`` + ``EXTRA_LANGUAGES`` of its ``utils.py``, which lm-eval loads on its own)
and the data loaders' lists of what a benchmark provides. ``STUDY_LANGUAGES`` is the source of
truth; these tests fail when another place drifts from it."""

from __future__ import annotations

import pytest

from harness.core.literals import LITERALS, STUDY_LANGUAGES
from harness.core.registry import load_registry
from harness.data import sources
from harness.eval.tasks import task_families, tasks_dir
from tests.helpers import task_utils

TASKS_DIR = tasks_dir()

FAMILIES = task_families()


def test_registry_languages_are_the_study_languages_then_extras():
    languages = list(load_registry().languages)
    assert languages[: len(STUDY_LANGUAGES)] == list(STUDY_LANGUAGES)
    assert set(languages) <= set(LITERALS), "a registry language without prompt literals"


@pytest.mark.parametrize("family", FAMILIES)
def test_a_task_group_holds_the_study_languages_its_benchmark_has(family):
    utils = task_utils(family)
    available = set(utils.GROUP_LANGUAGES) | set(utils.EXTRA_LANGUAGES)
    # The group (what Avg and Gen average over) is the study's languages, in the study's order;
    # every other language of the benchmark is an extra task outside the group.
    assert tuple(utils.GROUP_LANGUAGES) == tuple(lang for lang in STUDY_LANGUAGES if lang in available)
    assert not set(utils.EXTRA_LANGUAGES) & set(STUDY_LANGUAGES)
    generated = {p.stem.removeprefix(f"{family}_") for p in (TASKS_DIR / family).glob(f"{family}_*.yaml")}
    assert available <= generated, f"{family}: no generated task for {sorted(available - generated)}"


@pytest.mark.parametrize(("family", "provided"), [
    ("mmath500_xling", sources.MMATH_LANGUAGES),
    ("mlogiqa_xling", sources.MLOGIQA_LANGUAGES),
    ("m_ifeval_xling", sources.M_IFEVAL_LANGUAGES),
])
def test_the_loaders_provide_every_language_a_task_asks_for(family, provided):
    utils = task_utils(family)
    assert set(utils.GROUP_LANGUAGES) | set(utils.EXTRA_LANGUAGES) == set(provided)
