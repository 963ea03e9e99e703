"""mlogiqa_xling: P-MMEval's multilingual LogiQA, zero-shot, the boxed option letter graded
(``kind="choice"``). The group is the study's languages that P-MMEval has (en zh es fr ja th)."""

from __future__ import annotations

from harness.data.sources import load_mlogiqa
from harness.eval import taskkit

FAMILY = "mlogiqa_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th")
EXTRA_LANGUAGES = ("ar", "ko", "pt", "vi")

load_test = taskkit.dataset_hook(load_mlogiqa)
