"""mlogiqa_xling: P-MMEval's multilingual LogiQA, zero-shot, the boxed option letter graded
(``kind="choice"``). The group is the study's languages that P-MMEval has (en zh es fr ja th).

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import load_mlogiqa
from harness.eval import taskkit

FAMILY = "mlogiqa_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th")
EXTRA_LANGUAGES = ("ar", "ko", "pt", "vi")

load_test = taskkit.dataset_hook(load_mlogiqa)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
