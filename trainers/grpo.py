"""GRPO with verifiable rewards: a thin adapter over TRL's ``GRPOTrainer``.

The study ran RL on verl; where the paper is silent, verl's ``ppo_trainer.yaml`` defaults hold
(every option names its source; ``docs/training.md`` has the table). They map onto TRL 1.16 so:

- "512 prompts per rollout, mini-batches of 256 prompts" (verl ``ppo_mini_batch_size: 256``,
  ``ppo_epochs: 1``): two optimizer updates per rollout. TRL counts *completions*: a rollout of
  P prompts × G samples is ``generation_batch_size = P·G``, split into ``U`` updates of
  ``P·G/U`` completions, ``steps_per_generation = U × gradient_accumulation_steps``
  (:func:`rollout_batching`; tested).
- verl's ``loss_agg_mode: token-mean`` is TRL's ``loss_type="dapo"``: the token losses summed
  over every completion of one optimizer update, divided by that update's completion-token
  count (over micro-batches and processes). TRL's ``"bnpo"`` takes that mean per micro-batch
  (what verl did before it normalised globally); ``"grpo"`` (the named algorithm, DeepSeekMath)
  averages per sequence first, so short completions weigh more. All are one flag away.
- The KL term: TRL adds ``beta · (exp(ref - logp) - (ref - logp) - 1)`` per token to the loss,
  Schulman's k3 estimator, which is verl's ``low_var_kl`` (verl also clamps it to ±10).
- ``beta`` (KL coefficient) 0.001 > 0, so TRL loads a reference model from the policy's
  ``config._name_or_path``: the policy is always given as a path on disk.
- TRL 1.16 dropped ``max_prompt_length``: prompts longer than ``max_prompt_length`` tokens are
  filtered out here, and counted in the metrics log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.config import option
from harness.core.errors import UserError, unknown
from harness.inference import on_cpu
from harness.lang.prompts import prompt_messages
from harness.trainers import common
from harness.trainers.common import Outcome
from harness.trainers.options import TrainOptions, training_arguments

log = logging.getLogger("harness.train")

# TRL 1.16 also knows luspo and vespo; the harness offers the losses it documents (docs/training.md).
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")
# What each built-in reward already measures (the rest are logged as monitors beside it).
REWARD_PARTS = {"accuracy": {"accuracy"}, "consistency": {"consistency"},
                "accuracy_consistency": {"accuracy", "consistency"}}
MONITORS = ("accuracy", "consistency")


@dataclass
class GRPOOptions(TrainOptions):
    """Hyperparameters of GRPO (flags of `harness train --plugin grpo`); TrainOptions' defaults are GRPO's."""

    prompts_per_rollout: int = option(512, help="Distinct prompts per rollout, over all processes.", source="paper",
                                      ge=1)
    num_generations: int = option(8, help="Completions sampled per prompt (the group size G, at least 2).",
                                  source="harness choice: paper and verl leave it to the user; 8 is TRL's default",
                                  ge=2)  # GRPO's advantage compares completions within a group
    updates_per_rollout: int = option(2, help="Optimizer updates per rollout (verl: rollout / ppo_mini_batch_size); "
                                              "it divides prompts_per_rollout × num_generations.",
                                      source="verl default", ge=1)
    micro_batch_size: int = option(8, help="Completions per forward pass and process (the rest: gradient accumulation).",
                                   source="harness choice: memory only, the maths does not change", ge=1)
    # Above 0: TRL samples rollouts (do_sample); a greedy group is one completion G times, no advantage.
    temperature: float = option(1.0, help="Sampling temperature of rollouts (above 0).", source="paper", gt=0)
    top_p: float = option(1.0, help="Nucleus sampling of rollouts, in (0, 1].", source="verl default", gt=0, le=1)
    beta: float = option(0.001, help="KL coefficient (k3 estimator, as a loss term); > 0 loads a reference model.",
                         source="paper", ge=0)
    loss_type: str = option("dapo", help=f"TRL loss aggregation: {', '.join(LOSS_TYPES)}; dapo is verl's token-mean, "
                                         "grpo the named algorithm's (see docs/training.md).",
                            source="verl default", choices=LOSS_TYPES)
    scale_rewards: str = option("group", help="Advantage scaling: group (std within the group), batch or none.",
                                source="verl default", choices=SCALE_REWARDS)
    # Below 1: the ratio's lower clip 1 - epsilon must stay positive.
    epsilon: float = option(0.2, help="PPO clipping range, in (0, 1).", source="verl default", gt=0, lt=1)
    max_prompt_length: int = option(512, help="Prompts longer than this many tokens are left out.",
                                    source="verl default", ge=1)
    max_completion_length: int = option(1024, help="Longest completion sampled, in tokens (with max_prompt_length, "
                                                   "at most the model's positions).",
                                        source="harness choice: verl's 512 cuts a 3B base model's chains of thought",
                                        ge=1)
    reward: str = option("accuracy", help="Reward function by name (see `harness ls rewards`).", source="paper",
                         nonempty=True)
    use_vllm: bool = option(False, help="Sample rollouts with vLLM instead of transformers generate.",
                            source="harness choice: runs anywhere; experiments turn it on for GPUs")
    vllm_mode: str = option("colocate", help="vLLM mode: colocate (inside training) or server (a `vllm serve`).",
                            source="TRL default", choices=VLLM_MODES)
    vllm_server_url: str = option("", help="Server mode: base URL of the vLLM server (default http://localhost:8000).",
                                  source="TRL default")
    vllm_gpu_memory_utilization: float = option(0.3, help="Colocate mode: share of GPU memory vLLM may take, in (0, 1].",
                                                source="TRL default", gt=0, le=1)
    log_completions: bool = option(False, help="Print a sample of prompts and completions at each log.",
                                   source="TRL default")
    log_rollout_prompts: bool = option(False, help="Record the prompts each process drew in each rollout (event "
                                                   "rollout_prompts in metrics.jsonl).",
                                       source="harness choice: a check of the data split, off for long runs")

    def check(self) -> None:
        """The shared rules, then a rollout's batch arithmetic (:func:`rollout_batching`, as
        training calls it; a model alias's micro-batch larger than an update is lowered to it)."""
        super().check()
        completions = self.prompts_per_rollout * self.num_generations
        if self.updates_per_rollout >= 1 and completions % self.updates_per_rollout == 0:
            common.fit_micro_batch(self, completions // self.updates_per_rollout, what=PER_UPDATE)
        rollout_batching(self.prompts_per_rollout, self.num_generations, self.micro_batch_size,
                         self.updates_per_rollout)
        url = self.vllm_server_url.strip()
        if url and not (self.use_vllm and self.vllm_mode == "server"):
            raise UserError("--vllm-server-url is for --use-vllm --vllm-mode server")
        if url and not url.startswith(("http://", "https://")):
            raise UserError(f"--vllm-server-url must be an http:// or https:// URL, got {url!r}")

    def sequence_lengths(self) -> dict[str, int]:
        """The longest sequences training feeds the model, by the options that set them (the
        command checks them against the model's positions)."""
        return {"--max-prompt-length + --max-completion-length": self.max_prompt_length + self.max_completion_length}


PER_UPDATE = "prompts_per_rollout × num_generations / updates_per_rollout"


def check_prompts(options: GRPOOptions, prompts: int) -> None:
    """Refuse fewer training prompts than one rollout: TRL would silently train zero steps."""
    if prompts < options.prompts_per_rollout:
        raise UserError(f"GRPO needs at least prompts_per_rollout ({options.prompts_per_rollout}) training prompts, "
                        f"got {prompts}; lower --prompts-per-rollout or train on more problems")


def check_rollout(config: GRPOOptions, *, train: Sequence[dict], model: str | None = None,
                  resolve_model: Callable[[str], str] | None = None, **_: Any) -> None:
    """A GRPO-based paradigm's ``check`` (before the run directory exists): enough prompts for one
    rollout; in vLLM server mode, a server that answers, serves the model training starts from
    (``model``, resolved, where the command passes it) and takes weight updates, and a trainer
    that can send them (:func:`harness.trainers.vllm_server.check_server_mode`)."""
    check_prompts(config, len(train))
    if config.use_vllm and config.vllm_mode == "server":
        from harness.trainers.vllm_server import check_server_mode

        check_server_mode(config, resolve_model(model) if model and resolve_model else model)


def rollout_batching(prompts_per_rollout: int, num_generations: int, micro_batch_size: int,
                     updates_per_rollout: int = 1, processes: int | None = None) -> dict[str, int]:
    """TRL batch settings for "P prompts per rollout, U updates per rollout".

    TRL counts completions: a rollout is ``P·G`` completions, split over ``U`` optimizer updates of
    ``P·G/U`` completions each, which ``micro_batch_size × processes × accumulation`` must equal.
    TRL samples anew every ``steps_per_generation`` micro-steps, so that is ``accumulation × U``.
    """
    if num_generations < 2:
        raise UserError("num_generations must be at least 2 (GRPO compares completions within a group)")
    completions = prompts_per_rollout * num_generations
    if updates_per_rollout < 1 or completions % updates_per_rollout:
        raise UserError(f"prompts_per_rollout × num_generations ({completions}) must be a multiple of "
                        f"updates_per_rollout ({updates_per_rollout})")
    accumulation = common.accumulation_steps(completions // updates_per_rollout, micro_batch_size, processes,
                                             what=PER_UPDATE)
    return {
        "per_device_train_batch_size": micro_batch_size,
        "gradient_accumulation_steps": accumulation,
        "steps_per_generation": accumulation * updates_per_rollout,
    }


def grpo_arguments(options: GRPOOptions, output_dir: Path, *, seed: int = 0, processes: int | None = None):
    """The ``trl.GRPOConfig`` for ``options``, with checkpoints under ``output_dir/checkpoints``."""
    from trl import GRPOConfig

    if options.loss_type not in LOSS_TYPES:
        raise unknown("loss_type", options.loss_type, LOSS_TYPES)
    # Weights load in float32 (TRL's default) and bf16 runs as autocast on GPUs: updates at the
    # study's lr 1e-6 would vanish in bfloat16 weights.
    vllm = _vllm_arguments(options, on_cpu()) if options.use_vllm else {}
    return GRPOConfig(
        **training_arguments(options, output_dir, seed=seed),
        num_generations=options.num_generations,
        temperature=options.temperature,
        top_p=options.top_p,
        beta=options.beta,
        loss_type=options.loss_type,
        scale_rewards=options.scale_rewards,
        epsilon=options.epsilon,
        max_completion_length=options.max_completion_length,
        num_iterations=1,
        disable_dropout=True,
        log_completions=options.log_completions,
        **rollout_batching(options.prompts_per_rollout, options.num_generations, options.micro_batch_size,
                           options.updates_per_rollout, processes),
        **vllm,
    )


def _vllm_arguments(options: GRPOOptions, cpu: bool) -> dict[str, Any]:
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise UserError("--use-vllm needs the vllm package (pip install 'xling-harness[vllm]')") from None
    if options.vllm_mode not in VLLM_MODES:
        raise unknown("vllm_mode", options.vllm_mode, VLLM_MODES)
    settings: dict[str, Any] = {"use_vllm": True, "vllm_mode": options.vllm_mode}
    if options.vllm_mode == "server":
        from harness.trainers.vllm_server import server_url

        settings["vllm_server_base_url"] = server_url(options)  # the URL check_rollout asked
    else:
        settings["vllm_gpu_memory_utilization"] = options.vllm_gpu_memory_utilization
        settings["vllm_max_model_length"] = options.max_prompt_length + options.max_completion_length
        if cpu:
            from harness.trainers.vllm_cpu import prepare_colocate

            prepare_colocate()
    return settings


# --- data and rewards ---------------------------------------------------------------------------


def grpo_dataset(records: Sequence[dict], tokenizer, *, consistency: bool, max_prompt_length: int):
    """(dataset, number of prompts left out as too long). Columns: prompt (conversational),
    answer, lang and answer_kind, which TRL hands to the reward functions."""
    from datasets import Dataset

    rows, too_long = [], 0
    for record in records:
        prompt = prompt_messages(record["question"], record["lang"], consistency=consistency)
        length = len(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True,
                                                   return_dict=True)["input_ids"])
        if length > max_prompt_length:
            too_long += 1
            continue
        rows.append({
            "prompt": prompt, "answer": str(record["answer"]), "lang": record["lang"],
            "answer_kind": record.get("answer_kind") or "number", "id": str(record.get("id", "")),
        })
    if not rows:
        raise UserError(f"every training prompt is longer than max_prompt_length={max_prompt_length} tokens")
    return Dataset.from_list(rows), too_long


def reward_functions(name: str, rewards: Mapping[str, Any] | None) -> list[Callable]:
    """The TRL reward function for the reward called ``name`` in ``rewards`` (by name: what a
    paradigm gets as ``context.rewards``), logging per-language means, with accuracy and language
    consistency measured beside it (when it does not include them)."""
    from harness.trainers import callbacks  # imports transformers: only when training

    reward = reward_function(name, rewards)
    parts = REWARD_PARTS.get(name, set())
    monitors = [(m, reward_function(m, rewards)) for m in MONITORS if m not in parts and m in rewards]
    return [callbacks.language_tracked(reward, name, monitors)]


def reward_function(name: str, rewards: Mapping[str, Any] | None) -> Callable:
    """The function of the reward called ``name`` in ``rewards`` (Rewards or plain functions by name)."""
    if rewards is None:
        raise UserError("GRPO needs the rewards by name: a paradigm passes context.rewards, which a "
                        "TrainContext built without rewards= lacks")
    if name not in rewards:
        raise unknown("reward", name, rewards)
    return getattr(rewards[name], "fn", rewards[name])


def prompts_recorded(reward: Callable, log_fn: Callable[[dict], None]) -> Callable:
    """``reward``, which also records the prompt ids of each rollout, per process: TRL calls the
    reward functions once per rollout on every process, each with its share of the completions
    (a prompt once per completion), so the prompts gathered here show how a rollout was split. A
    prompt is ``lang:id`` (parallel corpora give a problem one id in every language)."""
    from accelerate.utils import gather_object

    def recorded(prompts, completions, **columns):
        mine = [f"{lang}:{id_}" for lang, id_ in zip(columns["lang"], columns["id"])]
        by_process = gather_object([mine])  # a collective: every process calls it
        state = columns.get("trainer_state")
        # The first optimizer step this rollout feeds: a resume rewinds the log past the rollouts it redoes.
        step = state.global_step + 1 if state is not None else None
        log_fn({"event": "rollout_prompts", "step": step, "by_process": by_process})
        return reward(prompts=prompts, completions=completions, **columns)

    recorded.__name__ = recorded.__qualname__ = reward.__name__
    return recorded


# --- training ------------------------------------------------------------------------------------


def train_grpo(
    model: str,
    records: Sequence[dict],
    output_dir: Path,
    options: GRPOOptions,
    *,
    seed: int = 0,
    log_fn: Callable[[dict], None] = lambda record: None,
    resume: bool = False,
    callbacks_extra: Sequence[Any] = (),
    rewards: Mapping[str, Any] | None,
) -> Outcome:
    """GRPO from ``model`` (a path: the reference model is reloaded from it) on ``records``.

    ``rewards`` maps names to rewards (a paradigm passes ``context.rewards``); ``options.reward``
    picks one.
    """
    from transformers import AutoTokenizer
    from trl import GRPOTrainer

    from harness.trainers import callbacks

    if not Path(model).is_dir() and options.beta > 0:
        raise UserError(f"GRPO with beta > 0 needs the policy as a local directory, got {model!r}")
    reward_funcs = reward_functions(options.reward, rewards)
    output_dir = Path(output_dir)
    log_fn = common.main_process_only(log_fn)
    callbacks.quiet_libraries(options.progress)
    args = grpo_arguments(options, output_dir, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left", truncation_side="left")
    dataset, too_long = grpo_dataset(records, tokenizer, consistency=options.consistency_prompt,
                                     max_prompt_length=options.max_prompt_length)
    log_fn({"event": "data", "prompts": len(dataset), "too_long": too_long})
    check_prompts(options, len(dataset))  # the paradigms check the records before the run; some prompts are too long
    if options.log_rollout_prompts:
        reward_funcs = [prompts_recorded(reward_funcs[0], log_fn), *reward_funcs[1:]]
    if options.use_vllm and on_cpu():
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    common.without_hub_model_card(trainer)
    callbacks.install(trainer, log=log_fn, progress=options.progress, extra=callbacks_extra,
                      every=options.progress_every)
    checkpoint = common.resume_point(output_dir, resume, log_fn)
    log.info("GRPO of %s on %d prompts (%d too long), %s", model, len(dataset), too_long, output_dir)
    output = common.train(trainer, checkpoint)
    path = common.save_final(trainer, output_dir)
    metrics = common.train_metrics(output, trainer)
    metrics["prompts_too_long"] = float(too_long)
    return Outcome(path, metrics)
