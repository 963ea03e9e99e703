"""`harness eval`'s rules between settings and against the model: the generation budget against
the model's context (refused, with either backend, before the model or a run directory exists),
`--model-args` dtypes and `--gen-kwargs` types, a model the library cannot load; each is one
sentence on stderr, exit code 2, and nothing left in the working directory. (Each option's own
bounds are tested for every command by tests/test_option_bounds.py.)"""

from __future__ import annotations

import shutil

import pytest
import yaml
from lm_eval.api.model import LM

from harness.eval import run as evaluation
from harness.eval.run import EvalRequest, context_limit
from harness.inference.models import builtin_model_path, context_length
from tests.helpers import run_cli

EXAMPLE = ("eval", "--model", "tiny", "--tasks", "toy_xling_en", "--limit", "1")
TINY_CONTEXT = 2048  # the tiny model's max_position_embeddings


class EchoLM(LM):
    """Answers nothing; reports a context of ``max_length`` tokens, as lm-eval's HFLM and VLLM do."""

    tokenizer_name = "echo"

    def __init__(self, max_length: int | None = None):
        super().__init__()
        if max_length is not None:
            self.max_length = max_length

    def generate_until(self, requests, disable_tqdm: bool = False):
        return ["?" for _ in requests]

    def apply_chat_template(self, chat_history, add_generation_prompt=True):
        return "".join(m["content"] for m in chat_history)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty working directory: nothing may appear in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def loads(monkeypatch):
    """Models load as an EchoLM (no weights read); ``loads.context`` sets the context it reports."""
    built = []

    class Loader:
        context: int | None = None

    def build(backend, path, request):
        built.append(backend)
        return EchoLM(Loader.context)

    monkeypatch.setattr(evaluation, "build_lm", build)
    Loader.built = built
    return Loader


def refused(capsys, *args: str) -> str:
    """Run `harness eval` with ``args``: exit 2, one line on stderr, no traceback; the line."""
    code, _, err = run_cli(capsys, *EXAMPLE, *args)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


# --- the generation budget against the model's context ---------------------------------------


@pytest.mark.parametrize("backend", ["hf", "vllm"])
@pytest.mark.parametrize("budget", [TINY_CONTEXT, 5000])
def test_a_budget_the_context_cannot_hold_is_refused_before_the_model_loads(capsys, here, loads, backend, budget):
    err = refused(capsys, "--backend", backend, "--max-gen-toks", str(budget))
    assert f"--max-gen-toks {budget} leaves no room for the prompt" in err
    assert f"({TINY_CONTEXT} tokens, max_position_embeddings in its config.json)" in err
    assert f"below {TINY_CONTEXT}" in err
    assert loads.built == [] and list(here.iterdir()) == []


def test_the_budget_is_checked_against_max_model_len(capsys, here, loads):
    err = refused(capsys, "--max-model-len", "64", "--max-gen-toks", "64")
    assert "(64 tokens, --max-model-len)" in err and "or a longer --max-model-len" in err
    assert list(here.iterdir()) == []


def test_a_tasks_own_budget_is_checked_too(capsys, here, loads):
    err = refused(capsys, "--max-model-len", "256")  # toy_xling generates up to 256 tokens
    assert "task toy_xling_en's budget of 256 tokens leaves no room" in err
    assert list(here.iterdir()) == []


def test_a_budget_from_gen_kwargs_is_named(capsys, here, loads):
    err = refused(capsys, "--gen-kwargs", "max_gen_toks=4096")
    assert err.startswith("error: --gen-kwargs max_gen_toks=4096 leaves no room")


def test_model_args_set_the_context_each_backend_reads(tmp_path):
    tiny = str(builtin_model_path("tiny"))
    assert context_length(tiny) == (TINY_CONTEXT, "max_position_embeddings")
    assert context_length(str(tmp_path)) is None and context_length("org/not-in-the-cache") is None
    assert context_limit(EvalRequest(backend="hf", model_args="max_length=100"), tiny) == (100, "--model-args max_length")
    vllm = EvalRequest(backend="vllm", model_args="max_model_len=128", max_model_len=512)
    assert context_limit(vllm, tiny) == (128, "--model-args max_model_len")
    assert context_limit(EvalRequest(max_model_len=512), tiny) == (512, "--max-model-len")


def test_the_context_the_loaded_model_reports_is_checked_before_the_run_directory(capsys, here, loads):
    loads.context = 16  # shorter than its config says (a vLLM engine that gave less, a tokenizer's limit)
    err = refused(capsys, "--max-gen-toks", "16", "--run-dir", str(here / "run"))
    assert "(16 tokens, as the loaded model reports it)" in err
    assert loads.built == ["hf"] and list(here.iterdir()) == []


def test_a_budget_that_fits_runs(capsys, here, loads):
    loads.context = 64
    code, out, err = run_cli(capsys, *EXAMPLE, "--max-gen-toks", "8", "--run-dir", str(here / "run"))
    assert code == 0, err
    assert (here / "run" / "results.json").is_file()


# --- --model-args and --gen-kwargs ---------------------------------------------------------------


@pytest.mark.parametrize(("backend", "closest"), [("hf", "'float'"), ("vllm", "'float'")])
def test_an_unknown_dtype_is_refused(capsys, here, loads, backend, closest):
    err = refused(capsys, "--backend", backend, "--model-args", "dtype=float77")
    assert f"--model-args dtype=float77 is not a dtype --backend {backend} takes (auto, " in err
    assert f"did you mean {closest}" in err
    assert loads.built == [] and list(here.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    ("max_length=abc", "--model-args max_length must be an integer, got 'abc'"),
    ("max_length=0", "--model-args max_length must be at least 1, got 0"),
    ("gpu_memory_utilization=1.5", "--model-args gpu_memory_utilization must be in (0, 1], got 1.5"),
    ("trust_remote_code=True", "--model-args cannot set trust_remote_code"),
    ("dtype", "--model-args takes key=value pairs"),
])
def test_model_args_are_type_checked(capsys, here, loads, args, message):
    assert message in refused(capsys, "--model-args", args)
    assert list(here.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    ("temperature=abc", "--gen-kwargs temperature must be a number, got 'abc'"),
    ("temperature=nan", "--gen-kwargs temperature must be a finite number at least 0, got nan"),
    ("top_p=0", "--gen-kwargs top_p must be in (0, 1], got 0.0"),
    ("max_gen_toks=0", "--gen-kwargs max_gen_toks must be at least 1, got 0"),
    ("do_sample=maybe", "--gen-kwargs do_sample must be true or false, got 'maybe'"),
    ("tempreature=1", "--gen-kwargs tempreature is not a generation setting of lm-eval or of transformers' "
                      "GenerationConfig; did you mean 'temperature'?"),
    ("top_k=5,top_k=6", "--gen-kwargs gives top_k twice"),
])
def test_gen_kwargs_are_type_checked(capsys, here, loads, args, message):
    assert message in refused(capsys, "--gen-kwargs", args)
    assert loads.built == [] and list(here.iterdir()) == []


def test_known_gen_kwargs_reach_the_tasks():
    request = EvalRequest(max_gen_toks=64, gen_kwargs="top_k=5,temperature=0.7,do_sample=true,until=<end>")
    assert evaluation.generation_overrides(request) == {
        "max_gen_toks": 64, "top_k": 5, "temperature": 0.7, "do_sample": True, "until": "<end>"}


# --- rules between settings ------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--num-repeats", "2", "--temperature", "0"], "--num-repeats above 1 samples: --temperature must be above 0"),
    (["--seed", str(2**32 - 1), "--num-repeats", "2"], "run i uses seed + i, which must stay at most 4294967295"),
    (["--batch-size", "0"], "--batch-size must be a positive integer or 'auto', got '0'"),
    (["--tensor-parallel-size", "2"], "--tensor-parallel-size and --data-parallel-size need --backend vllm"),
    (["--probes", "perplexity", "--probe-options", "temperature=0"], "--probe-options temperature must be above 0"),
])
def test_rules_between_settings(capsys, here, loads, args, message):
    assert message in refused(capsys, *args)
    assert list(here.iterdir()) == []


def test_a_replayed_config_is_typed_as_the_flags(capsys, here, loads):
    (here / "config.yaml").write_text(yaml.safe_dump({"model": "tiny", "tasks": ["toy_xling_en"], "limit": "abc"}))
    code, _, err = run_cli(capsys, "eval", "--config", str(here / "config.yaml"))
    assert code == 2 and "limit must be int, got 'abc'" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in here.iterdir()) == ["config.yaml"]


# --- a model the library cannot load -----------------------------------------------------------------


def test_a_model_the_library_cannot_load_is_one_sentence(capsys, here, tmp_path_factory):
    model = tmp_path_factory.mktemp("models") / "broken"
    shutil.copytree(builtin_model_path("tiny"), model)
    (model / "tokenizer.json").write_text("{ not json")
    err = refused(capsys, "--model", str(model), "--max-gen-toks", "8", "--run-dir", str(here / "run"))
    assert f"--backend hf cannot load model {model}" in err
    assert list(here.iterdir()) == []
    code, _, err = run_cli(capsys, "--debug", *EXAMPLE, "--model", str(model), "--max-gen-toks", "8")
    assert code == 2 and "Traceback" in err and "cannot load model" in err
