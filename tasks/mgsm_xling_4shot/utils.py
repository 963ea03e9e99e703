"""mgsm_xling_4shot: mgsm_xling with 4 native exemplars (a robustness check in the study).

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.sources import data_dir as resolve_data_dir, load_mgsm, load_mgsm_exemplars, to_dataset_dict, with_fields
from harness.eval import taskkit

FAMILY = "mgsm_xling_4shot"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)


def load_with_exemplars(lang: str, data_dir: str | None = None, consistency: bool = False, **_):
    """The test problems, and the exemplars as the ``train`` split lm-eval samples shots from."""
    root = resolve_data_dir(data_dir)
    extra = {"consistency": bool(consistency)}
    return to_dataset_dict({
        "test": with_fields(load_mgsm(lang, root), **extra),
        "train": with_fields(load_mgsm_exemplars(lang, root), **extra),
    })


def exemplar_target(doc: dict) -> str:
    """An exemplar's answer turn: its native chain of thought, final number boxed."""
    return doc["target"]


doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
