"""mgsm_xling: MGSM in 11 languages, zero-shot chain of thought with the answer in \\boxed{}.

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import load_mgsm
from harness.eval import taskkit

FAMILY = "mgsm_xling"
VERSION = 1.0
# The study's ten languages form the group; Telugu is an extra task outside it.
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)

load_test = taskkit.dataset_hook(load_mgsm)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
