"""Built-in rewards called the way TRL's GRPOTrainer calls them, and their registration."""

from __future__ import annotations

import pluggy
import pytest

from harness.core import hookspecs

from harness.plugins import rewards
from harness.plugins.rewards import (
    Reward,
    accuracy_reward,
    combined_reward,
    completion_text,
    consistency_reward,
    get_builtin_rewards,
)
from tests._grading_cases import ALL_LANGS, PHRASE_ANSWERS, RESPONSES, SWITCHING


class MetricLog:
    """Stands in for TRL's ``log_metric(name, value)``."""

    def __init__(self):
        self.values: dict[str, list[float]] = {}

    def __call__(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def last(self, name: str) -> float:
        return self.values[name][-1]


def trl_call(fn, completions, log=None, **columns):
    """Call ``fn`` with exactly the keyword arguments TRL 1.16 passes (grpo_trainer.py,
    _calculate_rewards): prompts, completions, completion_ids, each column, trainer_state,
    log_extra, log_metric."""
    n = len(completions)
    return fn(
        prompts=[[{"role": "user", "content": "question"}]] * n,
        completions=completions,
        completion_ids=[[1, 2, 3]] * n,
        trainer_state=object(),
        log_extra=lambda column, values: None,
        log_metric=log if log is not None else MetricLog(),
        **columns,
    )


def conversational(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


# --- accuracy -----------------------------------------------------------------------------------


def test_accuracy_plain_and_conversational():
    log = MetricLog()
    completions = [RESPONSES["de"], conversational(RESPONSES["zh"]), PHRASE_ANSWERS["en"], "\\boxed{17}"]
    scores = trl_call(accuracy_reward, completions, log, answer=["18"] * 4, lang=["de", "zh", "en", "en"])
    assert scores == [1.0, 1.0, 0.0, 0.0]  # strict: the phrase answer has no box
    assert log.last("grading/boxed_rate") == 0.75
    assert log.last("accuracy") == 0.5
    assert log.last("accuracy/de") == 1.0 and log.last("accuracy/zh") == 1.0
    assert log.last("accuracy/en") == 0.0


def test_accuracy_every_language():
    completions = [RESPONSES[lang] for lang in ALL_LANGS]
    scores = trl_call(accuracy_reward, completions, answer=[18] * len(ALL_LANGS), lang=list(ALL_LANGS))
    assert scores == [1.0] * len(ALL_LANGS)


def test_accuracy_answer_kinds():
    completions = ["\\boxed{\\frac{\\sqrt{2}}{2}}", "答案是 \\boxed{(B)}", "\\boxed{2,125}"]
    scores = trl_call(accuracy_reward, completions, answer=["\\sqrt{2}/2", "B", "2125"],
                      answer_kind=["math", "choice", None])
    assert scores == [1.0, 1.0, 1.0]


def test_accuracy_bad_gold_scores_zero_and_is_logged():
    log = MetricLog()
    scores = trl_call(accuracy_reward, ["\\boxed{18}", "\\boxed{18}"], log, answer=["n/a", "18"])
    assert scores == [0.0, 1.0]
    assert log.last("grading/bad_gold_rate") == 0.5


def test_accuracy_missing_gold_row_is_none():
    assert trl_call(accuracy_reward, ["\\boxed{18}", "\\boxed{3}"], answer=[None, "3"]) == [None, 1.0]


def test_accuracy_needs_the_answer_column():
    with pytest.raises(ValueError, match="'answer'"):
        trl_call(accuracy_reward, ["\\boxed{18}"], solution=["18"])


def test_accuracy_without_log_metric():
    assert accuracy_reward(["q"], ["\\boxed{18}"], answer=["18"]) == [1.0]


def test_accuracy_never_raises_on_odd_completions():
    odd = [None, "", [], [{"role": "assistant"}], [{"role": "assistant", "content": None}],
           {"role": "assistant", "content": "\\boxed{18}"}, "\\boxed{" * 1000]
    scores = trl_call(accuracy_reward, odd, answer=["18"] * len(odd))
    assert scores == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]


# --- consistency --------------------------------------------------------------------------------


def test_consistency_per_language():
    log = MetricLog()
    completions = [RESPONSES[lang] for lang in ALL_LANGS]
    scores = trl_call(consistency_reward, completions, log, answer=["18"] * 11, lang=list(ALL_LANGS))
    assert scores == [1.0] * len(ALL_LANGS)
    assert log.last("consistency") == 1.0
    assert log.last("consistency/th") == 1.0


def test_consistency_wrong_language_and_undetermined():
    log = MetricLog()
    completions = [conversational(RESPONSES["en"]), "\\boxed{18}", SWITCHING, RESPONSES["de"]]
    scores = trl_call(consistency_reward, completions, log, answer=["18"] * 4, lang=["de"] * 4)
    assert scores == [0.0, 0.0, 0.0, 1.0]  # English, no prose, mostly English, German
    assert log.last("consistency") == 0.25


def test_consistency_target_outside_literals():
    korean = "재닛의 오리는 하루에 열여섯 개의 알을 낳습니다. 그녀는 매일 아침 세 개를 먹습니다."
    assert trl_call(consistency_reward, [korean, RESPONSES["ja"]], lang=["ko", "ko"]) == [1.0, 0.0]


def test_consistency_needs_the_lang_column():
    with pytest.raises(ValueError, match="'lang'"):
        trl_call(consistency_reward, ["text"], answer=["1"])


def test_consistency_row_without_target_is_none():
    assert trl_call(consistency_reward, [RESPONSES["de"]], lang=[None]) == [None]


# --- combined -----------------------------------------------------------------------------------


def test_combined_default_weights():
    fn = combined_reward()
    assert fn.__name__ == "accuracy_consistency"
    completions = [RESPONSES["de"], RESPONSES["en"], "\\boxed{17}", PHRASE_ANSWERS["de"]]
    scores = trl_call(fn, completions, answer=["18"] * 4, lang=["de"] * 4)
    # right+German, right+English, wrong+no prose, unboxed (strict: wrong)+German
    assert scores == [1.0, 0.5, 0.0, 0.5]


def test_combined_custom_weights():
    fn = combined_reward({"accuracy": 1.0, "consistency": 0.2}, name="acc_plus_lang")
    assert fn.__name__ == "acc_plus_lang"
    scores = trl_call(fn, [RESPONSES["de"], RESPONSES["en"]], answer=["18", "17"], lang=["de", "de"])
    assert scores == [pytest.approx(1.2), 0.0]


def test_combined_rejects_unknown_parts():
    with pytest.raises(ValueError, match="unknown reward parts"):
        combined_reward({"accuracy": 0.5, "fluency": 0.5})


# --- registration -------------------------------------------------------------------------------


def test_registered_through_the_hook():
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(rewards)
    registered: list[Reward] = []
    pm.hook.register_rewards(register=registered.append)
    assert [r.name for r in registered] == ["accuracy", "consistency", "accuracy_consistency"]
    assert all(callable(r.fn) and r.description for r in registered)


def test_builtin_rewards_in_the_catalog():
    plugin_manager = pytest.importorskip("harness.core.plugins")
    catalog = plugin_manager.collect(plugin_manager.make_plugin_manager(entry_points=False))
    assert {"accuracy", "consistency", "accuracy_consistency"} <= set(catalog.rewards)
    assert catalog.owner[("rewards", "accuracy")] == "harness.plugins.rewards"


def test_builtin_reward_functions_work():
    by_name = {r.name: r.fn for r in get_builtin_rewards()}
    assert trl_call(by_name["accuracy_consistency"], [RESPONSES["fr"]], answer=["18"], lang=["fr"]) == [1.0]


def test_completion_text_shapes():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "tool", "content": "x"},
                            {"role": "assistant", "content": [{"type": "text", "text": "b"}]}]) == "a\nb"
    assert completion_text({"role": "assistant", "content": "c"}) == "c"
    assert completion_text(None) == ""


def test_docs_example_runs():
    # docs/rewards.md's worked example must keep working as the API evolves.
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "rewards.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```python\n(# my_package/rewards.py.*?)```", doc, re.S)
    namespace: dict = {}
    exec(example, namespace)
    log = MetricLog()
    scores = trl_call(namespace["short_and_right"], ["Also \\boxed{18}", "\\boxed{17}"], log,
                      answer=["18", "18"], lang=["de", "de"])
    assert scores[0] > 0.99 and scores[1] == 0.0
    registered: list[Reward] = []
    namespace["register_rewards"](registered.append)
    assert [r.name for r in registered] == ["short_and_right"]
