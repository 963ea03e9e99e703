"""toy_xling: the held-out split of the built-in toy corpus (harness.data.toy) in the study's ten
languages, zero-shot with the answer in \\boxed{}. Offline by construction: the embedded default
that `harness train --model tiny` learns on, evaluated the way MGSM is."""

from __future__ import annotations

from harness.eval import taskkit

FAMILY = "toy_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ()
PROBLEMS = 100
"""Held-out problems per language (the same problems, parallel across languages)."""


load_test = taskkit.dataset_hook(taskkit.toy_loader("toy_corpus", PROBLEMS))
