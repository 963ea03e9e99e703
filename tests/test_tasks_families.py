"""Every task family: lm-eval folder conventions, and a scripted model whose accuracies the task's
metrics and group must reproduce exactly (the reasoning families read the shared mirror)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_eval.api.model import LM

from harness.core.registry import load_registry
from harness.eval.taskkit import generate, pass_at_k
from harness.eval.tasks import task_families, tasks_dir
from tests.helpers import plain_yaml, task_utils

TASKS_DIR = tasks_dir()

FAMILIES = task_families()


def test_registry_lists_exactly_the_shipped_families():
    registry = load_registry(task_names=FAMILIES)
    assert sorted(registry.tasks) == FAMILIES
    for name, entry in registry.tasks.items():
        utils = task_utils(name)
        assert entry["languages"] == list(utils.GROUP_LANGUAGES + utils.EXTRA_LANGUAGES)[: len(entry["languages"])]


@pytest.mark.parametrize("family", FAMILIES)
def test_folder_conventions(family, tmp_path):
    folder = TASKS_DIR / family
    assert "## Changelog" in (folder / "README.md").read_text(encoding="utf-8")
    utils = task_utils(family)
    generate(utils, tmp_path)
    generated = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert generated == sorted(p.name for p in folder.glob("*.yaml")), f"run `python -m harness.eval.taskkit {family}`"
    for name in generated:
        assert (tmp_path / name).read_text(encoding="utf-8") == (folder / name).read_text(encoding="utf-8"), name
    group = plain_yaml(folder / f"_{family}.yaml")
    lang = utils.GROUP_LANGUAGES[0]
    task = plain_yaml(folder / f"{family}_{lang}.yaml")
    assert group["metadata"]["version"] == task["metadata"]["version"] == utils.VERSION
    # the group's metric names (and filter) match its children's, else lm-eval silently drops them
    child_metrics = [m["metric"] for m in task["metric_list"]]
    child_filters = [f["name"] for f in task.get("filter_list") or [{"name": "none"}]]
    assert [m["metric"] for m in group["aggregate_metric_list"]] == child_metrics
    for entry in group["aggregate_metric_list"]:
        assert entry["weight_by_size"] is False and entry["filter_list"] == child_filters
    assert not any("\n" in stop for stop in task["generation_kwargs"].get("until", []))


def test_pass_at_k():
    assert pass_at_k(16, 0, 16) == 0.0 and pass_at_k(16, 1, 16) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 4)


# --- scripted model ----------------------------------------------------------------------------


class ScriptedLM(LM):
    """Answers through ``answer(doc, seen)``: ``seen`` counts earlier requests for the same doc
    (task ``repeats`` sends the same request several times)."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.seen: dict[tuple[str, str], int] = {}

    def generate_until(self, requests, disable_tqdm: bool = False):
        out = []
        for request in requests:
            key = (request.doc["lang"], request.doc["id"])
            out.append(self.answer(request.doc, self.seen.get(key, 0)))
            self.seen[key] = self.seen.get(key, 0) + 1
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def _evaluate(answer, tasks, data_dir, limit):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"data_dir": str(data_dir)})
    return lm_eval.simple_evaluate(model=ScriptedLM(answer), tasks=tasks, task_manager=manager, limit=limit,
                                   bootstrap_iters=0, log_samples=False)["results"]


def _index(doc) -> int:
    return int(str(doc["id"]).rsplit("-", 1)[1])


def test_mmath500_scripted(shared_data):
    from harness.data.sources import load_mmath

    def answer(doc, _):
        i = _index(doc)
        if i % 3 == 0:
            return f"Work.\n\\boxed{{{doc['answer']}}}"
        if i % 3 == 1:
            return "\\boxed{\\text{no idea}}"
        return f"... so the answer is {doc['answer']}"  # unboxed: only flexible may count it

    langs = ("en", "zh", "es", "fr", "ja", "th")
    results = _evaluate(answer, ["mmath500_xling"], shared_data, limit=6)
    means = []
    for lang in langs:
        ids = [_index(r) for r in load_mmath(lang, shared_data)[:6]]
        want = sum(1 for i in ids if i % 3 == 0) / 6
        means.append(want)
        assert results[f"mmath500_xling_{lang}"]["strict_acc,none"] == pytest.approx(want), lang
    assert results["mmath500_xling"]["strict_acc,none"] == pytest.approx(sum(means) / len(means))
    assert "mmath500_xling_ar" not in results  # extra languages stay outside the group


def test_mmath_data_is_the_math500_part(shared_data):
    from harness.data.sources import load_mmath

    rows = load_mmath("ja", shared_data)
    assert len(rows) == 311 and {r["source"] for r in rows} == {"MATH500"} and rows[0]["kind"] == "math"


def test_maime2024_scripted_pass_at_16(shared_data):
    # doc i of every language: the first (i % 4) of its 16 samples are right
    def answer(doc, seen):
        return f"\\boxed{{{doc['answer']}}}" if seen < _index(doc) % 4 else "\\boxed{1000}"

    from harness.data.sources import load_aime2024

    ids = [_index(r) for r in load_aime2024("de", shared_data)[:4]]
    results = _evaluate(answer, ["maime2024_xling_de", "maime2024_xling_te"], shared_data, limit=4)
    for lang in ("de", "te"):
        got = results[f"maime2024_xling_{lang}"]
        assert got["strict_acc,samples"] == pytest.approx(sum(i % 4 for i in ids) / 16 / 4)
        assert got["pass@16,samples"] == pytest.approx(sum(1 for i in ids if i % 4) / 4)


def test_mgpqa_scripted_letters(shared_data):
    def answer(doc, _):
        gold = doc["answer"]
        other = "A" if gold != "A" else "B"
        i = _index(doc)
        if i % 4 == 0:
            return f"Thinking.\n\\boxed{{{gold}}}"
        if i % 4 == 1:
            return f"\\boxed{{{other}}}"
        if i % 4 == 2:
            return f"The answer is ({gold})."
        return "Hmm."

    results = _evaluate(answer, ["mgpqa_diamond_xling"], shared_data, limit=8)
    for lang in ("en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn"):  # the group: the study's ten
        got = results[f"mgpqa_diamond_xling_{lang}"]
        assert got["strict_acc,none"] == pytest.approx(2 / 8)
        assert got["flexible_acc,none"] == pytest.approx(4 / 8)
    assert results["mgpqa_diamond_xling"]["flexible_acc,none"] == pytest.approx(0.5)


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_mmlu_prox_lite_prompt_and_scripted_letters():
    from harness.data.sources import load_mmlu_prox_lite
    from harness.lang.prompts import prompt_text

    rows = load_mmlu_prox_lite("de", FIXTURES)
    assert rows[0]["question"] == "Frage:\nWas ist 7 mal 8?\nOptionen:\nA. 54\nB. 56\nC. 58\nD. 64"
    assert rows[2]["question"].endswith("F. 10") and rows[1]["answer"] == "C"

    def answer(doc, _):  # right (boxed) for the first two questions, boxed wrong for the rest
        i = _index(doc) - 9000
        return f"\\boxed{{{doc['answer']}}}" if i < 2 else "\\boxed{A}"

    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"data_dir": str(FIXTURES)})
    lm = ScriptedLM(answer)
    # The fixtures hold En/Zh/De: the named three-language subgroup (the group has all ten).
    out = lm_eval.simple_evaluate(model=lm, tasks=["mmlu_prox_lite_xling_enzhde"], task_manager=manager,
                                  bootstrap_iters=0, log_samples=True)
    for lang in ("en", "zh", "de"):
        assert out["results"][f"mmlu_prox_lite_xling_{lang}"]["strict_acc,none"] == pytest.approx(0.5)
    assert out["results"]["mmlu_prox_lite_xling_enzhde"]["strict_acc,none"] == pytest.approx(0.5)
    first = out["samples"]["mmlu_prox_lite_xling_zh"][0]
    assert first["arguments"][0][0] == prompt_text(rows_zh_first(), "zh")


def rows_zh_first() -> str:
    from harness.data.sources import load_mmlu_prox_lite

    return load_mmlu_prox_lite("zh", FIXTURES)[0]["question"]


def test_mmlu_prox_lite_bad_answer_stops_the_load(tmp_path):
    from harness.data.sources import DataError, load_mmlu_prox_lite

    (tmp_path / "mmlu_prox_lite").mkdir()
    row = json.loads((FIXTURES / "mmlu_prox_lite" / "en.jsonl").read_text().splitlines()[0])
    row["answer"] = "E"  # only four options
    (tmp_path / "mmlu_prox_lite" / "en.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="row 0 has answer 'E'"):
        load_mmlu_prox_lite("en", tmp_path)
    with pytest.raises(DataError, match="li-lab/MMLU-ProX-Lite"):
        load_mmlu_prox_lite("fr", tmp_path)


def test_toy_xling_scripted_offline(tmp_path):
    """The built-in family needs no data dir: boxed gold on even problems, plain gold on odd ones."""
    from harness.core.literals import STUDY_LANGUAGES

    def answer(doc, _):
        if _index(doc) % 2 == 0:
            return f"Let me think.\n\\boxed{{{doc['answer']}}}"
        return f"{doc['answer']}"  # right, but unboxed: strict misses it, flexible finds the number

    results = _evaluate(answer, ["toy_xling"], tmp_path, limit=10)
    for lang in STUDY_LANGUAGES:
        assert results[f"toy_xling_{lang}"]["strict_acc,none"] == 0.5
        assert results[f"toy_xling_{lang}"]["flexible_acc,none"] == 1.0
    assert results["toy_xling"]["strict_acc,none"] == 0.5
