"""Training corpora in one schema: ``question``, ``solution``, ``answer``, ``lang`` (+ ``id``,
``source``, ``answer_kind``).

``--data`` names one of:

- ``toy``: the built-in parallel toy corpus (every study language, offline);
- ``toy_easy``: the toy corpus's "buys N more" problems with N from 1 to 3, which the tiny model
  learns to partial accuracy in a minute of CPU: the learning tests and quick demos use it;
- ``toy_study``: the toy study's one-operation problems (training split), which ``tiny-base`` was
  never pretrained on; its test split is the ``toy_study_xling`` benchmark;
- ``gsm8k`` / ``openai/gsm8k``: GSM8K (English; answers end ``#### N``);
- ``gsm8k_parallel`` / ``Mathoctopus/GSM8KInstruct_Parallel``: GSM8K translated into the ten
  MGSM languages (MathOctopus; records ``prompt``/``chosen``);
- ``luffy`` / ``Elliott/Openr1-Math-46k-8192``: LUFFY's 46k OpenR1 math problems (English,
  LaTeX answers);
- a JSONL or JSON file, or a folder with ``<split>.jsonl``, in any of these schemas (detected per
  record), or a folder built by ``harness corpus build`` (its ``manifest.json`` lists the files);
- a corpus a plugin registered (``register_corpora``; every built corpus under
  ``$HARNESS_CORPORA_DIR``), passed in by the caller as ``corpora``.

Every name is one :class:`NamedCorpus` (:data:`BUILTIN_CORPORA` and the registered ones), found by
:func:`find_corpus`. The hub corpora are the training sources of
:data:`harness.data.sources.SOURCES`: the local mirror (``--data-dir``, ``$HARNESS_DATA_DIR``) when
there is one, the Hugging Face hub otherwise. ``n`` counts problems per language; a mixture with
other counts per language is :func:`mix` with :func:`parse_counts`. Problems with the data
(missing columns, empty sets, unparsable answers) are reported before any training starts.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.core.errors import UserError, unknown
from harness.data.sources import SOURCES, read_jsonl, read_rows, read_source
from harness.data.sources import data_dir as resolve_data_dir
from harness.data.toy import render, toy_corpus, toy_study_corpus

SCHEMA = ("question", "solution", "answer", "lang")


@dataclass(frozen=True)
class NamedCorpus:
    """A corpus ``--data NAME`` reads. Plugins contribute folders (``register_corpora``:
    ``NamedCorpus(name, path, description)``); the built-in corpora read a training source of
    :data:`~harness.data.sources.SOURCES` or generate their problems."""

    name: str
    path: Path | None = None
    description: str = ""
    source: str | None = None
    """A name in :data:`~harness.data.sources.SOURCES`: read from the mirror, else the hub."""
    generate: Callable[..., list[dict]] | None = None
    """Generated (toy) problems: ``generate(languages, n=, seed=, split=)``."""
    held_out: bool = False
    """It has a test split of its own, which training evaluates on."""

    def load(self, languages: Sequence[str], *, split: str = "train", n: int | None = None, seed: int = 0,
             data_dir: str | PathLike | None = None) -> list[dict]:
        """Checked records for ``languages``: at most ``n`` problems per language (all if None;
        generated corpora: 200)."""
        if self.generate is not None:
            records = self.generate(languages, n=n or 200, seed=seed, split=split)
        else:
            records = convert_records(self._rows(split, data_dir), self.origin)
            records = take_per_language([r for r in records if r["lang"] in set(languages)], n)
        check_records(records, self.name, languages)
        return records

    @property
    def origin(self) -> str:
        """What a record's ``source`` says it came from."""
        return SOURCES[self.source].hf_id if self.source else self.name

    def _rows(self, split: str, mirror: str | PathLike | None) -> list[dict]:
        if self.source is not None:
            return _as_rows(read_source(self.source, resolve_data_dir(mirror), split=split)[0])
        return read_path(Path(self.path or self.name).expanduser(), split)


def toy_easy_corpus(languages: Sequence[str], n: int = 200, seed: int = 0, split: str = "train") -> list[dict]:
    """n easy toy problems per language ("has A, buys B more", A in 2-60, B in 1-3), told in each
    language with the toy corpus's own templates; train and test never share (A, B)."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; expected train or test")
    pairs = [(a, b) for a in range(2, 61) for b in range(1, 4)]
    # A fixed fifth of the pairs is held out, whatever the seed, spread at random over the digits.
    held_out = {p for p in pairs if hashlib.sha256(f"toy_easy:{p}".encode()).digest()[0] % 5 == 0}
    pool = [p for p in pairs if (p in held_out) == (split == "test")]
    rng = random.Random(f"toy_easy:{seed}:{split}")
    problems = [(*rng.choice(pool), rng.randrange(4), rng.randrange(6)) for _ in range(n)]
    records = []
    for lang in languages:
        for index, (a, b, name, item) in enumerate(problems):
            question, solution = render("add", lang, {"a": a, "b": b, "r": a + b}, name=name, item=item)
            records.append({"id": f"toy_easy-{split}-{seed}-{index:05d}", "lang": lang, "question": question,
                            "solution": solution, "answer": str(a + b), "source": "toy_easy"})
    return records


BUILTIN_CORPORA: dict[str, NamedCorpus] = {
    "toy": NamedCorpus("toy", description="the built-in parallel toy corpus (offline)", generate=toy_corpus,
                       held_out=True),
    "toy_easy": NamedCorpus("toy_easy", description="the toy corpus's easiest problems (offline)",
                            generate=toy_easy_corpus, held_out=True),
    "toy_study": NamedCorpus("toy_study", description="the toy study's one-operation problems (offline; "
                             "its test split is the toy_study_xling benchmark)", generate=toy_study_corpus,
                             held_out=True),
    **{name: NamedCorpus(name, description=source.hf_id, source=name)
       for name, source in SOURCES.items() if source.training},
}
ALIASES = {corpus.origin: name for name, corpus in BUILTIN_CORPORA.items() if corpus.source}
"""``--data openai/gsm8k`` means the built-in ``gsm8k``."""
NO_CORPORA: Mapping[str, NamedCorpus] = MappingProxyType({})


def find_corpus(spec: str, corpora: Mapping[str, NamedCorpus] = NO_CORPORA) -> NamedCorpus:
    """The corpus ``spec`` names: a built-in (by name or hub id), else an existing file or folder,
    else one of ``corpora`` (the registered ones, from the caller), else a path that will be
    reported missing when read."""
    name = ALIASES.get(spec, spec)
    if name in BUILTIN_CORPORA:
        return BUILTIN_CORPORA[name]
    if not Path(spec).expanduser().exists() and name in corpora:
        return corpora[name]
    return NamedCorpus(spec, Path(spec).expanduser())


def load_corpus(spec: str, languages: Sequence[str], *, split: str = "train", n: int | None = None,
                seed: int = 0, corpora: Mapping[str, NamedCorpus] = NO_CORPORA,
                data_dir: str | PathLike | None = None) -> list[dict]:
    """Records of ``spec`` for ``languages``: at most ``n`` problems per language (all if None).
    ``corpora`` are the registered corpora ``spec`` may name; ``data_dir`` the mirror to read
    (default ``$HARNESS_DATA_DIR``, else the hub)."""
    return find_corpus(spec, corpora).load(languages, split=split, n=n, seed=seed, data_dir=data_dir)


# --- reading -------------------------------------------------------------------------------------


def read_path(path: Path, split: str) -> list[dict]:
    """The rows of a training data file, or of a folder's ``<split>.jsonl``/``.json`` or built corpus."""
    if path.is_dir():
        candidates = [path / f"{split}.jsonl", path / f"{split}.json"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None and (path / "manifest.json").is_file():
            return read_built(path, split)
        if found is None:
            raise UserError(f"training data folder {path} has no {split}.jsonl")
        return _as_rows(read_rows(found))
    if not path.is_file():
        raise UserError(f"training data {path} does not exist (give one of {', '.join(BUILTIN_CORPORA)}, "
                        f"or a JSONL file)")
    return _as_rows(read_rows(path))


def read_built(path: Path, split: str | None = None) -> list[dict]:
    """Every language file of a corpus folder built by ``harness corpus build`` (of ``split``, if given)."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    files = manifest.get("files") or {}
    if split is not None and manifest.get("split", "train") != split:
        raise UserError(f"training data folder {path} holds only the {manifest.get('split', 'train')!r} split, "
                        f"not {split!r}")
    if not files:
        raise UserError(f"training data folder {path}: its manifest.json lists no files")
    return [row for name in files.values() for row in read_jsonl(path / name)]


def _as_rows(data: Any) -> list:
    """A file holding one JSON object is one record."""
    return [data] if isinstance(data, Mapping) else list(data)


# --- schemas -------------------------------------------------------------------------------------


def _final_sentence(lang: str, answer: str) -> str:
    from harness.core.literals import literals

    return f"{literals(lang).answer_phrases[0]} \\boxed{{{answer}}}."


_CALCULATOR = re.compile(r"<<[^>]*>>")
_FINAL = re.compile(r"####\s*(.+?)\s*$", re.S)


def split_gsm8k_answer(text: str) -> tuple[str, str]:
    """(reasoning without calculator annotations, final answer) of a GSM8K-style ``... #### N``."""
    match = _FINAL.search(text)
    if match is None:
        raise ValueError("no '#### <answer>' line")
    answer = match.group(1).strip().replace(",", "")
    steps = _CALCULATOR.sub("", text[: match.start()]).strip()
    return steps, answer


def from_gsm8k(row: Mapping, index: int, origin: str, lang: str = "en") -> dict:
    steps, answer = split_gsm8k_answer(str(row["answer"]))
    return {"id": f"gsm8k-{index:05d}", "lang": lang, "question": str(row["question"]).strip(),
            "solution": f"{steps}\n{_final_sentence(lang, answer)}", "answer": answer, "source": origin}


_INSTRUCTION = re.compile(r"### Instruction:\s*\n(.*?)\n\s*### Response:", re.S)


def _language_named(prompt: str) -> str | None:
    """The language an MGSM8KInstruct prompt asks for ('... in German.'), as a harness code."""
    from harness.core.literals import LITERALS

    for code, lit in LITERALS.items():
        if re.search(rf"\b(?:in|respond in|answer in) {lit.name}\b", prompt):
            return code
    return None


def from_gsm8k_parallel(row: Mapping, index: int, origin: str) -> dict:
    prompt = str(row["prompt"])
    match = _INSTRUCTION.search(prompt)
    lang = _language_named(prompt)
    if match is None or lang is None:
        raise ValueError("prompt has no '### Instruction:' block or names no known language")
    steps, answer = split_gsm8k_answer(str(row["chosen"]))
    return {"id": f"gsm8k-parallel-{index:05d}", "lang": lang, "question": match.group(1).strip(),
            "solution": f"{steps}\n{_final_sentence(lang, answer)}", "answer": answer, "source": origin}


def _last_turn(messages: Any, role: str) -> str:
    if isinstance(messages, str):
        return messages
    turns = [m.get("content", "") for m in messages or [] if m.get("role") == role]
    if not turns:
        raise ValueError(f"no {role} turn")
    return str(turns[-1])


def from_luffy(row: Mapping, index: int, origin: str) -> dict:
    extra = row.get("extra_info") or {}
    return {
        "id": f"luffy-{extra.get('index', index)}", "lang": "en",
        "question": _last_turn(row["prompt"], "user").strip(),
        "solution": _last_turn(row["target"], "assistant").strip(),
        "answer": str(row["reward_model"]["ground_truth"]).strip(), "answer_kind": "math", "source": origin,
    }


def from_harness(row: Mapping, index: int, origin: str) -> dict:
    if not str(row.get("lang") or "").strip():
        raise ValueError("no 'lang' field: each record names its language (en, de, ...)")
    record = dict(row)
    record.setdefault("id", f"{Path(origin).stem}-{index:05d}")
    record.setdefault("source", origin)
    return record


def detect_schema(row: Mapping) -> Callable[[Mapping, int, str], dict]:
    """The converter for a record: harness, GSM8K, MGSM8KInstruct (prompt/chosen) or LUFFY."""
    if "solution" in row and "question" in row:
        return from_harness
    if "reward_model" in row and "target" in row:
        return from_luffy
    if "chosen" in row and "prompt" in row:
        return from_gsm8k_parallel
    if "question" in row and "####" in str(row.get("answer", "")):
        return from_gsm8k
    raise ValueError(f"unknown record schema (keys: {', '.join(sorted(row))})")


def convert_records(rows: Iterable[Mapping], origin: str) -> list[dict]:
    records = []
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, Mapping):
                raise TypeError(f"a record must be a JSON object, got {type(row).__name__}")
            records.append(detect_schema(row)(row, index, origin))
        except (KeyError, ValueError, TypeError) as exc:
            raise UserError(f"training data {origin!r}, record {index}: {exc}") from None
    return records


# --- selection and mixtures ----------------------------------------------------------------------


def take_per_language(records: Sequence[dict], n: int | None) -> list[dict]:
    """The first ``n`` records of each language, in file order (parallel corpora stay parallel)."""
    if n is None:
        return list(records)
    taken: Counter = Counter()
    out = []
    for record in records:
        if taken[record["lang"]] < n:
            taken[record["lang"]] += 1
            out.append(record)
    return out


def parse_counts(text: str, languages: Sequence[str]) -> dict[str, int]:
    """``"en=2000,zh=1000"`` as {language: problems}; every language must be a training language."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        lang, sep, value = part.partition("=")
        lang = lang.strip()
        if not sep or not value.strip().isdigit():
            raise UserError(f"language counts: {part!r} is not LANG=COUNT (e.g. en=2000)")
        if lang not in languages:
            raise unknown("language in the counts", lang, languages)
        counts[lang] = int(value)
    return counts


def mix(records: Sequence[dict], counts: Mapping[str, int] | None = None, *, seed: int = 0,
        disjoint: bool = False) -> list[dict]:
    """A language mixture: ``counts[lang]`` records per language (None: all), drawn at random
    by ``seed``. With ``disjoint`` each problem id goes to one language only, so the mixture
    covers as many distinct problems as it has records. The result is shuffled."""
    rng = random.Random(f"mix:{seed}")
    by_lang: dict[str, list[dict]] = {}
    for record in records:
        by_lang.setdefault(record["lang"], []).append(record)
    if disjoint:
        ids = sorted({r["id"] for r in records})
        rng.shuffle(ids)
        owner = {pid: sorted(by_lang)[i % len(by_lang)] for i, pid in enumerate(ids)}
        by_lang = {lang: [r for r in rows if owner[r["id"]] == lang] for lang, rows in by_lang.items()}
    out = []
    for lang, rows in sorted(by_lang.items()):
        want = len(rows) if counts is None or lang not in counts else counts[lang]
        if want > len(rows):
            raise UserError(f"mixture asks for {want} {lang} problems, the data has {len(rows)}")
        out.extend(rng.sample(rows, want))
    rng.shuffle(out)
    return out


# --- checks --------------------------------------------------------------------------------------


def check_records(records: Sequence[dict], source: str, languages: Sequence[str]) -> None:
    if not records:
        raise UserError(f"training data {source!r} has no records for languages {', '.join(languages)}")
    for i, record in enumerate(records):
        missing = [c for c in SCHEMA if not str(record.get(c, "")).strip()]
        if missing:
            raise UserError(f"training data {source!r}, record {i}: missing or empty {', '.join(missing)}")
    from harness.grading import parse_gold

    for i, record in enumerate(records):
        try:
            parse_gold(record["answer"], record.get("answer_kind", "number"))
        except ValueError as exc:
            raise UserError(f"training data {source!r}, record {i}: unparsable answer {record['answer']!r} "
                            f"({exc})") from None


def language_counts(records: Sequence[dict]) -> dict[str, int]:
    return dict(sorted(Counter(r["lang"] for r in records).items()))
