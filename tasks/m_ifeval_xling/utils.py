"""m_ifeval_xling: instruction following, scored with lm-eval's IFEval checkers.

English is Google's IFEval; Spanish, French and Japanese are M-IFEval (lightblue). The prompt is
the dataset's own (not the shared math prompt). lm-eval's checkers are English ones: an M-IFEval
instruction counts as *checkable* only where lm-eval's checker reads the same markers and the same
arguments as M-IFEval's own checker for that language (``CHECKABLE``). A prompt with any other
instruction is left out of the task, and the number left out is logged at load time
(``coverage()`` gives it too). See README.md for the reasons, per instruction."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.data.sources import load_m_ifeval
from harness.eval import taskkit

FAMILY = "m_ifeval_xling"
VERSION = 1.0
GROUP_LANGUAGES = ("en", "es", "fr", "ja")
EXTRA_LANGUAGES: tuple[str, ...] = ()
METRICS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc")

log = logging.getLogger(__name__)

# Checks whose markers do not depend on the language ([placeholders], ******, ***, a JSON body,
# P.S., an end phrase, the prompt repeated, a keyword as a substring, langdetect's language code).
_NEUTRAL = frozenset({
    "combination:repeat_prompt", "combination:two_responses", "detectable_content:number_placeholders",
    "detectable_content:postscript", "detectable_format:json_format", "keywords:existence",
    "language:response_language", "length_constraints:number_paragraphs", "startend:end_checker",
})
# Latin-script checks that M-IFEval's French and Spanish checkers run exactly as lm-eval's do.
_LATIN = frozenset({
    "detectable_format:multiple_sections", "detectable_format:number_highlighted_sections",
    "keywords:forbidden_words", "punctuation:no_comma",
})
CHECKABLE: dict[str, frozenset[str] | None] = {
    "en": None,  # every instruction lm-eval registers (IFEval is what its checkers were written for)
    "es": _NEUTRAL | _LATIN,
    "fr": _NEUTRAL | _LATIN | {"detectable_format:number_bullet_lists"},  # es counts only '*' bullets
    "ja": _NEUTRAL,
}
NEEDS_PUNKT = frozenset({"length_constraints:number_sentences", "change_case:capital_word_frequency"})
"""lm-eval's checkers that call nltk's punkt_tab tokenizer: data that must be downloaded."""


# --- lm-eval's IFEval scoring --------------------------------------------------------------------


def punkt_available() -> bool:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab")
        return True
    except LookupError:
        return False


@functools.cache
def ifeval_scoring():
    """``lm_eval.tasks.ifeval.utils``, imported without its download of nltk data.

    Importing lm-eval's IFEval helpers calls ``nltk.download("punkt_tab")`` when the data is
    missing; evaluation must not reach the network, so that call is a no-op here and the
    instructions that need punkt are left out instead (``NEEDS_PUNKT``).
    """
    import contextlib
    import io

    import nltk

    real_download = nltk.download
    nltk.download = lambda *args, **kwargs: False
    try:  # lm-eval prints "Downloaded punkt_tab" even when nothing was: keep that line out
        with contextlib.redirect_stdout(io.StringIO()):
            from lm_eval.tasks.ifeval import utils
    except ImportError as exc:
        from harness.core.errors import UserError

        raise UserError(f"m_ifeval_xling needs lm-eval's IFEval extras ({exc.name} is missing): "
                        "pip install 'lm-eval[ifeval]'") from None
    finally:
        nltk.download = real_download
    return utils


def checker_id(instruction_id: str, lang: str) -> str:
    """M-IFEval's 'fr:keywords:existence' -> lm-eval's 'keywords:existence'."""
    prefix = f"{lang}:"
    return instruction_id[len(prefix):] if instruction_id.startswith(prefix) else instruction_id


def checkable_ids(lang: str) -> frozenset[str]:
    registered = frozenset(ifeval_scoring().instructions_registry.INSTRUCTION_DICT)
    allowed = registered if CHECKABLE[lang] is None else registered & CHECKABLE[lang]
    return allowed if punkt_available() else allowed - NEEDS_PUNKT


def unsupported(row: dict) -> list[str]:
    """The row's instruction ids (as the dataset writes them) that this task cannot check."""
    allowed = checkable_ids(row["lang"])
    return [i for i in row["instruction_id_list"] if checker_id(i, row["lang"]) not in allowed]


def coverage(lang: str, data_dir: str | Path | None = None) -> dict[str, Any]:
    """How many prompts of ``lang`` are scored, how many are left out, and which ids cause it."""
    from harness.data.sources import data_dir as resolve

    rows = load_m_ifeval(lang, resolve(data_dir))
    missing = [unsupported(r) for r in rows]
    ids = sorted({i for m in missing for i in m})
    return {"prompts": len(rows), "scored": sum(1 for m in missing if not m),
            "left_out": sum(1 for m in missing if m), "unsupported_ids": ids}


# --- lm-eval hooks -------------------------------------------------------------------------------


def load_checkable(lang: str, root: Path | None) -> list[dict]:
    rows = load_m_ifeval(lang, root)
    kept = [r for r in rows if not unsupported(r)]
    if len(kept) < len(rows):
        ids = sorted({i for r in rows for i in unsupported(r)})
        log.warning("m_ifeval_xling_%s: %d of %d prompts left out: instructions lm-eval cannot check here (%s)",
                    lang, len(rows) - len(kept), len(rows), ", ".join(ids))
    return kept


load_test = taskkit.dataset_hook(load_checkable)


def doc_to_text(doc: dict) -> str:
    """The dataset's own prompt: instruction following is not a boxed-answer problem."""
    return doc["prompt"]


@taskkit.per_language  # the Gen task's documents get per-language items
def process_results(doc: dict, results: Sequence[str]) -> dict[str, Any]:
    """lm-eval's IFEval metrics (strict and loose, per prompt and per instruction)."""
    lang = doc["lang"]
    ifeval_doc = {"key": doc["key"], "prompt": doc["prompt"], "kwargs": json.loads(doc["kwargs_json"]),
                  "instruction_id_list": [checker_id(i, lang) for i in doc["instruction_id_list"]]}
    return ifeval_scoring().process_results(ifeval_doc, results)


def agg_inst_level_acc(items: Sequence[Sequence[bool]]) -> float:
    flat = [x for item in items for x in item]
    return sum(flat) / len(flat) if flat else 0.0
