"""Benchmark data for the evaluation tasks: from the Hugging Face hub, or from a local mirror.

Every loader reads a local mirror directory when one is given (the ``data_dir`` argument, else
``$HARNESS_DATA_DIR``) and the hub otherwise. Paths inside the mirror are fixed (see ``SOURCES``)
and always resolved against the mirror directory, never against the working directory: lm-eval
resolves relative ``data_files`` against the CWD, a trap these loaders avoid.

A loader returns plain rows in one schema for all benchmarks::

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

from harness.errors import UserError

DATA_DIR_ENV = "HARNESS_DATA_DIR"


class DataError(UserError):
    """Benchmark data that is missing or malformed."""


@dataclass(frozen=True)
class Source:
    """Where one benchmark's data lives: a hub dataset and a file pattern inside a mirror."""

    hf_id: str
    mirror: str
    """Path inside the mirror directory; ``{lang}`` (benchmarks) or ``{split}`` (training corpora)
    is replaced."""
    note: str = ""
    config: str | None = None
    """The hub dataset's configuration (``datasets.load_dataset(hf_id, config)``), if it has several."""


SOURCES: dict[str, Source] = {
    "mgsm": Source("juletxara/mgsm", "mgsm/mgsm_{lang}.tsv", "question TAB answer, no header"),
    "mgsm_exemplars": Source("juletxara/mgsm", "mgsm/exemplars.json", "train split of the hub dataset"),
    "mmath": Source("RUCAIBox/MMATH", "mmath/{lang}.json", "list of {question, answer, data_source, ...}"),
    "aime2024": Source("shanchen/aime_2024_multilingual", "xreasoning/aime2024_{lang}.jsonl"),
    "gpqa_diamond": Source("shanchen/gpqa_diamond_mc_multilingual", "xreasoning/gpqa_diamond_mc_{lang}.jsonl"),
    "mmlu_prox_lite": Source("li-lab/MMLU-ProX-Lite", "mmlu_prox_lite/{lang}.jsonl", "rows of the hub's test split"),
    # Training corpora (``--data NAME``, read by harness.corpora): one table for every hub+mirror source.
    "gsm8k": Source("openai/gsm8k", "gsm8k/{split}.jsonl", config="main"),
    "gsm8k_parallel": Source("Mathoctopus/GSM8KInstruct_Parallel", "gsm8k_parallel/MGSM8KInstruct_Parallel.json"),
    "luffy": Source("Elliott/Openr1-Math-46k-8192", "luffy/{split}.jsonl"),
}
TRAINING_SOURCES = ("gsm8k", "gsm8k_parallel", "luffy")


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The mirror directory to read: ``explicit``, else ``$HARNESS_DATA_DIR``, else None (the hub)."""
    value = explicit if explicit not in (None, "") else os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist (from {'--data-dir' if explicit else DATA_DIR_ENV})")
    return path


def mirror_file(source: str, root: Path, lang: str | None = None) -> Path:
    """The mirror file of ``source`` (for ``lang``), or a DataError naming the path and hub id."""
    spec = SOURCES[source]
    path = root / spec.mirror.format(lang=lang)
    if not path.is_file():
        raise DataError(
            f"missing data file {path}: expected the mirror of {spec.hf_id}"
            f"{f' ({lang})' if lang else ''} there ({spec.mirror}{'; ' + spec.note if spec.note else ''})"
        )
    return path


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    from harness.files import read_text

    for number, line in enumerate(read_text(path, "data file").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return rows


def read_json(path: Path) -> Any:
    try:
        from harness.files import read_text

        return json.loads(read_text(path, "data file"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def read_tsv_pairs(path: Path) -> list[tuple[str, str]]:
    """Rows of a ``question TAB answer`` file without header (the MGSM mirror's layout)."""
    from harness.files import read_text

    pairs = []
    for number, line in enumerate(read_text(path, "data file").splitlines(), 1):
        if not line.strip():
            continue
        question, sep, answer = line.rpartition("\t")
        if not sep or not question.strip() or not answer.strip():
            raise DataError(f"{path}:{number}: expected 'question<TAB>answer'")
        pairs.append((question, answer.strip()))
    return pairs


def from_hub(source: str, *, name: str | None = None, split: str | None = None, **kwargs: Any):
    """``datasets.load_dataset`` for ``source``, with an error that says how to work offline."""
    import datasets

    spec = SOURCES[source]
    try:
        return datasets.load_dataset(spec.hf_id, name=name, split=split, **kwargs)
    except Exception as exc:  # offline, missing config, hub errors: all end the same way
        where = ", ".join(x for x in (name and f"config {name}", split and f"split {split}") if x)
        raise DataError(
            f"could not load {spec.hf_id}{f' ({where})' if where else ''} from the Hugging Face hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); to work offline, "
            f"point --data-dir or {DATA_DIR_ENV} at a mirror holding {spec.mirror}"
        ) from exc


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
    if root is not None:
        path = mirror_file("mgsm", root, lang)
        pairs, where = read_tsv_pairs(path), str(path)
    else:
        ds = from_hub("mgsm", name=lang, split="test")
        pairs, where = [(r["question"], str(r["answer_number"])) for r in ds], f"juletxara/mgsm ({lang})"
    rows = [{"id": f"mgsm-{i}", "lang": lang, "question": q, "answer": a, "kind": "number"}
            for i, (q, a) in enumerate(pairs)]
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


def load_mgsm_exemplars(lang: str, root: Path | None) -> list[dict]:
    """The 8 native MGSM exemplars of one language, each with ``target``: the CoT, boxed."""
    if root is not None:
        path = mirror_file("mgsm_exemplars", root)
        data = read_json(path)
        try:
            numbers = data["EXEMPLAR_NUMBER_ANSWERS"]
            shots = data["MGSM_EXEMPLARS"][lang]
            raw = [(shots[str(i + 1)]["q"], shots[str(i + 1)]["a"], numbers[i]) for i in range(len(numbers))]
        except (KeyError, IndexError, TypeError) as exc:
            raise DataError(f"{path}: no exemplars for language {lang!r} ({exc!r})") from None
    else:
        ds = from_hub("mgsm", name=lang, split="train")
        raw = [(r["question"], r["answer"], r["answer_number"]) for r in ds]
    return [{"id": f"mgsm-train-{i}", "lang": lang, "question": _strip_label(q), "answer": str(n),
             "kind": "number", "target": boxed_exemplar_answer(a, n)} for i, (q, a, n) in enumerate(raw)]


# --- MMATH, AIME 2024, GPQA-Diamond --------------------------------------------------------------

MMATH_LANGUAGES = ("en", "zh", "es", "fr", "ja", "th", "ar", "ko", "pt", "vi")


def load_mmath(lang: str, root: Path | None, subset: str = "MATH500") -> list[dict]:
    """MMATH problems of one language and source (MATH500: 311 problems per language)."""
    if root is not None:
        path = mirror_file("mmath", root, lang)
        data, where = read_json(path), str(path)
    else:
        # The hub repository mirrors the GitHub layout (mmath/<lang>.json); not verified offline.
        data = from_hub("mmath", data_files={"test": SOURCES["mmath"].mirror.format(lang=lang)}, split="test")
        where = f"RUCAIBox/MMATH ({lang})"
    rows = [{"id": f"mmath-{r['data_source']}-{r['data_source_id']}", "lang": lang, "question": r["question"],
             "answer": str(r["answer"]), "kind": "math", "source": r["data_source"]}
            for r in data if r["data_source"] == subset]
    if not rows:
        raise DataError(f"{where}: no problems of subset {subset!r}")
    return check_golds(rows, where)


def load_aime2024(lang: str, root: Path | None) -> list[dict]:
    """The 30 AIME 2024 problems, translated (integer answers 0-999)."""
    if root is not None:
        path = mirror_file("aime2024", root, lang)
        data, where = read_jsonl(path), str(path)
    else:
        data, where = from_hub("aime2024", split=lang), f"shanchen/aime_2024_multilingual ({lang})"
    rows = [{"id": f"aime2024-{r['id']}", "lang": lang, "question": r["problem"], "answer": str(r["answer"]),
             "kind": "number"} for r in data]
    return check_golds(rows, where)


_BOXED_LETTER = re.compile(r"\\boxed\{\s*([A-J])\s*\}")


def load_gpqa_diamond(lang: str, root: Path | None) -> list[dict]:
    """The 198 GPQA-Diamond multiple-choice problems (options inside the problem text)."""
    if root is not None:
        path = mirror_file("gpqa_diamond", root, lang)
        data, where = read_jsonl(path), str(path)
    else:
        data, where = from_hub("gpqa_diamond", split=lang), f"shanchen/gpqa_diamond_mc_multilingual ({lang})"
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
    if root is not None:
        path = mirror_file("mmlu_prox_lite", root, lang)
        data, where = read_jsonl(path), str(path)
    else:
        data, where = from_hub("mmlu_prox_lite", name=lang, split="test"), f"li-lab/MMLU-ProX-Lite ({lang})"
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


# --- helpers for lm-eval -------------------------------------------------------------------------


def to_dataset_dict(splits: dict[str, list[dict]]):
    """Rows per split as the ``datasets.DatasetDict`` lm-eval's ``custom_dataset`` must return."""
    import datasets

    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


def with_fields(rows: Iterable[dict], **fields: Any) -> list[dict]:
    return [{**row, **fields} for row in rows]



# --- multilingual LogiQA (P-MMEval mlogiqa), M-IFEval and IFEval ---------------------------------
# Appended as one block: the sources are registered here, beside their loaders.

SOURCES["mlogiqa"] = Source("Qwen/P-MMEval", "mlogiqa/{lang}.jsonl",
                            "rows of the hub's mlogiqa/test/<lang>.jsonl: context, question, option_1..option_4, "
                            "answer (index 0-3)")
SOURCES["m_ifeval"] = Source("lightblue/M-IFEval", "m_ifeval/{lang}.jsonl",
                             "rows of data/<lang>_input_data.jsonl: key, prompt, instruction_id_list, kwargs")
SOURCES["ifeval"] = Source("google/IFEval", "m_ifeval/{lang}.jsonl",
                           "rows of the hub's train split: key, prompt, instruction_id_list, kwargs")

MLOGIQA_LANGUAGES = ("en", "zh", "ar", "es", "fr", "ja", "ko", "pt", "th", "vi")
M_IFEVAL_LANGUAGES = ("en", "es", "fr", "ja")
"""English is Google's IFEval (what M-IFEval compares against); es fr ja are M-IFEval's own."""


def from_hub_file(source: str, path_in_repo: str):
    """One JSON-lines file of a hub dataset repository, read with the generic ``json`` builder.

    Used where the repository's own loading (a dataset script, or configs that merge every
    language into one split) does not give one language's rows: ``hf://`` paths bypass both.
    """
    import datasets

    spec = SOURCES[source]
    url = f"hf://datasets/{spec.hf_id}/{path_in_repo}"
    try:
        return datasets.load_dataset("json", data_files={"test": url}, split="test")
    except Exception as exc:  # offline, moved file, hub errors: all end the same way
        raise DataError(
            f"could not load {url} from the Hugging Face hub ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); to work offline, point --data-dir or "
            f"{DATA_DIR_ENV} at a mirror holding {spec.mirror}"
        ) from exc


def _mlogiqa_answer(value: Any, n_options: int) -> str | None:
    """The gold letter of an mlogiqa row: ``answer`` is the option's 0-based index (int or digits)."""
    text = str(value).strip()
    if not text.isdigit() or int(text) >= n_options:
        return None
    return OPTION_LETTERS[int(text)]


def load_mlogiqa(lang: str, root: Path | None) -> list[dict]:
    """P-MMEval's multilingual LogiQA (80 questions per language, four options each)."""
    if root is not None:
        path = mirror_file("mlogiqa", root, lang)
        data, where = read_jsonl(path), str(path)
    else:
        data, where = from_hub_file("mlogiqa", f"mlogiqa/test/{lang}.jsonl"), f"Qwen/P-MMEval (mlogiqa, {lang})"
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
    source = "ifeval" if lang == "en" else "m_ifeval"
    if root is not None:
        path = mirror_file(source, root, lang)
        data, where = read_jsonl(path), str(path)
    elif lang == "en":
        data, where = from_hub("ifeval", split="train"), "google/IFEval"
    else:
        # The hub repository is assumed to mirror the GitHub layout (data/<lang>_input_data.jsonl).
        data, where = from_hub_file("m_ifeval", f"data/{lang}_input_data.jsonl"), f"lightblue/M-IFEval ({lang})"
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
