"""mgsm_xling: MGSM in 11 languages, zero-shot chain of thought with the answer in \\boxed{}."""

from __future__ import annotations

from harness.data.sources import load_mgsm
from harness.eval import taskkit

FAMILY = "mgsm_xling"
VERSION = 1.0
# The study's ten languages form the group; Telugu is an extra task outside it.
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)

load_test = taskkit.dataset_hook(load_mgsm)
