from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.core.config import build_config, describe, option, parser_for
from harness.core.errors import UserError


@dataclass
class Cfg:
    learning_rate: float = option(1e-6, help="Learning rate.")
    epochs: int = option(3, help="Epochs.")
    use_vllm: bool = option(False, help="Roll out with vLLM.")
    reward: str = option("accuracy", help="Reward name.")
    languages: list[str] = option(["en"], help="Languages.")
    max_steps: int | None = option(None, help="Stop after this many steps.")


def test_precedence_defaults_then_layers_then_flags():
    cfg = build_config(Cfg, {"learning_rate": 2e-5, "epochs": 1}, {"epochs": 2}, args=["--epochs", "5"])
    assert (cfg.learning_rate, cfg.epochs) == (2e-5, 5)


def test_flags_are_coerced_to_field_types():
    cfg = build_config(Cfg, args=["--use-vllm", "--learning-rate", "3e-4", "--languages", "en,zh",
                                  "--max-steps", "none"])
    assert cfg.use_vllm is True and cfg.learning_rate == 3e-4
    assert cfg.languages == ["en", "zh"] and cfg.max_steps is None
    assert build_config(Cfg, args=["--use-vllm", "false"]).use_vllm is False
    assert build_config(Cfg, {"max_steps": "1e3"}).max_steps == 1000


def test_yaml_values_keep_their_types():
    cfg = build_config(Cfg, {"learning_rate": "1e-5", "languages": ["de"], "use_vllm": "yes"})
    assert cfg.learning_rate == 1e-5 and cfg.languages == ["de"] and cfg.use_vllm is True


def test_unknown_flag_suggests_closest():
    with pytest.raises(UserError, match=r"unknown option '--learning-rat'; did you mean '--learning-rate'\?"):
        build_config(Cfg, args=["--learning-rat", "1"])


def test_unknown_yaml_key_names_where_it_came_from():
    with pytest.raises(UserError, match=r"recipe.yaml: unknown Cfg key 'epoch'; did you mean 'epochs'\?"):
        build_config(Cfg, {"epoch": 1}, where=["recipe.yaml"])


@pytest.mark.parametrize("args", [["--epochs", "two"], ["--epochs", "1.5"], ["--use-vllm", "maybe"]])
def test_bad_values_are_user_errors(args):
    with pytest.raises(UserError, match="must be"):
        build_config(Cfg, args=args)


def test_describe_lists_every_field_with_help():
    rows = describe(Cfg)
    assert [r[0] for r in rows] == ["--learning-rate", "--epochs", "--use-vllm", "--reward", "--languages", "--max-steps"]
    assert rows[0] == ("--learning-rate", "float", "1e-06", "Learning rate.")
    assert rows[-1][1] == "int | None"
    assert "Roll out with vLLM." in parser_for(Cfg).format_help()


def test_list_defaults_are_not_shared_between_instances():
    a, b = Cfg(), Cfg()
    a.languages.append("zh")
    assert b.languages == ["en"]


def test_flags_take_both_spellings_and_negated_booleans():
    from harness.core.config import build_config
    from harness.trainers.sft import SFTOptions

    config = build_config(SFTOptions, args=["--learning_rate", "1e-3", "--max-steps", "5", "--consistency-prompt"])
    assert config.learning_rate == 1e-3 and config.max_steps == 5 and config.consistency_prompt is True
    config = build_config(SFTOptions, {"consistency_prompt": True}, args=["--no-consistency-prompt"])
    assert config.consistency_prompt is False
    config = build_config(SFTOptions, args=["--no_consistency_prompt"])
    assert config.consistency_prompt is False


def test_report_to_takes_trl_names_and_refuses_others():
    from harness.core.errors import UserError
    from harness.trainers.common import report_to

    assert report_to("none") == "none"
    assert report_to("tensorboard,wandb") == ["tensorboard", "wandb"]
    with pytest.raises(UserError, match="unknown --report-to tracker 'tensorbord'; did you mean 'tensorboard'"):
        report_to("tensorbord")


def test_recipe_help_shows_the_recipes_defaults(capsys):
    from tests.helpers import run_cli

    code, out, _ = run_cli(capsys, "train", "-p", "grpo", "-h")
    assert code == 0
    line = next(line for line in out.splitlines() if "--prompts-per-rollout" in line)
    assert "512" in line
