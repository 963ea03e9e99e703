"""``rft``: rejection-sampling fine-tuning.

Sample k responses per training problem from a sampler model (the study: the RL model, which
``--sampler-model`` names; ``--sampler-model self`` samples from the starting model, and a run
without either is refused, so that no run silently deviates from the study), keep the correct ones (graded by harness.grading, duplicates
removed), and fine-tune the starting model on them with the ``sft`` paradigm. The kept data is written
to ``rft_samples.jsonl`` in the run; ``--resume`` reuses it instead of sampling again.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.config import option
from harness.core.errors import UserError
from harness.core.hookspecs import TrainContext, TrainResult, hookimpl
from harness.core.rundir import atomic_write_text
from harness.inference import BACKENDS, SamplingSettings, sample
from harness.plugins._stages import run_paradigm
from harness.trainers.common import is_main_process, main_process_only
from harness.trainers.sampling import grade_samples
from harness.trainers.sft import SFTOptions

SAMPLES_FILE = "rft_samples.jsonl"
SELF = "self"


@dataclass
class RFTOptions(SFTOptions):
    sampler_model: str = option("", help="Model to sample from: alias, run directory or path, or 'self' for the "
                                          "starting model (the study: the RL model). Required.",
                                source="paper")
    num_generations: int = option(8, help="Responses sampled per training problem.",
                                  source="harness choice: the paper says several; 8 = the GRPO group size", ge=1)
    sample_temperature: float = option(1.0, help="Sampling temperature (0: greedy, one response per problem; RFT's "
                                                 "is in no text read; the RL rollouts' is 1.0).",
                                       source="harness choice: the paper's RL rollout temperature; RFT's is not stated",
                                       ge=0)
    sample_top_p: float = option(1.0, help="Nucleus sampling, in (0, 1].", source="verl default", gt=0, le=1)
    max_new_tokens: int = option(1024, help="Longest sampled response, in tokens.",
                                 source="harness choice: GRPO's max_completion_length", ge=1)
    max_per_problem: int = option(0, help="Keep at most this many distinct correct responses per problem (0: all).",
                                  source="harness choice: keep every distinct correct response", ge=0)
    sampling_backend: str = option("", help=f"Sampling backend: {', '.join(BACKENDS)} (empty: vLLM on a GPU, else hf).",
                                   source="harness choice: vLLM where it runs", choices=("", *BACKENDS))
    sample_batch_size: int = option(32, help="Problems per generate call (transformers backend).",
                                    source="harness choice: memory only", ge=1)

    def check(self) -> None:
        """SFT's rules, then sampling's."""
        super().check()
        if self.sample_temperature == 0 and self.num_generations > 1:
            raise UserError(f"--sample-temperature 0 samples greedily, the same response {self.num_generations} "
                            f"times: give --num-generations 1 or a temperature above 0")

    def sequence_lengths(self) -> dict[str, int]:
        return {**super().sequence_lengths(), "--max-new-tokens": self.max_new_tokens}


def require_sampler(config: RFTOptions) -> None:
    if not config.sampler_model.strip():
        raise UserError("rft needs --sampler-model: the model to sample from (the study: the RL model), "
                        "or --sampler-model self to sample from the starting model")

def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def keep_correct(records: Sequence[dict], samples: Sequence[Sequence[str]], verdicts: Sequence[Sequence[bool]],
                 max_per_problem: int = 0) -> list[dict]:
    """Training records made of the distinct correct responses (whitespace-insensitive)."""
    kept = []
    for record, responses, correct in zip(records, samples, verdicts):
        seen: set[str] = set()
        for response, ok in zip(responses, correct):
            key = _normalized(response)
            if not ok or not key or key in seen:
                continue
            seen.add(key)
            kept.append({**record, "solution": response.strip(), "source": f"rft:{record.get('source', '')}"})
            if max_per_problem and len(seen) >= max_per_problem:
                break
    return kept


def sampling_budget(records: Sequence[dict], config: RFTOptions) -> list[dict]:
    """The problems to sample: with ``max_steps`` set, no more than its SFT steps can use
    (``max_steps × batch_size``, languages interleaved), so that a smoke run stays small."""
    if config.max_steps <= 0 or len(records) <= config.max_steps * config.batch_size:
        return list(records)
    by_lang: dict[str, list[dict]] = {}
    for record in records:
        by_lang.setdefault(record["lang"], []).append(record)
    interleaved = [r for group in itertools.zip_longest(*by_lang.values()) for r in group if r is not None]
    return interleaved[: config.max_steps * config.batch_size]


class RFT:
    name = "rft"
    description = "Rejection-sampling fine-tuning: SFT on a model's own correct samples"
    config_class = RFTOptions

    def check(self, config: RFTOptions, *, languages: Sequence[str], train: Sequence[dict], resolve_model,
              **_) -> None:
        """What `harness train` checks before the run directory exists: a sampler model is named
        and exists (resolving it again at sampling time is cheap)."""
        require_sampler(config)
        if config.sampler_model.strip() != SELF:
            resolve_model(config.sampler_model)

    def train(self, context: TrainContext, config: RFTOptions) -> TrainResult:
        require_sampler(config)
        path = context.output_dir / SAMPLES_FILE
        if context.resume and path.is_file():
            kept = read_samples(path)
            context.log({"event": "rft_samples_reused", "kept": len(kept)})
        elif is_main_process():
            # Under a multi-process launch rank 0 samples (one sampler on one device) and the
            # other ranks read what it kept.
            kept = self.collect(context, config)
            atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
        else:
            kept = read_samples(wait_for_file(path))
        if not kept:
            raise UserError("RFT kept no correct response: the sampler solved none of the training problems "
                            "(sample more per problem, or sample from a stronger --sampler-model)")
        result = run_paradigm(context, "sft", config, datasets={**context.datasets, "train": kept})
        result.metrics["rft_examples"] = float(len(kept))
        return result

    def collect(self, context: TrainContext, config: RFTOptions) -> list[dict]:
        records = sampling_budget(context.datasets["train"], config)
        if len(records) < len(context.datasets["train"]):
            context.log({"event": "rft_sampling_bounded", "problems": len(records),
                         "reason": f"max_steps {config.max_steps} x batch_size {config.batch_size}"})
        own = config.sampler_model.strip() == SELF
        sampler = context.model if own else context.resolve_model(config.sampler_model)
        settings = SamplingSettings(
            num_generations=config.num_generations, temperature=config.sample_temperature,
            top_p=config.sample_top_p, max_new_tokens=config.max_new_tokens, batch_size=config.sample_batch_size,
            seed=context.seed, consistency_prompt=config.consistency_prompt, backend=config.sampling_backend,
        )
        samples = sample(sampler, records, settings)
        verdicts = grade_samples(records, samples)
        kept = keep_correct(records, samples, verdicts, config.max_per_problem)
        main_process_only(context.log)(sampling_report(records, verdicts, kept, sampler))
        return kept


def read_samples(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def wait_for_file(path: Path, poll_s: float = 2.0) -> Path:
    """``path`` once rank 0 has written it (atomically: it is whole when it appears). No time
    limit: sampling may take long, and the launcher stops every rank when rank 0 fails."""
    while not path.is_file():
        time.sleep(poll_s)
    return path


def sampling_report(records: Sequence[dict], verdicts: Sequence[Sequence[bool]], kept: Sequence[dict],
                    sampler: str) -> dict:
    """One metrics record: sample accuracy and the share of problems solved, per language."""
    report: dict = {"event": "rft_sampling", "sampler": str(sampler), "problems": len(records), "kept": len(kept)}
    kept_by_lang = Counter(r["lang"] for r in kept)
    for lang in sorted({r["lang"] for r in records}):
        rows = [v for r, v in zip(records, verdicts) if r["lang"] == lang]
        flat = [ok for row in rows for ok in row]
        report[f"sample_accuracy/{lang}"] = sum(flat) / len(flat) if flat else 0.0
        report[f"solved/{lang}"] = sum(any(row) for row in rows) / len(rows) if rows else 0.0
        report[f"kept/{lang}"] = kept_by_lang.get(lang, 0)
    return report


@hookimpl
def register_paradigms(register):
    register(RFT())
