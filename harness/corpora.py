"""Training corpora in one schema: ``question``, ``solution``, ``answer``, ``lang`` (+ ``id``).

Problems with the data (missing columns, empty sets, unknown languages) are reported before any
training starts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError

SCHEMA = ("question", "solution", "answer", "lang")


def load_corpus(spec: str, languages: Sequence[str], *, split: str = "train", n: int | None = None,
                seed: int = 0) -> list[dict]:
    """Records of ``spec`` for ``languages``: ``toy`` (the built-in corpus) or a JSONL file."""
    if spec == "toy":
        from harness.toydata import toy_corpus

        records = toy_corpus(languages, n=n or 200, seed=seed, split=split)
    else:
        records = _read_jsonl(Path(spec).expanduser())
        records = [r for r in records if r.get("lang") in set(languages)]
        if n is not None:
            records = records[: n * len(languages)]
    check_records(records, spec, languages)
    return records


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise UserError(f"training data {path} does not exist (give 'toy' or a JSONL file)")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return records


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
            raise UserError(f"training data {source!r}, record {i}: unparsable answer {record['answer']!r} ({exc})") from None


def language_counts(records: Sequence[dict]) -> dict[str, int]:
    return dict(sorted(Counter(r["lang"] for r in records).items()))
