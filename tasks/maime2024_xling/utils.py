"""maime2024_xling: AIME 2024 in eleven languages, 16 samples per problem: mean accuracy over the
samples (strict and flexible) and the unbiased pass@16 (strict).

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import load_aime2024
from harness.eval import taskkit

FAMILY = "maime2024_xling"
VERSION = 1.0
SAMPLES = 16
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)

load_test = taskkit.dataset_hook(load_aime2024)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.sampled_results((SAMPLES,))


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION,
                             metrics=taskkit.METRICS + (f"pass@{SAMPLES}",), filter_name="samples")


if __name__ == "__main__":
    generate()
