"""mmath500_xling: the MATH500 part of MMATH in ten languages, zero-shot CoT, boxed answers
graded for equivalence (math-verify)."""

from __future__ import annotations

from harness.data.sources import load_mmath
from harness.eval import taskkit

FAMILY = "mmath500_xling"
VERSION = 1.0
# The group: MMATH's languages that are among the study's ten (six settings: paper, unverified:
# secondary source; which six is the harness's reading);
# MMATH's other four are extra tasks outside it.
GROUP_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th")
EXTRA_LANGUAGES = ("ar", "ko", "pt", "vi")

load_test = taskkit.dataset_hook(load_mmath)
