"""toy_study_xling: the toy study's benchmark (harness.data.toy.toy_study_corpus, test split), 250
one-operation word problems per language, parallel across the study's ten languages (one id per
problem in every language, so paired bootstraps resample them jointly), zero-shot chain of thought
with the answer in \\boxed{}, as mgsm_xling. Disjoint from the pretraining text of ``tiny-base`` and
from the training data (``--data toy_study``). Offline by construction."""

from __future__ import annotations

from harness.eval import taskkit

FAMILY = "toy_study_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ()
PROBLEMS = 250
"""Held-out problems per language (the same problems, parallel across languages), as MGSM."""


load_test = taskkit.dataset_hook(taskkit.toy_loader("toy_study_corpus", PROBLEMS))
