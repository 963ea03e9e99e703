"""Every per-language word the harness uses, in one table.

Prompt phrases, "the answer is" forms and the consistency instruction live here and nowhere
else, so training, evaluation, grading and probes can never drift apart (lighteval keeps its
multilingual literals the same way).

The "answer is" phrases follow the MGSM exemplars (google-research/url-nlp), which is how models
few-shot prompted on MGSM phrase their final answers; a few common variants are added.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Literals:
    code: str
    """ISO 639-1 code used throughout the harness (registry.yaml, task names, data files)."""
    name: str
    """English name of the language, for tables and prompts."""
    native_name: str
    langid: str
    """The code langid.py reports for this language."""
    question_word: str
    """'Question' as the MGSM exemplars write it (few-shot prompts)."""
    answer_phrases: tuple[str, ...]
    """Localized 'the answer is' phrases, most common first (flexible-extract fallback). Matched
    case-insensitively anywhere, so the short generalisations at the end ("answer is") also find
    "The final answer is" and "The correct answer is"."""
    reason_in_language: str
    """The consistency instruction: reason (and answer) in this language."""


# The study's ten languages, then extras that MGSM (te) or MMATH provide.
STUDY_LANGUAGES: tuple[str, ...] = ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn")

LITERALS: dict[str, Literals] = {
    lit.code: lit
    for lit in (
        Literals(
            "en", "English", "English", "en", "Question",
            ("The answer is", "the answer is", "Final answer:", "Answer:", "answer is"),
            "Please reason step by step in English.",
        ),
        Literals(
            "zh", "Chinese", "中文", "zh", "问题",
            ("答案是", "答案为", "最终答案是", "最终答案：", "答案："),
            "请用中文逐步推理。",
        ),
        Literals(
            "de", "German", "Deutsch", "de", "Frage",
            ("Die Antwort ist", "Die Antwort lautet", "die Antwort ist", "Antwort:", "Antwort ist", "Antwort lautet", "Ergebnis ist", "Ergebnis:"),
            "Bitte denke Schritt für Schritt auf Deutsch nach.",
        ),
        Literals(
            "es", "Spanish", "Español", "es", "Pregunta",
            ("La respuesta es", "la respuesta es", "Respuesta:", "respuesta es", "respuesta final es"),
            "Por favor, razona paso a paso en español.",
        ),
        Literals(
            "fr", "French", "Français", "fr", "Question",
            ("La réponse est", "la réponse est", "Réponse :", "Réponse:", "réponse est", "réponse finale est"),
            "Veuillez raisonner étape par étape en français.",
        ),
        Literals(
            "ja", "Japanese", "日本語", "ja", "問題",
            ("答えは", "答え：", "答え:", "解答：", "正解は"),
            "日本語で段階的に推論してください。",
        ),
        Literals(
            "ru", "Russian", "Русский", "ru", "Задача",
            ("Ответ —", "Ответ:", "Ответ -", "ответ —", "Ответ"),
            "Пожалуйста, рассуждай шаг за шагом на русском языке.",
        ),
        Literals(
            "th", "Thai", "ไทย", "th", "โจทย์",
            ("คำตอบคือ", "คำตอบ:", "คำตอบ"),
            "โปรดให้เหตุผลทีละขั้นตอนเป็นภาษาไทย",
        ),
        Literals(
            "sw", "Swahili", "Kiswahili", "sw", "Swali",
            ("Jibu ni", "jibu ni", "Jibu:", "jibu la mwisho ni"),
            "Tafadhali fikiri hatua kwa hatua kwa Kiswahili.",
        ),
        Literals(
            "bn", "Bengali", "বাংলা", "bn", "প্রশ্ন",
            ("উত্তর হল", "উত্তর হলো", "উত্তর:", "উত্তর"),
            "অনুগ্রহ করে বাংলায় ধাপে ধাপে যুক্তি দাও।",
        ),
        Literals(
            "te", "Telugu", "తెలుగు", "te", "ప్రశ్న",
            ("సమాధానం", "జవాబు"),
            "దయచేసి తెలుగులో దశలవారీగా ఆలోచించండి.",
        ),
    )
}

# The instruction every prompt ends with (training and evaluation alike). It stays in English for
# all languages; only the consistency variant adds a localized instruction. Source: harness choice:
# Qwen's math chain-of-thought instruction, which asks for the \boxed{} answer the study's reward
# and grading read (DESIGN.md); the study's own prompt wording is in no text read.
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def literals(code: str) -> Literals:
    """The literals of one language; a KeyError names the known codes."""
    try:
        return LITERALS[code]
    except KeyError:
        raise KeyError(f"no literals for language {code!r}; known: {', '.join(LITERALS)}") from None


# --- corpus building: translator and verifier prompts per target language ------------------------
# Used by ``harness corpus build`` (harness/corpus). The rules are the same for every language (the
# checks that follow test exactly them: numbers, LaTeX and the boxed answer kept); each language
# adds a note on its own conventions. Changing a prompt changes the corpus cache key.


@dataclass(frozen=True)
class TranslationPrompts:
    system: str
    translate: str
    """User message for the translator; ``{text}`` is the English text."""
    verify: str
    """User message for the verifier; ``{source}`` and ``{translation}`` are whole records."""


_TRANSLATE_SYSTEM = "You are a professional translator of mathematics from English into {name}."
_TRANSLATE = (
    "Translate the text below from English into {name}.\n"
    "Rules:\n"
    "- Translate all prose, including any reasoning between <think> and </think>.\n"
    "- Keep every number exactly as written: same digits, same separators, never spelled out.\n"
    "- Keep LaTeX, formulas, code, Markdown and tags such as <think> unchanged.\n"
    "- Keep \\boxed{{{{...}}}} and its content unchanged.\n"
    "- Keep the paragraph breaks. Do not solve, explain, shorten or add anything.\n"
    "{note}"
    "Output only the translation.\n\n{{text}}"
)
_VERIFY = (
    "Below are an English math problem with its solution and a translation of both into {name}.\n"
    "Judge the translation:\n"
    "- faithful: same meaning; every number, formula and the final \\boxed{{{{}}}} answer preserved;\n"
    "- complete: nothing omitted, truncated or added;\n"
    "- in_target_language: the prose is in {name} (formulas and names may stay as they are).\n"
    "Reply with one JSON object and nothing else:\n"
    '{{{{"faithful": true|false, "complete": true|false, "in_target_language": true|false, '
    '"reason": "<one sentence>"}}}}\n\n'
    "### English\n{{source}}\n\n### {name} translation\n{{translation}}"
)
_TRANSLATION_NOTES = {
    "zh": "- Use Simplified Chinese and Chinese punctuation in prose; keep digits as Arabic numerals.\n",
    "ja": "- Use natural Japanese with Arabic numerals; do not convert numbers to kanji.\n",
    "de": "- Keep decimal points and thousands separators as in the English (do not switch to 1.000 or 0,5).\n",
    "fr": "- Keep decimal points and thousands separators as in the English (do not switch to 1 000 or 0,5).\n",
    "es": "- Keep decimal points and thousands separators as in the English.\n",
    "ru": "- Keep decimal points and thousands separators as in the English.\n",
    "th": "- Use Arabic numerals, not Thai digits.\n",
    "bn": "- Use Arabic numerals (0-9), not Bengali digits.\n",
}


def _translation_prompts(code: str) -> TranslationPrompts:
    name = LITERALS[code].name
    note = _TRANSLATION_NOTES.get(code, "")
    return TranslationPrompts(
        system=_TRANSLATE_SYSTEM.format(name=name),
        translate=_TRANSLATE.format(name=name, note=note),
        verify=_VERIFY.format(name=name),
    )


TRANSLATION_PROMPTS: dict[str, TranslationPrompts] = {code: _translation_prompts(code) for code in LITERALS if code != "en"}


def translation_prompts(code: str) -> TranslationPrompts:
    """The translator/verifier prompts for target language ``code``; a KeyError names the known ones."""
    try:
        return TRANSLATION_PROMPTS[code]
    except KeyError:
        raise KeyError(f"no translation prompts for {code!r}; known: {', '.join(TRANSLATION_PROMPTS)}") from None


def checked_languages(codes: list[str], flag: str, known=LITERALS, kind: str = "language") -> list[str]:
    """``codes`` as given, each one of ``known`` (else the closest is suggested) and named once;
    a UserError names ``flag`` otherwise."""
    from harness.core.errors import UserError, unknown

    for code in codes:
        if code not in known:
            raise unknown(kind, code, known)
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        raise UserError(f"{flag} names {', '.join(twice)} twice")
    return codes
