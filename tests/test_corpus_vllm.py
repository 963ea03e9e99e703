"""The endpoint client against a real ``vllm serve`` of the tiny model on CPU (slow: ~1-2 min)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.core.net import free_port, wait_for_health
from harness.corpus.transport import Failed, OpenAIChat, Reply, Request

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


@pytest.fixture
def vllm_server(tmp_path):
    pytest.importorskip("vllm")
    from harness.inference.tiny import tiny_model_path

    port = free_port()
    log = open(tmp_path / "vllm.log", "w")
    process = subprocess.Popen(
        # The API server module, not the `vllm` command: that one asks package metadata for "vllm",
        # and the CPU build installs as "vllm-cpu".
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model_path()), "--served-model-name", "tiny", "--host", "127.0.0.1",
         "--port", str(port), "--dtype", "float32", "--max-model-len", "256", "--enforce-eager"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{url}/health", process, timeout_s=240, log=tmp_path / "vllm.log")
    except RuntimeError:
        process.kill()
        raise
    yield f"{url}/v1"
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_vllm_serve_answers_and_an_overlong_request_is_refused_once(vllm_server):
    client = OpenAIChat(vllm_server, "tiny", concurrency=4, backoff=0.01)
    short = [Request(f"k{i}", ({"role": "user", "content": f"Lena has {i} apples."},), 16) for i in range(4)]
    overlong = Request("long", ({"role": "user", "content": "apples " * 400},), 16)  # beyond max-model-len 256
    got: dict = {}
    client.run([*short, overlong], lambda request, reply: got.__setitem__(request.key, reply))
    assert all(isinstance(got[r.key], Reply) and got[r.key].completion_tokens > 0 for r in short)
    assert all(got[r.key].prompt_tokens > 0 and got[r.key].finish_reason in ("stop", "length") for r in short)
    assert isinstance(got["long"], Failed) and got["long"].status == 400 and got["long"].attempts == 1


OFFLINE_SCRIPT = """
import json, sys
from harness.corpus.transport import Request, VLLMOffline
if __name__ == "__main__":
    client = VLLMOffline(sys.argv[1], batch_size=2, engine_args=dict(
        dtype="float32", max_model_len=256, enforce_eager=True, seed=0, distributed_executor_backend="uni"))
    requests = [Request(f"k{i}", ({"role": "user", "content": f"Lena has {i} apples."},), 4 + i) for i in range(3)]
    got = []
    client.run(requests, lambda request, reply: got.append((request.key, reply.completion_tokens, reply.prompt_tokens)))
    print("RESULT " + json.dumps(got))
"""


def test_vllm_offline_engine_answers_in_batches_with_per_request_limits(tmp_path):
    pytest.importorskip("vllm")
    from harness.inference.tiny import tiny_model_path

    script = tmp_path / "offline.py"
    script.write_text(OFFLINE_SCRIPT)
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    proc = subprocess.run([sys.executable, str(script), str(tiny_model_path())], env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    got = json.loads(lines[-1][len("RESULT "):])
    assert [key for key, _, _ in got] == ["k0", "k1", "k2"]
    assert all(0 < tokens <= 4 + i and prompt > 0 for i, (_, tokens, prompt) in enumerate(got))
