"""toy_xling: the held-out split of the built-in toy corpus (harness.data.toy) in the study's ten
languages, zero-shot with the answer in \\boxed{}. Offline by construction: the embedded default
that `harness train --model tiny` learns on, evaluated the way MGSM is.

lm-eval calls the functions below through ``!function utils.<name>``. Run ``python utils.py`` to
regenerate the per-language YAML files and the group file.
"""

from __future__ import annotations

from pathlib import Path

from harness.eval import taskkit

FAMILY = "toy_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")
EXTRA_LANGUAGES = ()
PROBLEMS = 100
"""Held-out problems per language (the same problems, parallel across languages)."""


def load_toy(lang: str, root: Path | None) -> list[dict]:
    from harness.data.toy import toy_corpus

    return [{"id": r["id"], "lang": lang, "question": r["question"], "answer": r["answer"], "kind": "number"}
            for r in toy_corpus([lang], n=PROBLEMS, seed=0, split="test")]


load_test = taskkit.dataset_hook(load_toy)
doc_to_text = taskkit.doc_to_text
process_results = taskkit.process_results


def generate(folder: Path = Path(__file__).resolve().parent) -> None:
    taskkit.write_task_yamls(folder, FAMILY, GROUP_LANGUAGES + EXTRA_LANGUAGES, common=f"{FAMILY}_common_yaml")
    taskkit.write_group_yaml(folder, FAMILY, GROUP_LANGUAGES, version=VERSION)


if __name__ == "__main__":
    generate()
