"""mmlu_prox_lite_xling: MMLU-ProX-Lite zero-shot with the boxed option letter graded
(``kind="choice"``). The group averages the study's ten languages; the study's table reports En, Zh and De (paper,
unverified: secondary source), which form the named subgroup ``mmlu_prox_lite_xling_enzhde``."""

from __future__ import annotations

from harness.data.sources import load_mmlu_prox_lite
from harness.eval import taskkit

FAMILY = "mmlu_prox_lite_xling"
VERSION = 1.1
# The study's ten evaluation languages form the group; te is in the data but not in the study.
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)
# The languages the study's table reports for this benchmark (paper, unverified: secondary
# source): a named subgroup.
SUBGROUP = f"{FAMILY}_enzhde"
SUBGROUP_LANGUAGES = ("en", "zh", "de")

load_test = taskkit.dataset_hook(load_mmlu_prox_lite)
