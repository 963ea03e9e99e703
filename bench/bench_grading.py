"""Grading throughput: completions graded per second on synthetic multilingual completions.

    python bench/bench_grading.py [--n 10000] [--workers 2]

Three paths: plain numbers (MGSM/GSM8K, main process only, one core), math-verify (MATH-style
answers that need sympy, batched through the worker pool; boxed, and unboxed in flexible mode,
where math-verify's own extraction reads the response) and the consistency reward (langid).
Goals on a 2-core x86 box: plain-number path >= 50,000 completions/s on one core, math-verify
path >= 1,000/s with 2 workers.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

# One reasoning sentence per language; {a} {b} {c} are numbers. Real completions run 300-1500
# characters, so each completion repeats a few of these before its boxed answer.
SENTENCES = {
    "en": "She has {a} eggs, eats {b} of them and sells the rest for {c} dollars each.",
    "zh": "她有 {a} 个鸡蛋，吃掉 {b} 个，剩下的每个卖 {c} 美元。",
    "de": "Sie hat {a} Eier, isst {b} davon und verkauft den Rest für je {c} Dollar.",
    "es": "Tiene {a} huevos, se come {b} y vende el resto a {c} dólares cada uno.",
    "fr": "Elle a {a} œufs, en mange {b} et vend le reste {c} dollars pièce.",
    "ja": "彼女は卵を{a}個持っていて、{b}個食べ、残りを1個{c}ドルで売ります。",
    "ru": "У неё {a} яиц, она съедает {b} и продаёт остальные по {c} долларов.",
    "th": "เธอมีไข่ {a} ฟอง กินไป {b} ฟอง และขายที่เหลือฟองละ {c} ดอลลาร์",
    "sw": "Ana mayai {a}, anakula {b} na kuuza yaliyobaki kwa dola {c} kila moja.",
    "bn": "তার কাছে {a}টি ডিম আছে, তিনি {b}টি খান এবং বাকিগুলি {c} ডলারে বিক্রি করেন।",
}
MATH_ANSWERS = [  # (gold, equivalent answer as models write it)
    ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2"),
    ("2\\sqrt{2}", "\\sqrt{8}"),
    ("(-\\infty,-1)\\cup(6,+\\infty)", "(-\\infty, -1) \\cup (6, \\infty)"),
    ("x^2 + 2x + 1", "(x+1)^2"),
    ("\\{1,2\\}", "\\{2, 1\\}"),
    ("8\\sqrt{5} - 16", "-16 + 8\\sqrt{5}"),
    ("\\frac{\\pi}{3}", "\\pi/3"),
]


def completions(n: int, seed: int = 0):
    """(completion, gold, lang) with a boxed final answer; a quarter of them are wrong."""
    rng = random.Random(seed)
    langs = list(SENTENCES)
    rows = []
    for i in range(n):
        lang = langs[i % len(langs)]
        a, b, c = rng.randint(10, 999), rng.randint(1, 9), rng.randint(2, 50)
        answer = (a - b) * c
        reasoning = " ".join(SENTENCES[lang].format(a=a, b=b, c=c) for _ in range(rng.randint(3, 8)))
        shown = f"{answer:,}" if rng.random() < 0.3 else str(answer)
        if rng.random() < 0.25:
            shown = str(answer + 1)
        rows.append((f"{reasoning}\n\n$\\boxed{{{shown}}}$", str(answer), lang))
    return rows


def rate(label: str, n: int, seconds: float) -> None:
    print(f"{label:<46} {n:>6} completions {seconds:7.2f} s {n / seconds:10,.0f} /s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None, help="math-verify worker processes")
    args = parser.parse_args()
    if args.workers:
        os.environ["HARNESS_GRADING_WORKERS"] = str(args.workers)

    from harness.grading import grade, grade_many, mathequiv
    from harness.lang.language_id import main_language
    from harness.plugins.rewards import accuracy_reward, consistency_reward

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    rows = completions(args.n)

    start = time.perf_counter()
    correct = sum(grade(text, gold, lang=lang) for text, gold, lang in rows)
    rate("plain numbers, grade() one by one, 1 core", args.n, time.perf_counter() - start)
    assert 0.6 * args.n < correct < 0.9 * args.n, correct

    start = time.perf_counter()
    accuracy_reward([""] * args.n, [t for t, _, _ in rows], answer=[g for _, g, _ in rows],
                    lang=[lang for _, _, lang in rows])
    rate("plain numbers, accuracy reward (TRL signature)", args.n, time.perf_counter() - start)

    rng = random.Random(1)
    math_rows = [rng.choice(MATH_ANSWERS) for _ in range(args.n)]
    mathequiv.warm_up()  # worker start-up is paid once per process, not per batch
    start = time.perf_counter()
    verdicts = []
    for i in range(0, args.n, 512):  # rollout-sized batches, as the reward sees them
        batch = math_rows[i : i + 512]
        verdicts += grade_many([f"Thus $\\boxed{{{a}}}$." for _, a in batch], [g for g, _ in batch], kind="math")
    rate(f"math-verify, {mathequiv.worker_count()} workers, batches of 512", args.n, time.perf_counter() - start)
    assert all(verdicts), "an equivalent answer graded wrong"

    start = time.perf_counter()
    verdicts = []
    for i in range(0, args.n, 512):
        batch = math_rows[i : i + 512]
        verdicts += grade_many([f"Putting it together we get ${a}$." for _, a in batch], [g for g, _ in batch],
                               kind="math", mode="flexible")
    rate("math-verify, unboxed, flexible mode", args.n, time.perf_counter() - start)
    assert all(verdicts), "an equivalent unboxed answer graded wrong"

    main_language("Load the langid model before timing, it takes seconds to decompress.")
    start = time.perf_counter()
    for i in range(0, args.n, 512):
        batch = rows[i : i + 512]
        consistency_reward([""] * len(batch), [t for t, _, _ in batch], lang=[lang for _, _, lang in batch])
    rate("consistency reward (langid), 1 core", args.n, time.perf_counter() - start)
    print(f"math-verify stats: {dict(mathequiv.STATS)}")


if __name__ == "__main__":
    main()
