"""Evidence: a scripted model answers the real MGSM mirror as a script says (boxed right, boxed
wrong, unboxed right, no answer, a corrected box); lm-eval, our task YAMLs, metrics and group must
then report exactly the accuracies the script implies, per language, strict and flexible apart."""

from __future__ import annotations

from fractions import Fraction

import pytest
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness.core.literals import STUDY_LANGUAGES, literals
from harness.lang.prompts import prompt_text
from harness.eval.tasks import tasks_dir

TASKS_DIR = tasks_dir()

LANGS = STUDY_LANGUAGES + ("te",)
# outcome of each script line: (strict correct, flexible correct)
OUTCOMES = {"boxed": (1, 1), "wrong_box": (0, 0), "phrase": (0, 1), "none": (0, 0), "corrected": (1, 1)}


def script(lang: str, doc_id: int) -> str:
    """Which kind of answer the model gives; differs per language so accuracies differ too."""
    shift = LANGS.index(lang)
    if doc_id % (shift + 2) == 0:
        return "boxed"
    if doc_id % 7 == shift % 7:
        return "corrected"
    if doc_id % 3 == 1:
        return "phrase"
    if doc_id % 5 == 2:
        return "wrong_box"
    return "none"


def wrong(answer: str) -> str:
    return str(Fraction(answer.replace(",", "")) + 1)


def respond(kind: str, doc: dict) -> str:
    gold, lang = doc["answer"], doc["lang"]
    phrase = literals(lang).answer_phrases[0]
    return {
        "boxed": f"Step 1: think.\nStep 2: more thinking.\nSo the result is \\boxed{{{gold}}}.",
        "wrong_box": f"Let me compute. \\boxed{{{wrong(gold)}}}",
        "phrase": f"{gold} is what I get after 3 steps. {phrase} {gold}.",
        "none": "I cannot solve this problem.",
        "corrected": f"First guess \\boxed{{{wrong(gold)}}}. No, recheck: \\boxed{{{gold}}}",
    }[kind]


@register_model("xling-scripted")
class ScriptedLM(LM):
    """Answers each MGSM document as :func:`script` says; records the prompts it was shown."""

    def __init__(self, **kwargs):
        super().__init__()
        self.prompts: dict[tuple[str, str], str] = {}

    def generate_until(self, requests, disable_tqdm: bool = False):
        out = []
        for request in requests:
            doc = request.doc
            self.prompts[(doc["lang"], doc["id"])] = request.args[0]
            out.append(respond(script(doc["lang"], int(doc["id"].split("-")[1])), doc))
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def expected(shared_data) -> dict[str, tuple[float, float]]:
    """Accuracies implied by the script, counted from the mirror files directly (not lm-eval)."""
    out = {}
    for lang in LANGS:
        lines = (shared_data / "mgsm" / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()
        counts = [OUTCOMES[script(lang, i)] for i, line in enumerate(lines) if line.strip()]
        out[lang] = (sum(c[0] for c in counts) / len(counts), sum(c[1] for c in counts) / len(counts))
    return out


@pytest.fixture(scope="module")
def evaluated():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared data mirror {SHARED_DATA} is not present")
    import lm_eval
    from lm_eval.tasks import TaskManager

    lm = ScriptedLM()
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"data_dir": str(SHARED_DATA)})
    results = lm_eval.simple_evaluate(model=lm, tasks=["mgsm_xling", "mgsm_xling_te"], task_manager=manager,
                                      log_samples=True, bootstrap_iters=0)
    return lm, results, expected(SHARED_DATA)


def test_per_language_accuracy_is_what_the_script_implies(evaluated):
    _, results, want = evaluated
    for lang in LANGS:
        got = results["results"][f"mgsm_xling_{lang}"]
        assert got["strict_acc,none"] == pytest.approx(want[lang][0]), lang
        assert got["flexible_acc,none"] == pytest.approx(want[lang][1]), lang
        assert got["flexible_acc,none"] > got["strict_acc,none"]  # the unboxed answers count only there
    assert len({round(want[lang][0], 6) for lang in LANGS}) > 5  # the script really varies by language


def test_group_is_the_macro_average_of_the_ten_languages(evaluated):
    _, results, want = evaluated
    group = results["results"]["mgsm_xling"]
    for index, metric in enumerate(("strict_acc", "flexible_acc")):
        mean = sum(want[lang][index] for lang in STUDY_LANGUAGES) / len(STUDY_LANGUAGES)
        assert group[f"{metric},none"] == pytest.approx(mean)
    assert results["group_subtasks"]["mgsm_xling"] == [f"mgsm_xling_{lang}" for lang in STUDY_LANGUAGES]


def test_samples_hold_one_line_per_problem_with_both_metrics(evaluated):
    _, results, _ = evaluated
    samples = results["samples"]["mgsm_xling_de"]
    assert len(samples) == 250 and len({s["doc_id"] for s in samples}) == 250
    first = samples[0]
    assert first["filter"] == "none" and first["metrics"] == ["strict_acc", "flexible_acc"]
    assert first["strict_acc"] == OUTCOMES[script("de", 0)][0]


def test_the_model_saw_the_shared_prompt(evaluated, shared_data):
    lm, _, _ = evaluated
    assert len(lm.prompts) == 250 * len(LANGS)
    for lang in ("en", "th", "bn"):
        question = (shared_data / "mgsm" / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()[3].rsplit("\t", 1)[0]
        assert lm.prompts[(lang, "mgsm-3")] == prompt_text(question, lang)
