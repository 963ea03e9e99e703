"""mmath500_xling: the MATH500 part of MMATH in ten languages, zero-shot CoT, boxed answers
graded for equivalence (math-verify).

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import load_mmath
from harness.eval import taskkit

FAMILY = "mmath500_xling"
VERSION = 1.0
# The group: MMATH's languages that are among the study's ten (the paper's six settings);
# MMATH's other four are extra tasks outside it.
GROUP_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th")
EXTRA_LANGUAGES = ("ar", "ko", "pt", "vi")

load_test = taskkit.dataset_hook(load_mmath)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
