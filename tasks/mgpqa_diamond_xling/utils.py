"""mgpqa_diamond_xling: GPQA-Diamond multiple choice in eleven languages; the boxed letter is
graded (``kind="choice"``). The group averages the study's ten languages; the study's table reports En, Zh and De (paper,
unverified: secondary source), which form the named subgroup ``mgpqa_diamond_xling_enzhde``."""

from __future__ import annotations

from harness.data.sources import load_gpqa_diamond
from harness.eval import taskkit

FAMILY = "mgpqa_diamond_xling"
VERSION = 1.1
# The study's ten evaluation languages form the group; te is in the data but not in the study.
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)
# The languages the study's table reports for this benchmark (paper, unverified: secondary
# source): a named subgroup.
SUBGROUP = f"{FAMILY}_enzhde"
SUBGROUP_LANGUAGES = ("en", "zh", "de")

load_test = taskkit.dataset_hook(load_gpqa_diamond)
