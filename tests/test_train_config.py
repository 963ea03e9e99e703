"""Training paradigms without training: TRL argument mapping, datasets, rewards, registry recipes."""

from __future__ import annotations

import dataclasses

import pytest

from harness.core.config import build_config, describe, fields
from harness.core.errors import UserError
from harness.core.plugins import get_catalog
from harness.core.registry import load_registry
from harness.plugins.cold_start import ColdStartOptions, sft_options
from harness.plugins.rewards import get_builtin_rewards
from harness.plugins.rft import keep_correct, sampling_report
from harness.trainers import callbacks
from harness.trainers.grpo import GRPOOptions, grpo_arguments, grpo_dataset, reward_functions, rollout_batching
from harness.trainers.sft import SFTOptions, sft_arguments, sft_dataset

PARADIGMS = ("sft", "grpo", "grpo_consistency", "rft", "cold_start", "mixed")


# --- the study's rollout batch on TRL's batch settings --------------------------------------------


def test_512_prompts_per_rollout_are_two_updates_of_256_prompts_as_in_verl(tmp_path):
    args = grpo_arguments(GRPOOptions(), tmp_path, processes=1)
    assert args.generation_batch_size == 512 * 8  # TRL counts completions
    assert args.steps_per_generation == 2 * args.gradient_accumulation_steps  # verl: ppo_mini_batch_size 256
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps == 256 * 8
    assert (args.num_generations, args.temperature, args.top_p, args.beta) == (8, 1.0, 1.0, 0.001)
    assert args.learning_rate == 1e-6 and args.num_train_epochs == 3 and args.loss_type == "dapo"
    assert (args.weight_decay, args.max_grad_norm, args.epsilon, args.lr_scheduler_type) == (0.01, 1.0, 0.2, "constant")
    assert args.warmup_steps == 0 and args.use_liger_kernel is False  # no Liger on a CPU


def test_the_named_algorithm_is_one_flag_away(tmp_path):
    options = build_config(GRPOOptions, args=["--loss-type", "grpo", "--updates-per-rollout", "1"])
    args = grpo_arguments(options, tmp_path, processes=1)
    assert args.loss_type == "grpo" and args.steps_per_generation == args.gradient_accumulation_steps


@pytest.mark.parametrize("processes, micro, updates", [(1, 8, 1), (8, 16, 1), (4, 8, 2), (2, 32, 4)])
def test_rollout_batching_on_several_processes(processes, micro, updates):
    batching = rollout_batching(512, 8, micro, updates, processes=processes)
    per_update = micro * processes * batching["gradient_accumulation_steps"]
    assert per_update * updates == 512 * 8
    assert batching["steps_per_generation"] == batching["gradient_accumulation_steps"] * updates
    # TRL's own derivation of the generation batch from these settings:
    assert micro * processes * batching["steps_per_generation"] == 512 * 8


def test_rollout_batching_rejects_what_does_not_divide():
    with pytest.raises(UserError, match=r"multiple of micro_batch_size × processes \(8 × 6 = 48\)"):
        rollout_batching(512, 8, 8, processes=6)
    with pytest.raises(UserError, match="at least 2"):
        rollout_batching(512, 1, 8)
    with pytest.raises(UserError, match="updates_per_rollout"):
        rollout_batching(3, 2, 1, updates_per_rollout=4)


def test_cpu_arguments_switch_off_bf16_and_checkpointing(tmp_path):
    for args in (grpo_arguments(GRPOOptions(micro_batch_size=64), tmp_path, processes=1),
                 sft_arguments(SFTOptions(), tmp_path, processes=1)):
        assert args.use_cpu and not args.bf16 and not args.gradient_checkpointing
        assert args.disable_tqdm and args.report_to in ([], "none", ["none"])
        assert args.output_dir == str(tmp_path / "checkpoints")


def test_sft_batch_32_is_micro_batches_times_accumulation(tmp_path):
    args = sft_arguments(SFTOptions(), tmp_path, processes=2)
    assert args.per_device_train_batch_size * 2 * args.gradient_accumulation_steps == 32
    assert (args.learning_rate, args.lr_scheduler_type, args.num_train_epochs) == (2e-5, "cosine", 3.0)
    assert args.completion_only_loss


def test_unknown_loss_type_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="unknown loss_type 'grp'"):
        grpo_arguments(GRPOOptions(loss_type="grp", micro_batch_size=64), tmp_path, processes=1)


# --- datasets ------------------------------------------------------------------------------------


RECORDS = [
    {"id": "a", "question": "Anna has 2 apples. She buys 1 more. How many?", "solution": "2 + 1 = 3. \\boxed{3}",
     "answer": "3", "lang": "en"},
    {"id": "b", "question": "Lena hat 2 Äpfel. " * 40, "solution": "\\boxed{3}", "answer": "3", "lang": "de"},
]


def test_sft_dataset_is_conversational_prompt_completion():
    row = sft_dataset(RECORDS[:1])[0]
    assert row["prompt"] == [{"role": "user", "content": RECORDS[0]["question"] +
                              "\nPlease reason step by step, and put your final answer within \\boxed{}."}]
    assert row["completion"] == [{"role": "assistant", "content": RECORDS[0]["solution"]}]
    consistent = sft_dataset(RECORDS[1:], consistency=True)[0]["prompt"][0]["content"]
    assert consistent.endswith("Bitte denke Schritt für Schritt auf Deutsch nach.")


def test_grpo_dataset_filters_long_prompts_and_keeps_reward_columns(tiny_tokenizer):
    dataset, too_long = grpo_dataset(RECORDS, tiny_tokenizer, consistency=False, max_prompt_length=120)
    assert too_long == 1 and len(dataset) == 1
    assert dataset[0]["answer"] == "3" and dataset[0]["lang"] == "en" and dataset[0]["answer_kind"] == "number"
    with pytest.raises(UserError, match="every training prompt is longer"):
        grpo_dataset(RECORDS, tiny_tokenizer, consistency=False, max_prompt_length=5)


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from transformers import AutoTokenizer

    from harness.inference.tiny import tiny_model_path

    return AutoTokenizer.from_pretrained(tiny_model_path())


# --- rewards and their per-language logs -----------------------------------------------------------


def _call(functions, completions, langs, answers):
    logged: dict[str, list[float]] = {}
    values = functions[0](prompts=[[]] * len(completions), completions=completions, answer=answers, lang=langs,
                          log_metric=lambda name, value: logged.setdefault(name, []).append(value))
    return values, logged


BUILTIN_REWARDS = {r.name: r for r in get_builtin_rewards()}


def test_accuracy_reward_logs_accuracy_and_consistency_per_language():
    functions = reward_functions("accuracy", BUILTIN_REWARDS)
    assert [f.__name__ for f in functions] == ["accuracy"]
    completions = [[{"role": "assistant", "content": "It is \\boxed{3}."}],
                   [{"role": "assistant", "content": "Die Antwort ist \\boxed{4}."}]]
    values, logged = _call(functions, completions, ["en", "de"], ["3", "3"])
    assert values == [1.0, 0.0]
    assert logged["reward/en"] == [1.0] and logged["reward/de"] == [0.0]
    assert logged["accuracy/en"] == [1.0] and logged["accuracy/de"] == [0.0]
    assert "consistency/de" in logged  # a monitor: logged, not rewarded


def test_unknown_reward_suggests_one():
    with pytest.raises(UserError, match="did you mean 'accuracy'"):
        reward_functions("acuracy", BUILTIN_REWARDS)


def test_rewards_come_from_the_caller():
    with pytest.raises(UserError, match="context.rewards"):
        reward_functions("accuracy", None)


def test_per_language_means_skip_unscored():
    assert callbacks.per_language_means([1.0, None, 0.0, 1.0], ["en", "en", "de", "de"]) == {"en": 1.0, "de": 0.5}


def test_metrics_logger_writes_one_record_per_log():
    records = []
    logger = callbacks.MetricsLogger(records.append)
    state = type("State", (), {"is_world_process_zero": True, "global_step": 3, "epoch": 0.123456})()
    logger.on_log(None, state, None, logs={"loss": 0.5, "reward": float("nan")})
    assert records == [{"step": 3, "epoch": 0.1235, "loss": 0.5, "reward": None}]


# --- RFT selection ---------------------------------------------------------------------------------


def test_rft_keeps_distinct_correct_responses():
    records = [{"id": "1", "question": "q", "answer": "3", "lang": "en", "solution": "ref"}]
    samples = [["\\boxed{3}", "  \\boxed{3} ", "\\boxed{4}", "so \\boxed{3}"]]
    verdicts = [[True, True, False, True]]
    kept = keep_correct(records, samples, verdicts)
    assert [r["solution"] for r in kept] == ["\\boxed{3}", "so \\boxed{3}"]
    assert keep_correct(records, samples, verdicts, max_per_problem=1)[0]["solution"] == "\\boxed{3}"
    report = sampling_report(records, verdicts, kept, "m")
    assert report["sample_accuracy/en"] == 0.75 and report["solved/en"] == 1.0 and report["kept/en"] == 2


# --- paradigms, configs, registry --------------------------------------------------------------------


def test_all_paradigms_are_registered():
    catalog = get_catalog()
    assert set(PARADIGMS) <= set(catalog.paradigms)
    for name in PARADIGMS:  # each built-in paradigm module is its own default plugin
        assert catalog.owner[("paradigms", name)] == f"harness.plugins.{name}"


@pytest.mark.parametrize("name", PARADIGMS)
def test_every_option_has_help(name):
    for flag, _, _, help_text in describe(get_catalog().paradigms[name].config_class):
        assert help_text.strip(), f"{name} {flag} has no help text"


def test_registry_recipes_build_valid_configs():
    catalog = get_catalog()
    registry = load_registry(plugins=catalog.paradigms)
    for name in registry.paradigms:
        plugin, defaults, where = registry.paradigm_defaults(name)
        build_config(catalog.paradigms[plugin].config_class, defaults, where=[where])
    assert registry.paradigm_defaults("grpo_consistency_reward")[1]["consistency_reward"] is True
    assert registry.paradigm_defaults("cold_start_100")[1]["sft_steps"] == 100
    assert set(registry.experiments["main"]["paradigms"]) == {"sft", "grpo"}


def test_flags_override_registry_defaults():
    config = build_config(GRPOOptions, {"learning_rate": 1e-6}, args=["--learning-rate", "5e-5", "--use-vllm"])
    assert config.learning_rate == 5e-5 and config.use_vllm is True


def test_cold_start_sft_stage_uses_its_own_settings():
    config = ColdStartOptions(sft_steps=100, learning_rate=1e-6, consistency_prompt=True, sft_micro_batch_size=4,
                              save_steps=7, report_to="tensorboard")
    sft = sft_options(config)
    assert (sft.max_steps, sft.learning_rate, sft.lr_scheduler_type, sft.batch_size) == (100, 2e-5, "cosine", 32)
    assert (sft.micro_batch_size, sft.weight_decay, sft.save_steps) == (4, 0.0, 200)  # SFT's own optimizer
    assert sft.consistency_prompt is True and sft.report_to == "tensorboard"  # run-wide settings
    assert sft_options(ColdStartOptions(max_steps=5)).max_steps == 5  # a full SFT stage is bounded too
    grpo_fields = {f.name for f in fields(GRPOOptions)}
    assert grpo_fields <= {f.name for f in dataclasses.fields(ColdStartOptions)}
