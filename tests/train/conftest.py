"""Shared set-up of the training tests: a warm-started tiny model, built once per session.

The tiny model (0.76M parameters) cannot learn the full toy corpus's arithmetic in minutes, but it
learns the ``toy_easy`` problems ("has A, buys B more", B from 1 to 3) to partial accuracy in a
minute of CPU. That partially accurate model is where GRPO and RFT start, as the study's RL starts
from a base model that already solves some problems.

Half of the warm-start solutions end "The answer is N." instead of "The answer is \boxed{N}.", so
the warm start, like many base models, often leaves its answer unboxed, which the strict accuracy
reward (the study's protocol) scores 0. Within the few CPU minutes a test can spend, what RL
measurably learns on this model is that format (the arithmetic improves too slowly to measure);
the tests say so by also checking the boxed rate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

# Sized for CI (2 CPU cores): the whole training suite stays within a few minutes.
WARM_PROBLEMS = 4800  # 300 optimizer steps of 16 (about a minute on 2 cores)
WARM_OPTIONS = dict(learning_rate=3e-3, num_train_epochs=1, batch_size=16, micro_batch_size=16, warmup=0.05,
                    logging_steps=10, save_steps=100_000, progress="off")
WARM_UNBOXED = 0.5
HELDOUT_PROBLEMS = 100


@dataclass
class WarmStart:
    path: str
    log: list[dict]
    metrics: dict[str, float]


@pytest.fixture(scope="session")
def tiny_model() -> str:
    from harness.inference.tiny import tiny_model_path

    return str(tiny_model_path())


@pytest.fixture(scope="session")
def warm_start(tiny_model, tmp_path_factory) -> WarmStart:
    """The tiny model after a short SFT on English toy_easy problems."""
    from harness.data.corpora import toy_easy_corpus
    from harness.trainers.sft import SFTOptions, train_sft

    rng = random.Random(0)
    records = [unboxed(r) if rng.random() < WARM_UNBOXED else r for r in toy_easy_corpus(["en"], n=WARM_PROBLEMS)]
    log: list[dict] = []
    outcome = train_sft(tiny_model, records, tmp_path_factory.mktemp("warm_start"), SFTOptions(**WARM_OPTIONS),
                        seed=0, log_fn=log.append)
    return WarmStart(str(outcome.model_path), log, outcome.metrics)


def unboxed(record: dict) -> dict:
    """The record with its final answer written plainly ("The answer is 49.")."""
    return {**record, "solution": record["solution"].replace(f"\\boxed{{{record['answer']}}}", record["answer"])}


@pytest.fixture(scope="session")
def heldout() -> list[dict]:
    from harness.data.corpora import toy_easy_corpus

    return toy_easy_corpus(["en"], n=HELDOUT_PROBLEMS, seed=0, split="test")


def accuracy(model: str, records: list[dict], *, samples: int = 1, seed: int = 0, mode: str = "strict") -> float:
    """Held-out accuracy: greedy with ``samples=1``, else the mean over samples at temperature 1;
    ``strict`` grades the boxed answer (the reward's rule), ``flexible`` also "the answer is N"."""
    from harness.inference import SamplingSettings
    from harness.trainers.sampling import accuracy as sampled

    settings = SamplingSettings(num_generations=samples, temperature=0.0 if samples == 1 else 1.0, max_new_tokens=48,
                                batch_size=50, seed=seed, backend="hf")
    return sampled(model, records, settings, mode)["all"]


def harness(*args: str) -> int:
    """Run ``harness <args>`` in this process; its exit code."""
    from harness.cli import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def read_metrics(run: Path) -> list[dict]:
    from harness.core.rundir import read_jsonl

    return list(read_jsonl(run / "metrics.jsonl"))
