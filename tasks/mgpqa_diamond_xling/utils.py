"""mgpqa_diamond_xling: GPQA-Diamond multiple choice in eleven languages; the boxed letter is
graded (``kind="choice"``). The group averages the study's ten languages; the study's table reports En, Zh and De, which
form the named subgroup ``mgpqa_diamond_xling_enzhde``.

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import load_gpqa_diamond
from harness.eval import taskkit

FAMILY = "mgpqa_diamond_xling"
VERSION = 1.1
# The study's ten evaluation languages form the group; te is in the data but not in the study.
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)
# The languages the study's table reports for this benchmark: a named subgroup.
SUBGROUP = f"{FAMILY}_enzhde"
SUBGROUP_LANGUAGES = ("en", "zh", "de")

load_test = taskkit.dataset_hook(load_gpqa_diamond)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)
    # Named without the leading underscore of a family's group file, so that `harness eval
    # --tasks <subgroup>` finds it as it finds a single task of the family.
    path = taskkit.write_group_yaml(folder, SUBGROUP, SUBGROUP_LANGUAGES, version=VERSION, task_prefix=FAMILY)
    path.replace(folder / f"{SUBGROUP}.yaml")


if __name__ == "__main__":
    generate()
