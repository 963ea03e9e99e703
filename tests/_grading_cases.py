"""Responses written the way real models answer, in every harness language, shared by the grading,
language-id and reward tests (kept here rather than in conftest.py, which other suites own).

Each ``RESPONSES[lang]`` answers MGSM's first problem (Janet's ducks, gold 18): chain of thought
in the question's language, then ``\\boxed{}``, then the chatter models add after the answer.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MGSM = DATA / "mgsm"
ALL_LANGS = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn", "te")

TRAILER = (
    "\n\nI hope this helps! If anything is unclear, feel free to ask. Double-checking: 16 - 3 - 4 = 9"
    " eggs are left, 9 * 2 = 18 dollars. Other ways to see it: eggs eaten 3, eggs baked 4, eggs sold"
    " 9; price 2; revenue 18. Everything is consistent, so there is nothing more to add here at all."
    " Let me know if you would like the same computation for a week, a month or a whole year."
)
assert len(TRAILER) > 300  # verl graded answers followed by >300 characters as wrong

RESPONSES: dict[str, str] = {
    "en": "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and uses 4 for muffins, so "
    "16 - 3 - 4 = 9 eggs remain. She sells each for $2, so she makes 9 \\times \\$2 = \\$18 every "
    "day.\n\nThe answer is $\\boxed{18}$.",
    "zh": "珍妮特的鸭子每天下 16 颗蛋。她早餐吃 3 颗，用 4 颗做松饼，所以剩下 $16 - 3 - 4 = 9$ 颗。"
    "每颗卖 2 美元，所以她每天赚 $9 \\times 2 = 18$ 美元。\n\n答案是 $\\boxed{18}$。",
    "de": "Janets Enten legen 16 Eier pro Tag. Sie isst 3 zum Frühstück und verwendet 4 für Muffins, "
    "also bleiben $16 − 3 − 4 = 9$ Eier übrig. Sie verkauft jedes für 2 US-Dollar, also nimmt sie "
    "$9 \\cdot 2 = 18$ US-Dollar pro Tag ein.\n\nDie Antwort ist $\\boxed{18}$.",
    "es": "Los patos de Janet ponen 16 huevos por día. Ella come 3 en el desayuno y usa 4 para las "
    "magdalenas, así que quedan $16 - 3 - 4 = 9$ huevos. Vende cada uno a $2, por lo que gana "
    "$9 \\times 2 = 18$ dólares al día.\n\nLa respuesta es $\\boxed{18}$.",
    "fr": "Les canes de Janet pondent 16 œufs par jour. Elle en mange 3 au petit déjeuner et en "
    "utilise 4 pour les muffins, il reste donc $16 - 3 - 4 = 9$ œufs. Elle vend chaque œuf 2 $, "
    "elle gagne donc $9 \\times 2 = 18$ dollars par jour.\n\nLa réponse est $\\boxed{18}$.",
    "ja": "ジャネットのアヒルは1日に16個の卵を産みます。朝食に3個、マフィンに4個使うので、残りは"
    "$16 - 3 - 4 = 9$個です。1個2ドルで売るので、$9 \\times 2 = 18$ドルになります。\n\n"
    "答えは $\\boxed{18}$ です。",
    "ru": "Утки Дженет несут 16 яиц в день. Она съедает 3 на завтрак и использует 4 для кексов, "
    "значит, остаётся $16 − 3 − 4 = 9$ яиц. Она продаёт каждое по 2 $, поэтому зарабатывает "
    "$9 \\cdot 2 = 18$ долларов в день.\n\nОтвет: $\\boxed{18}$.",
    "th": "เป็ดของเจเน็ตวางไข่วันละ 16 ฟอง เธอกินไข่ 3 ฟองเป็นมื้อเช้า และใช้ 4 ฟองอบมัฟฟิน "
    "จึงเหลือไข่ $16 - 3 - 4 = 9$ ฟอง เธอขายฟองละ 2 ดอลลาร์ ดังนั้นเธอมีรายได้ $9 \\times 2 = 18$ "
    "ดอลลาร์ต่อวัน\n\nคำตอบคือ $\\boxed{18}$",
    "sw": "Bata wa Janet hutaga mayai 16 kila siku. Anakula mayai 3 kwa kiamsha kinywa na anatumia "
    "4 kuoka mafini, kwa hiyo yanabaki mayai $16 - 3 - 4 = 9$. Anauza kila yai kwa dola 2, kwa "
    "hiyo anapata $9 \\times 2 = 18$ dola kila siku.\n\nJibu ni $\\boxed{18}$.",
    "bn": "জেনেটের হাঁসগুলি প্রতিদিন ১৬টি ডিম পাড়ে। তিনি প্রাতরাশে ৩টি খান এবং মাফিন তৈরিতে ৪টি "
    "ব্যবহার করেন, তাই ১৬ - ৩ - ৪ = ৯টি ডিম থাকে। প্রতিটি ডিম ২ ডলারে বিক্রি করলে তিনি "
    "৯ × ২ = ১৮ ডলার উপার্জন করেন।\n\nউত্তর হল $\\boxed{১৮}$।",
    "te": "జనెత్ బాతులు ప్రతిరోజూ 16 గుడ్లు పెడతాయి. ఆమె అల్పాహారం కోసం 3 గుడ్లు తింటుంది మరియు "
    "మఫిన్‌ల కోసం 4 ఉపయోగిస్తుంది, కాబట్టి $16 - 3 - 4 = 9$ గుడ్లు మిగిలి ఉంటాయి. ఆమె ప్రతి "
    "గుడ్డును 2 డాలర్లకు విక్రయిస్తుంది, కాబట్టి ఆమె $9 \\times 2 = 18$ డాలర్లు సంపాదిస్తుంది."
    "\n\nసమాధానం $\\boxed{18}$.",
}

# The same reasoning ending with a localized answer phrase and no box (flexible mode only). The
# phrase's number (18) is not the last number: a grader reading the last number would say 7.
PHRASE_ANSWERS: dict[str, str] = {
    "en": "She sells 9 eggs at $2 each. The answer is 18 dollars (she keeps 3 + 4 = 7 eggs).",
    "zh": "她卖出 9 颗蛋，每颗 2 美元。答案是 18 美元（她自己留下 3 + 4 = 7 颗）。",
    "de": "Sie verkauft 9 Eier zu je 2 Dollar. Die Antwort ist 18 Dollar (sie behält 3 + 4 = 7 Eier).",
    "es": "Vende 9 huevos a $2 cada uno. La respuesta es 18 dólares (se queda con 3 + 4 = 7 huevos).",
    "fr": "Elle vend 9 œufs à 2 $ chacun. La réponse est 18 $ (elle garde 3 + 4 = 7 œufs).",
    "ja": "9個の卵を1個2ドルで売ります。答えは18ドルです（自分で3 + 4 = 7個使います）。",
    "ru": "Она продаёт 9 яиц по 2 доллара. Ответ: 18 долларов (себе она оставляет 3 + 4 = 7 яиц).",
    "th": "เธอขายไข่ 9 ฟอง ฟองละ 2 ดอลลาร์ คำตอบคือ 18 ดอลลาร์ (เธอเก็บไว้ 3 + 4 = 7 ฟอง)",
    "sw": "Anauza mayai 9 kwa dola 2 kila moja. Jibu ni dola 18 (anabaki na mayai 3 + 4 = 7).",
    "bn": "তিনি ৯টি ডিম ২ ডলার করে বিক্রি করেন। উত্তর হল ১৮ ডলার (নিজের জন্য ৩ + ৪ = ৭টি রাখেন)।",
    "te": "ఆమె 9 గుడ్లను 2 డాలర్ల చొప్పున అమ్ముతుంది. సమాధానం 18 డాలర్లు (ఆమె 3 + 4 = 7 ఉంచుకుంటుంది).",
}

# A German question answered with German that switches to English half-way (a common failure
# after English-only RL), then boxed.
SWITCHING = (
    "Janets Enten legen 16 Eier pro Tag. Sie isst 3 davon zum Frühstück.\n"
    "Now, she also bakes muffins with 4 eggs, so the remaining eggs are 16 - 3 - 4 = 9. "
    "She sells every remaining egg for two dollars at the farmers' market, which gives her "
    "9 \\times 2 = 18 dollars per day. Therefore, the final answer is \\boxed{18}."
)

# How each language writes the thousands of MGSM's gold 2,125 (and models copy it).
LOCAL_THOUSANDS: dict[str, str] = {
    "en": "2,125", "zh": "2,125", "ja": "2,125", "th": "2,125", "sw": "2,125", "te": "2,125",
    "de": "2.125", "es": "2.125", "fr": "2\u202f125", "ru": "2\u00a0125", "bn": "২,১২৫",
}

# "So the total is X." in each language, for sentences around gold answers.
CONCLUSION: dict[str, str] = {
    "en": "Adding everything up, the total comes to {answer}. That settles it.",
    "zh": "把所有数加起来，总数是 {answer}。就是这样。",
    "de": "Wenn man alles zusammenrechnet, ergibt sich {answer}. Damit ist die Aufgabe gelöst.",
    "es": "Sumando todo, el total es {answer}. Eso resuelve el problema.",
    "fr": "En additionnant tout, on obtient {answer}. Le problème est résolu.",
    "ja": "すべてを合計すると {answer} になります。これで解決です。",
    "ru": "Складывая всё вместе, получаем {answer}. Задача решена.",
    "th": "เมื่อรวมทั้งหมดแล้ว ผลลัพธ์คือ {answer} เป็นอันเสร็จสิ้น",
    "sw": "Tukijumlisha kila kitu, jumla ni {answer}. Hilo ndilo jibu la swali.",
    "bn": "সব যোগ করলে মোট হয় {answer}। এভাবেই সমস্যার সমাধান হলো।",
    "te": "అన్నింటినీ కలిపితే మొత్తం {answer} అవుతుంది. సమస్య పరిష్కరించబడింది.",
}


def read_mgsm(lang: str) -> list[tuple[str, str]]:
    """(question, gold) rows of the local MGSM mirror."""
    rows = (MGSM / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(row.split("\t")) for row in rows if row.strip()]


def script_digits(text: str, zero: str) -> str:
    """``text`` with ASCII digits written in the script whose zero is ``zero``."""
    return "".join(chr(ord(zero) + int(ch)) if ch.isdigit() and ch.isascii() else ch for ch in text)
