"""maime2024_xling: AIME 2024 in eleven languages, 16 samples per problem: mean accuracy over the
samples (strict and flexible) and the unbiased pass@16 (strict)."""

from __future__ import annotations

from harness.data.sources import load_aime2024
from harness.eval import taskkit

FAMILY = "maime2024_xling"
VERSION = 1.0
SAMPLES = 16
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)
METRICS = taskkit.METRICS + (f"pass@{SAMPLES}",)
FILTER = "samples"  # the common base's take_first_k filter: the group averages its metrics

load_test = taskkit.dataset_hook(load_aime2024)
process_results = taskkit.sampled_results((SAMPLES,))
