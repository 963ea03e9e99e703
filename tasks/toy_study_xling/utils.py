"""toy_study_xling: the toy study's benchmark (harness.data.toy.toy_study_corpus, test split), 250
one-operation word problems per language, parallel across the study's ten languages (one id per
problem in every language, so paired bootstraps resample them jointly), zero-shot chain of thought
with the answer in \\boxed{}, as mgsm_xling. Disjoint from the pretraining text of ``tiny-base`` and
from the training data (``--data toy_study``). Offline by construction.

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.eval import taskkit

FAMILY = "toy_study_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ()
PROBLEMS = 250
"""Held-out problems per language (the same problems, parallel across languages), as MGSM."""


def load_study(lang: str, root: Path | None) -> list[dict]:
    from harness.data.toy import toy_study_corpus

    return [{"id": r["id"], "lang": lang, "question": r["question"], "answer": r["answer"], "kind": "number"}
            for r in toy_study_corpus([lang], n=PROBLEMS, seed=0, split="test")]


load_test = taskkit.dataset_hook(load_study)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
