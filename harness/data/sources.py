"""Benchmark data and training corpora: from the Hugging Face hub, or from a local mirror.

Every source is one entry of :data:`SOURCES`: its hub dataset (id, configuration, split, or one
file of the repository) and its path inside the mirror. :func:`read_source` is the one reader: it
reads the mirror when there is one (the ``data_dir`` argument, else ``$HARNESS_DATA_DIR``) and
the hub otherwise. Mirror paths are always resolved against the mirror directory, never against
the working directory: lm-eval resolves relative ``data_files`` against the CWD, a trap this
avoids.

A benchmark loader returns plain rows in one schema for all benchmarks::

    {"id": str, "lang": str, "question": str, "answer": str, "kind": "number"|"math"|"choice", ...}

``answer`` is the gold answer as the data writes it. Each one is parsed with
:func:`harness.grading.parse_gold` at load time, so an unparsable gold answer stops the load with
the file and row named, instead of grading silently (wrongly) later.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.files import json_error, read_jsonl, read_text  # read_jsonl: one reader, re-exported here

DATA_DIR_ENV = "HARNESS_DATA_DIR"


class DataError(UserError):
    """Benchmark data that is missing or malformed."""


@dataclass(frozen=True)
class Source:
    """Where one data source lives: a hub dataset and a file inside a mirror.

    In ``mirror``, ``config``, ``split`` and ``hub_file``, ``{lang}`` (benchmarks) and ``{split}``
    (training corpora) are replaced by what the caller asks for.
    """

    hf_id: str
    mirror: str
    """Path inside the mirror directory; its suffix says how it is read (see :func:`read_rows`)."""
    config: str | None = None
    """The hub dataset's configuration (``datasets.load_dataset(hf_id, config)``), if it has several."""
    split: str | None = None
    hub_file: str | None = None
    """A JSON(-lines) file of the hub repository to read instead of its configurations and splits
    (where those do not give one language's rows)."""
    columns: tuple[str, ...] = ("question", "answer")
    """The column names of a mirror TSV file (no header)."""
    note: str = ""
    licence: str = ""
    training: bool = False
    """A training corpus: ``--data NAME`` reads it (see :mod:`harness.data.corpora`)."""

    def fill(self, template: str | None, lang: str | None, split: str | None) -> str | None:
        return None if template is None else template.format(lang=lang, split=split)


SOURCES: dict[str, Source] = {
    "mgsm": Source("juletxara/mgsm", "mgsm/mgsm_{lang}.tsv", config="{lang}", split="test",
                   columns=("question", "answer_number"),
                   note="question TAB answer, no header", licence="CC-BY-4.0 (the hub's card: CC-BY-SA-4.0)"),
    "mgsm_exemplars": Source("juletxara/mgsm", "mgsm/exemplars.json", config="{lang}", split="train",
                             note="train split of the hub dataset", licence="CC-BY-4.0"),
    # The hub repository mirrors the GitHub layout (mmath/<lang>.json); not verified offline.
    "mmath": Source("RUCAIBox/MMATH", "mmath/{lang}.json", hub_file="mmath/{lang}.json",
                    note="list of {question, answer, data_source, ...}"),
    "aime2024": Source("shanchen/aime_2024_multilingual", "xreasoning/aime2024_{lang}.jsonl", split="{lang}"),
    "gpqa_diamond": Source("shanchen/gpqa_diamond_mc_multilingual", "xreasoning/gpqa_diamond_mc_{lang}.jsonl",
                           split="{lang}", licence="CC-BY-4.0 (GPQA)"),
    "mmlu_prox_lite": Source("li-lab/MMLU-ProX-Lite", "mmlu_prox_lite/{lang}.jsonl", config="{lang}", split="test",
                             note="rows of the hub's test split"),
    "mlogiqa": Source("Qwen/P-MMEval", "mlogiqa/{lang}.jsonl", hub_file="mlogiqa/test/{lang}.jsonl",
                      note="rows of the hub's mlogiqa/test/<lang>.jsonl: context, question, option_1..option_4, "
                           "answer (index 0-3)"),
    # The hub repository is assumed to mirror the GitHub layout (data/<lang>_input_data.jsonl).
    "m_ifeval": Source("lightblue/M-IFEval", "m_ifeval/{lang}.jsonl", hub_file="data/{lang}_input_data.jsonl",
                       note="rows of data/<lang>_input_data.jsonl: key, prompt, instruction_id_list, kwargs"),
    "ifeval": Source("google/IFEval", "m_ifeval/{lang}.jsonl", split="train",
                     note="rows of the hub's train split: key, prompt, instruction_id_list, kwargs"),
    "gsm8k": Source("openai/gsm8k", "gsm8k/{split}.jsonl", config="main", split="{split}", licence="MIT",
                    training=True),
    "gsm8k_parallel": Source("Mathoctopus/GSM8KInstruct_Parallel", "gsm8k_parallel/MGSM8KInstruct_Parallel.json",
                             split="{split}", training=True),
    "luffy": Source("Elliott/Openr1-Math-46k-8192", "luffy/{split}.jsonl", split="{split}", training=True),
}


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The mirror directory to read: ``explicit``, else ``$HARNESS_DATA_DIR``, else None (the hub)."""
    value = explicit if explicit not in (None, "") else os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist (from {'--data-dir' if explicit else DATA_DIR_ENV})")
    return path


# --- the one reader ------------------------------------------------------------------------------


def read_source(name: str, root: Path | None, *, lang: str | None = None,
                split: str | None = None) -> tuple[Any, str]:
    """(rows, where they come from) of source ``name`` for ``lang`` or ``split``: the mirror file
    under ``root``, or the hub when ``root`` is None."""
    if root is not None:
        path = mirror_file(name, root, lang=lang, split=split)
        return read_rows(path, SOURCES[name].columns), str(path)
    return from_hub(name, lang=lang, split=split), _hub_label(name, lang, split)


def mirror_file(name: str, root: Path, *, lang: str | None = None, split: str | None = None) -> Path:
    """The mirror file of ``name`` (for ``lang`` or ``split``), or a DataError naming the path and hub id."""
    spec = SOURCES[name]
    path = root / spec.fill(spec.mirror, lang, split)
    if not path.is_file():
        which = f" ({lang or split})" if lang or split else ""
        raise DataError(f"missing data file {path}: expected the mirror of {spec.hf_id}{which} there "
                        f"({spec.mirror}{'; ' + spec.note if spec.note else ''})")
    return path


def from_hub(name: str, *, lang: str | None = None, split: str | None = None) -> list[dict]:
    """The rows of ``name`` from the hub, with an error that says how to work offline."""
    import datasets

    spec = SOURCES[name]
    try:
        if spec.hub_file:
            url = f"hf://datasets/{spec.hf_id}/{spec.fill(spec.hub_file, lang, split)}"
            return list(datasets.load_dataset("json", data_files={"test": url}, split="test"))
        return list(datasets.load_dataset(spec.hf_id, spec.fill(spec.config, lang, split),
                                          split=spec.fill(spec.split, lang, split)))
    except Exception as exc:  # offline, missing config or file, hub errors: all end the same way
        raise DataError(
            f"could not load {_hub_label(name, lang, split)} from the Hugging Face hub ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); to work offline, point --data-dir or "
            f"{DATA_DIR_ENV} at a mirror holding {spec.fill(spec.mirror, lang, split)}"
        ) from exc


def _hub_label(name: str, lang: str | None, split: str | None) -> str:
    spec = SOURCES[name]
    parts = [spec.fill(t, lang, split) for t in (spec.hub_file, spec.config, spec.split)]
    return f"{spec.hf_id} ({', '.join(p for p in parts if p)})" if any(parts) else spec.hf_id


# --- files ---------------------------------------------------------------------------------------


def read_rows(path: Path, columns: tuple[str, ...] = ("question", "answer")) -> Any:
    """The rows of a data file, by its suffix: ``.jsonl``; ``.json`` (one JSON value, or JSON
    lines); ``.tsv`` without header (``columns`` names its two columns); ``.parquet``."""
    if path.suffix == ".parquet":
        from datasets import Dataset

        try:
            return list(Dataset.from_parquet(str(path)))
        except ValueError as exc:  # pyarrow's ArrowInvalid: not parquet, or cut off
            raise DataError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    if path.suffix == ".tsv":
        return [dict(zip(columns, pair)) for pair in read_tsv_pairs(path)]
    if path.suffix == ".json":
        text = read_text(path, "data file")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":  # several values: JSON lines under a .json name
                raise json_error(path, text, exc) from None
    return read_jsonl(path)


def read_tsv_pairs(path: Path) -> list[tuple[str, str]]:
    """Rows of a ``question TAB answer`` file without header (the MGSM mirror's layout)."""
    pairs = []
    for number, line in enumerate(read_text(path, "data file").splitlines(), 1):
        if not line.strip():
            continue
        question, sep, answer = line.rpartition("\t")
        if not sep or not question.strip() or not answer.strip():
            raise DataError(f"{path}:{number}: expected 'question<TAB>answer'")
        pairs.append((question, answer.strip()))
    return pairs


def check_golds(rows: list[dict], where: str) -> list[dict]:
    """Parse every gold answer now; an unparsable one is a data error naming its row."""
    from harness.grading import GoldAnswerError, parse_gold

    for row in rows:
        try:
            parse_gold(row["answer"], row["kind"])
        except GoldAnswerError as exc:
            raise DataError(f"{where}: gold answer {row['answer']!r} of row {row['id']} is not a valid "
                            f"{row['kind']} answer ({exc})") from None
    return rows


# --- MGSM ----------------------------------------------------------------------------------------


def load_mgsm(lang: str, root: Path | None) -> list[dict]:
    """The 250 MGSM test problems of one language."""
    data, where = read_source("mgsm", root, lang=lang)
    rows = [{"id": f"mgsm-{i}", "lang": lang, "question": r["question"], "answer": str(r["answer_number"]),
             "kind": "number"} for i, r in enumerate(data)]
    return check_golds(rows, where)


_PREFIX = re.compile(r"^[^:：\n]{1,40}?\s*[:：]\s*")


def _strip_label(text: str) -> str:
    """'Frage: Roger hat ...' -> 'Roger hat ...' (the exemplars carry a localized label)."""
    return _PREFIX.sub("", text.strip(), count=1)


def boxed_exemplar_answer(cot: str, number: int | str) -> str:
    """An exemplar's chain of thought with its final number boxed, as the prompt asks.

    'The answer is 11.' becomes 'The answer is \\boxed{11}.'; if the number is not found at the
    end, the boxed answer is appended.
    """
    cot, number = _strip_label(cot), str(number)
    at = cot.rfind(number)
    if at >= 0 and at >= len(cot) - len(number) - 12:
        return f"{cot[:at]}\\boxed{{{number}}}{cot[at + len(number):]}"
    return f"{cot} \\boxed{{{number}}}"


def _exemplar_triples(data: Any, where: str, lang: str) -> list[tuple[str, str, Any]]:
    """(question, chain of thought, number) of each exemplar: the hub's train rows, or the
    mirror's one file for every language (google-research's exemplars.py as JSON)."""
    if not isinstance(data, dict):
        return [(r["question"], r["answer"], r["answer_number"]) for r in data]
    try:
        numbers, shots = data["EXEMPLAR_NUMBER_ANSWERS"], data["MGSM_EXEMPLARS"][lang]
        return [(shots[str(i + 1)]["q"], shots[str(i + 1)]["a"], numbers[i]) for i in range(len(numbers))]
    except (KeyError, IndexError, TypeError) as exc:
        raise DataError(f"{where}: no exemplars for language {lang!r} ({exc!r})") from None


def load_mgsm_exemplars(lang: str, root: Path | None) -> list[dict]:
    """The 8 native MGSM exemplars of one language, each with ``target``: the CoT, boxed."""
    raw = _exemplar_triples(*read_source("mgsm_exemplars", root, lang=lang), lang)
    return [{"id": f"mgsm-train-{i}", "lang": lang, "question": _strip_label(q), "answer": str(n),
             "kind": "number", "target": boxed_exemplar_answer(a, n)} for i, (q, a, n) in enumerate(raw)]


# --- MMATH, AIME 2024, GPQA-Diamond --------------------------------------------------------------

MMATH_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th", "ar", "ko", "pt", "vi")


def load_mmath(lang: str, root: Path | None, subset: str = "MATH500") -> list[dict]:
    """MMATH problems of one language and source (MATH500: 311 problems per language)."""
    data, where = read_source("mmath", root, lang=lang)
    rows = [{"id": f"mmath-{r['data_source']}-{r['data_source_id']}", "lang": lang, "question": r["question"],
             "answer": str(r["answer"]), "kind": "math", "source": r["data_source"]}
            for r in data if r["data_source"] == subset]
    if not rows:
        raise DataError(f"{where}: no problems of subset {subset!r}")
    return check_golds(rows, where)


def load_aime2024(lang: str, root: Path | None) -> list[dict]:
    """The 30 AIME 2024 problems, translated (integer answers 0-999)."""
    data, where = read_source("aime2024", root, lang=lang)
    rows = [{"id": f"aime2024-{r['id']}", "lang": lang, "question": r["problem"], "answer": str(r["answer"]),
             "kind": "number"} for r in data]
    return check_golds(rows, where)


_BOXED_LETTER = re.compile(r"\\boxed\{\s*([A-J])\s*\}")


def load_gpqa_diamond(lang: str, root: Path | None) -> list[dict]:
    """The 198 GPQA-Diamond multiple-choice problems (options inside the problem text)."""
    data, where = read_source("gpqa_diamond", root, lang=lang)
    rows = []
    for i, r in enumerate(data):
        match = _BOXED_LETTER.search(r["solution"] or "")
        if not match:
            raise DataError(f"{where}: row {i} has no \\boxed{{LETTER}} solution ({r['solution']!r})")
        rows.append({"id": f"gpqa-{i}", "lang": lang, "question": r["problem"], "answer": match.group(1),
                     "kind": "choice", "domain": r.get("domain") or ""})
    return check_golds(rows, where)


# --- MMLU-ProX-Lite ------------------------------------------------------------------------------

OPTION_LETTERS = "ABCDEFGHIJ"


def _prox_labels(lang: str) -> tuple[str, str]:
    """'Question:' and 'Options:' as lm-eval's own MMLU-ProX tasks write them in ``lang``."""
    try:
        from lm_eval.tasks.mmlu_prox.lang_libs import LANG_LIBS

        words = LANG_LIBS.get(lang) or LANG_LIBS["en"]
        return words[0], words[1]
    except (ImportError, KeyError, IndexError):
        return "Question:", "Options:"


def format_choices(question: str, options: Iterable[str], labels: tuple[str, str]) -> str:
    lines = [labels[0], question.strip(), labels[1]]
    lines += [f"{letter}. {option}" for letter, option in zip(OPTION_LETTERS, options)]
    return "\n".join(lines)


def load_mmlu_prox_lite(lang: str, root: Path | None) -> list[dict]:
    """MMLU-ProX-Lite test questions of one language (up to ten options each)."""
    data, where = read_source("mmlu_prox_lite", root, lang=lang)
    labels, rows = _prox_labels(lang), []
    for i, r in enumerate(data):
        options = [r[f"option_{k}"] for k in range(10) if r.get(f"option_{k}") not in (None, "")]
        answer = str(r["answer"]).strip()
        if answer not in OPTION_LETTERS[: len(options)] or ("answer_index" in r and OPTION_LETTERS[int(r["answer_index"])] != answer):
            raise DataError(f"{where}: row {i} has answer {r['answer']!r} (index {r.get('answer_index')!r}) "
                            f"for {len(options)} options")
        rows.append({"id": f"mmlu-prox-{r.get('question_id', i)}", "lang": lang,
                     "question": format_choices(r["question"], options, labels), "answer": answer,
                     "kind": "choice", "category": str(r.get("category") or "")})
    return check_golds(rows, where)


# --- multilingual LogiQA (P-MMEval mlogiqa), M-IFEval and IFEval ---------------------------------

MLOGIQA_LANGUAGES = ("en", "zh", "ar", "es", "fr", "ja", "ko", "pt", "th", "vi")
M_IFEVAL_LANGUAGES = ("en", "es", "fr", "ja")
"""English is Google's IFEval (what M-IFEval compares against); es fr ja are M-IFEval's own."""


def _mlogiqa_answer(value: Any, n_options: int) -> str | None:
    """The gold letter of an mlogiqa row: ``answer`` is the option's 0-based index (int or digits)."""
    text = str(value).strip()
    if not text.isdigit() or int(text) >= n_options:
        return None
    return OPTION_LETTERS[int(text)]


def load_mlogiqa(lang: str, root: Path | None) -> list[dict]:
    """P-MMEval's multilingual LogiQA (80 questions per language, four options each)."""
    data, where = read_source("mlogiqa", root, lang=lang)
    labels, rows = _prox_labels(lang), []
    for i, r in enumerate(data):
        options = [r.get(f"option_{k}") for k in range(1, 5)]
        missing = [k for k in ("context", "question", "answer") if r.get(k) in (None, "")]
        if missing or any(o in (None, "") for o in options):
            raise DataError(f"{where}: row {i} lacks {', '.join(missing) or 'one of option_1..option_4'}")
        answer = _mlogiqa_answer(r["answer"], len(options))
        if answer is None:
            raise DataError(f"{where}: row {i} has answer {r['answer']!r}, not an option index 0-3")
        question = f"{str(r['context']).strip()}\n\n{format_choices(str(r['question']), options, labels)}"
        rows.append({"id": f"mlogiqa-{i}", "lang": lang, "question": question, "answer": answer, "kind": "choice"})
    return check_golds(rows, where)


def load_m_ifeval(lang: str, root: Path | None) -> list[dict]:
    """Instruction-following prompts: M-IFEval (es fr ja) or Google's IFEval (en), every row.

    Each row keeps the dataset's ``key``, ``prompt`` and ``instruction_id_list`` (M-IFEval's ids
    carry a language prefix, ``fr:keywords:existence``); ``kwargs`` is stored as JSON text, since
    the instructions' arguments differ in keys and types from row to row. Which instructions can
    be checked is the task's business (``tasks/m_ifeval_xling``), not the loader's.
    """
    data, where = read_source("ifeval" if lang == "en" else "m_ifeval", root, lang=lang)
    rows = []
    for i, r in enumerate(data):
        ids, kwargs = list(r.get("instruction_id_list") or []), list(r.get("kwargs") or [])
        if not ids or len(ids) != len(kwargs) or not str(r.get("prompt") or "").strip() or "key" not in r:
            raise DataError(f"{where}: row {i} needs key, prompt and one kwargs entry per instruction id "
                            f"({len(ids)} ids, {len(kwargs)} kwargs)")
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
        rows.append({"id": f"m-ifeval-{int(r['key'])}", "lang": lang, "key": int(r["key"]), "prompt": r["prompt"],
                     "instruction_id_list": ids, "kwargs_json": json.dumps(kwargs, ensure_ascii=False)})
    return rows


# --- helpers for lm-eval -------------------------------------------------------------------------


def to_dataset_dict(splits: dict[str, list[dict]]):
    """Rows per split as the ``datasets.DatasetDict`` lm-eval's ``custom_dataset`` must return."""
    import datasets

    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


def with_fields(rows: Iterable[dict], **fields: Any) -> list[dict]:
    return [{**row, **fields} for row in rows]
