"""The CLI's contract: listings show what is registered; user errors are one sentence, exit 2,
no traceback (unless --debug)."""

from __future__ import annotations

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize("command", [[], ["train"], ["eval"], ["ls"], ["plugins"], ["validate"], ["tiny"]])
def test_help_on_each_command(capsys, command):
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    assert "Usage" in out


def test_ls_languages_and_models(capsys):
    code, out, _ = run_cli(capsys, "ls", "languages")
    assert code == 0
    for code_, name in [("zh", "Chinese"), ("sw", "Swahili"), ("bn", "Bengali")]:
        assert code_ in out and name in out
    code, out, _ = run_cli(capsys, "ls", "models")
    assert "Qwen/Qwen2.5-3B" in out and "builtin:tiny" in out


def test_ls_rewards_and_paradigms_show_owners(capsys):
    code, out, _ = run_cli(capsys, "ls", "rewards")
    assert code == 0 and "accuracy_consistency" in out and "harness.plugins.rewards" in out
    code, out, _ = run_cli(capsys, "ls", "paradigms")
    assert code == 0 and "example_lm" in out


def test_plugins_lists_contributions(capsys):
    code, out, _ = run_cli(capsys, "plugins")
    assert code == 0
    assert "harness.plugins.rewards" in out and "example_lm" in out and "paradigms: example_lm" in out
    assert "harness-example-paradigm 0.1.0" in " ".join(out.split())
    # Plugins that add steps around every evaluation say so (Gen, the probes, the example's post_eval).
    assert "hooks: post_eval" in " ".join(out.split()) and "validate_eval" in out


def test_validate_reports_counts(capsys):
    code, out, _ = run_cli(capsys, "validate")
    assert code == 0 and out.startswith("ok ") and "11 languages" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--plugin", "exampel_lm"], "unknown plugin 'exampel_lm'; did you mean 'example_lm'?"),
        (["train", "--plugin", "example_lm", "--lang", "dee"], "unknown language 'dee'; did you mean 'de'?"),
        (["train", "--plugin", "example_lm", "--stepz", "3"], "unknown option '--stepz'; did you mean '--steps'?"),
        (["train", "--plugin", "example_lm", "--steps", "three"], "--steps must be int, got 'three'"),
        (["train"], "harness train needs --plugin NAME"),
        (["train", "--plugin", "example_lm", "--resume"], "--resume needs the --run-dir"),
        (["train", "--plugin", "example_lm", "--data", "missing.jsonl"], "training data missing.jsonl does not exist"),
        (["train", "--plugin", "example_lm", "--model", "./no/such/model"], "model path ./no/such/model does not exist"),
        (["eval", "--tasks", "mgsm_xlingg"], "unknown task 'mgsm_xlingg'"),
        (["--registry", "nowhere.yaml", "ls", "models"], "registry file nowhere.yaml does not exist"),
    ],
)
def test_user_errors_are_one_sentence_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err and err.strip().startswith("error:")
    assert len(err.strip().splitlines()) <= 2  # one sentence (rich may wrap it once)


def test_debug_shows_the_traceback(capsys):
    code, _, err = run_cli(capsys, "--debug", "train", "--plugin", "nope")
    assert code == 2 and "Traceback" in err


def test_usage_errors_exit_2(capsys):
    code, _, err = run_cli(capsys, "ls", "widgets")
    assert code == 2 and "widgets" in err


def test_train_help_with_plugin_lists_its_flags(capsys):
    code, out, _ = run_cli(capsys, "train", "--plugin", "example_lm", "--help")
    assert code == 0
    assert "--learning-rate" in out and "AdamW learning rate." in out


def test_bad_training_data_is_reported_before_training(capsys, tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"question": "q", "solution": "s", "answer": "12", "lang": "de"}\n'
                    '{"question": "q", "solution": "", "answer": "3", "lang": "de"}\n')
    code, _, err = run_cli(capsys, "train", "--plugin", "example_lm", "--lang", "de", "--data", str(data))
    assert code == 2 and "record 1: missing or empty solution" in err
    data.write_text('{"question": "q", "solution": "s", "answer": "twelve", "lang": "de"}\n')
    code, _, err = run_cli(capsys, "train", "--plugin", "example_lm", "--lang", "de", "--data", str(data))
    assert code == 2 and "unparsable answer 'twelve'" in err
