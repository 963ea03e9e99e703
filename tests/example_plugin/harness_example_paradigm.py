"""An example third-party paradigm: plain next-token fine-tuning on the reference solutions,
in a dozen lines of torch. It shows the whole plugin contract (docs/plugins.md walks through it):
a config dataclass whose fields become `harness train --plugin example_lm --steps 5` flags, and a
train method that takes a TrainContext and returns a TrainResult. It also adds a step after every
evaluation (the ``post_eval`` hook): the mean length of the responses, per task."""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.core.config import option
from harness.core.hookspecs import EvalContext, TrainContext, TrainResult, hookimpl
from harness.lang.prompts import prompt_messages


@dataclass
class ExampleLMConfig:
    steps: int = option(10, help="Optimizer steps.")
    learning_rate: float = option(1e-3, help="AdamW learning rate.")
    batch_size: int = option(8, help="Examples per step.")


class ExampleLM:
    name = "example_lm"
    description = "Example plugin: next-token fine-tuning on reference solutions (plain torch)."
    config_class = ExampleLMConfig

    def train(self, context: TrainContext, config: ExampleLMConfig) -> TrainResult:
        # Heavy imports inside train: plugins load on every `harness` command, even `harness ls`.
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(context.seed)
        tokenizer = AutoTokenizer.from_pretrained(context.model)
        model = AutoModelForCausalLM.from_pretrained(context.model)
        texts = [
            tokenizer.apply_chat_template(
                prompt_messages(r["question"], r["lang"]) + [{"role": "assistant", "content": r["solution"]}],
                tokenize=False,
            )
            for r in context.datasets["train"]
        ]
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
        losses = []
        for step in range(config.steps):
            start = (step * config.batch_size) % len(texts)
            batch = tokenizer(texts[start : start + config.batch_size], return_tensors="pt", padding=True)
            labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            loss = model(**batch, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            context.log({"step": step + 1, "loss": loss.item()})
        out = context.output_dir / "model"
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        return TrainResult(out, {"first_loss": losses[0], "last_loss": losses[-1]})


@hookimpl
def register_paradigms(register):
    register(ExampleLM())


@hookimpl
def post_eval(context: EvalContext):
    """Mean characters per response, per task, from the eval run's samples files; stored under
    ``results["post_eval"]["example_lm"]``."""
    lengths: dict[str, list[int]] = {}
    for path in sorted(context.run.path.glob("samples_*.jsonl")):
        task = path.stem.removeprefix("samples_")
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            responses = [r for rs in record["resps"] for r in (rs if isinstance(rs, list) else [rs])]
            lengths.setdefault(task, []).extend(len(r) for r in responses)
    return {"mean_response_chars": {task: sum(n) / len(n) for task, n in lengths.items() if n}}
