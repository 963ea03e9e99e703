"""``harness corpus check``: checks (1)-(4) on an existing parallel corpus, per language.

Reads a corpus built by ``harness corpus build`` (a folder with ``manifest.json``), the MGSM
layout (a folder of ``mgsm_<lang>.tsv``: question TAB answer), a folder of ``<lang>.jsonl``, or
any file ``--data`` reads (MathOctopus' MGSM8KInstruct_Parallel JSON, harness JSONL). Records
are paired with the source language's by id when the languages share ids, else by their order
within each language (MGSM and MathOctopus are parallel by position).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import UserError
from harness.corpus import checks


def read_parallel(path: Path) -> list[dict]:
    """Every record of the corpus at ``path``, in the corpus schema (``solution`` may be empty)."""
    from harness.core.files import read_json
    from harness.data.corpora import convert_records, read_built
    from harness.data.sources import read_jsonl, read_rows, read_tsv_pairs

    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        return convert_records(read_rows(path), str(path))
    if (path / "manifest.json").is_file():
        read_json(path / "manifest.json", "corpus manifest")  # a damaged one: file, line and byte, not a traceback
        return read_built(path)
    tsvs = sorted(path.glob("mgsm_*.tsv"))
    if tsvs:
        return [{"id": f"mgsm-{i:03d}", "lang": re.sub(r"^mgsm_", "", tsv.stem), "question": q, "answer": a,
                 "solution": ""} for tsv in tsvs for i, (q, a) in enumerate(read_tsv_pairs(tsv))]
    files = [p for p in sorted(path.glob("*.jsonl")) if p.name != "rejected.jsonl"]
    if not files:
        raise UserError(f"{path} holds no manifest.json, mgsm_<lang>.tsv or <lang>.jsonl files")
    return convert_records([r for p in files for r in read_jsonl(p)], str(path))


def pair_up(records: Sequence[dict], source_lang: str) -> dict[str, list[tuple[dict, dict]]]:
    """{language: [(source record, its translation)]} for every language but the source's."""
    by_lang: dict[str, list[dict]] = {}
    for record in records:
        by_lang.setdefault(record["lang"], []).append(record)
    if source_lang not in by_lang:
        raise UserError(f"the corpus has no {source_lang!r} records to compare with "
                        f"(languages: {', '.join(sorted(by_lang))}); set --source-lang")
    sources = by_lang.pop(source_lang)
    source_ids = {r.get("id") for r in sources}
    pairs = {}
    for lang, rows in sorted(by_lang.items()):
        if source_ids & {r.get("id") for r in rows}:
            index = {r["id"]: r for r in sources}
            pairs[lang] = [(index[r["id"]], r) for r in rows if r.get("id") in index]
        else:
            pairs[lang] = list(zip(sources, rows))
    return pairs


@dataclass
class LanguageReport:
    lang: str
    records: int = 0
    passed: dict[str, int] = field(default_factory=lambda: {c: 0 for c in checks.CHECKS})
    all_passed: int = 0
    examples: dict[str, list[dict]] = field(default_factory=dict)


def audit(records: Sequence[dict], *, source_lang: str = "en", langs: Sequence[str] | None = None,
          examples: int = 2) -> list[LanguageReport]:
    pairs = pair_up(records, source_lang)
    if langs:
        unknown = sorted(set(langs) - set(pairs))
        if unknown:
            raise UserError(f"the corpus has no {', '.join(unknown)} records (it has {', '.join(pairs)})")
        pairs = {lang: pairs[lang] for lang in langs}
    samples = [(lang, name, ratio) for lang, rows in pairs.items() for s, t in rows
               for name, ratio in checks.length_ratios(s, t).items()]
    bounds = checks.learn_bounds(samples)
    candidates = sorted({source_lang, *pairs} | set(_study_languages()))
    reports = []
    for lang, rows in pairs.items():
        report = LanguageReport(lang)
        for source, target in rows:
            verdict = checks.verify(source, target, lang, bounds, candidates)
            report.records += 1
            report.all_passed += verdict.passed
            for result in verdict.results:
                report.passed[result.check] += result.passed
                if not result.passed and len(report.examples.setdefault(result.check, [])) < examples:
                    report.examples[result.check].append({"id": target.get("id"), **result.evidence})
        reports.append(report)
    return reports


def _study_languages() -> Sequence[str]:
    from harness.core.literals import LITERALS

    return list(LITERALS)


def as_rows(reports: Sequence[LanguageReport]) -> list[dict]:
    rows = []
    for r in reports:
        row = {"lang": r.lang, "records": r.records}
        row.update({c: r.passed[c] / r.records if r.records else 0.0 for c in checks.CHECKS})
        row["all"] = r.all_passed / r.records if r.records else 0.0
        rows.append(row)
    return rows
