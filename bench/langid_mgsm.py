"""How well langid tells the study's languages apart, measured on the real MGSM questions.

    python bench/langid_mgsm.py [--data ../shared/data/mgsm]

For each language: accuracy of ``main_language`` restricted to the ten study languages + te on
whole questions, on their first sentence, and on prefixes of 10/20/40 letters (the short-text
regime that sets MIN_LETTERS); then unrestricted langid (97 languages) on whole questions, and
the most common confusions. docs/rewards.md quotes this table for the consistency reward's limits.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from harness.core.literals import STUDY_LANGUAGES
from harness.lang.language_id import _full_model, clean_text, main_language

LANGS = list(STUDY_LANGUAGES) + ["te"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mgsm"
FIRST_SENTENCE = re.compile(r"^.+?(?:[.!?。！？](?=\s|$)|$)", re.S)


def prefix(text: str, letters: int) -> str:
    """The shortest prefix of ``text`` holding ``letters`` letters."""
    seen = 0
    for i, ch in enumerate(text):
        seen += ch.isalpha()
        if seen >= letters:
            return text[: i + 1]
    return text


def questions(data: Path, lang: str) -> list[str]:
    rows = (data / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()
    return [row.split("\t")[0] for row in rows if row.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"MGSM not found at {args.data}; pass --data")

    every_code = _all_codes()
    header = f"{'lang':<5}{'n':>5}{'whole':>8}{'1st sent':>10}{'10 let':>8}{'20 let':>8}{'40 let':>8}{'all 97':>8}  confusions (whole, 1st sentence)"
    print("main_language() restricted to", " ".join(LANGS))
    print(header)
    totals = Counter()
    for lang in LANGS:
        qs = questions(args.data, lang)
        whole = [main_language(q, LANGS) for q in qs]
        first = [main_language(FIRST_SENTENCE.match(q).group(), LANGS) for q in qs]
        short = {k: [main_language(prefix(clean_text(q), k), LANGS) for q in qs] for k in (10, 20, 40)}
        unrestricted = [main_language(q, every_code) for q in qs]
        accuracy = lambda preds: sum(p == lang for p in preds) / len(preds)  # noqa: E731
        confusions = Counter(p for p in whole + first if p != lang).most_common(3)
        row = [accuracy(whole), accuracy(first), *(accuracy(short[k]) for k in (10, 20, 40)), accuracy(unrestricted)]
        totals.update({i: v for i, v in enumerate(row)})
        print(f"{lang:<5}{len(qs):>5}" + "".join(f"{v:>8.1%}" if i != 1 else f"{v:>10.1%}" for i, v in enumerate(row))
              + "  " + (", ".join(f"{c}:{n}" for c, n in confusions) or "-"))
    mean = [totals[i] / len(LANGS) for i in range(6)]
    print(f"{'mean':<5}{'':>5}" + "".join(f"{v:>8.1%}" if i != 1 else f"{v:>10.1%}" for i, v in enumerate(mean)))


def _all_codes() -> list[str]:
    return [str(code) for code in _full_model().nb_classes]


if __name__ == "__main__":
    main()
