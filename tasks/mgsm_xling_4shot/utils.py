"""mgsm_xling_4shot: mgsm_xling with 4 native exemplars (a robustness check in the study)."""

from __future__ import annotations

from harness.data.sources import data_dir as resolve_data_dir, load_mgsm, load_mgsm_exemplars, to_dataset_dict, with_fields
from harness.eval import taskkit

FAMILY = "mgsm_xling_4shot"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ("te",)
# No mgsm_xling_4shot_gen: lm-eval's few-shot sampler does not see the document it serves, so one
# task over all languages would give every language the same exemplars, not its own.
GEN_TASK = False


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


