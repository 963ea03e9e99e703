"""The cross-field rules, generated: whatever a user combines, a config either builds and its
batch arithmetic is exactly what TRL will be given, or it is refused with a UserError before
anything runs (hypothesis draws the combinations)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core.config import build_config
from harness.core.errors import UserError
from harness.trainers.grpo import GRPOOptions, rollout_batching
from harness.trainers.sft import SFTOptions

small = st.integers(min_value=-2, max_value=64)


@settings(max_examples=300, deadline=None)
@given(prompts=small, generations=small, updates=small, micro=small)
def test_grpo_batches_build_exactly_or_are_refused(prompts, generations, updates, micro):
    flags = {"prompts_per_rollout": prompts, "num_generations": generations, "updates_per_rollout": updates,
             "micro_batch_size": micro}
    try:
        config = build_config(GRPOOptions, flags, where=["flags"])
    except UserError:
        refused = True
    else:
        refused = False
        batching = rollout_batching(config.prompts_per_rollout, config.num_generations, config.micro_batch_size,
                                    config.updates_per_rollout, processes=1)
        # One update is micro-batches of every process, accumulated: all of a rollout, U times over.
        per_update = batching["per_device_train_batch_size"] * batching["gradient_accumulation_steps"]
        assert per_update * updates == prompts * generations
        assert batching["steps_per_generation"] == batching["gradient_accumulation_steps"] * updates
    valid = (min(prompts, updates, micro) >= 1 and generations >= 2 and (prompts * generations) % updates == 0
             and (prompts * generations // updates) % micro == 0)
    assert refused is not valid


@settings(max_examples=200, deadline=None)
@given(batch=small, micro=small)
def test_sft_batches_build_exactly_or_are_refused(batch, micro):
    try:
        config = build_config(SFTOptions, {"batch_size": batch, "micro_batch_size": micro}, where=["flags"])
    except UserError:
        assert not (batch >= 1 and micro >= 1 and batch % micro == 0)
        return
    assert config.batch_size % config.micro_batch_size == 0 and config.micro_batch_size >= 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e-9, 0.0])
def test_no_learning_rate_outside_its_range_builds(value):
    with pytest.raises(UserError, match="--learning-rate|learning_rate"):
        build_config(SFTOptions, {"learning_rate": value}, where=["flags"])
