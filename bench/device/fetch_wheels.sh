#!/usr/bin/env bash
# Fetch, on a machine with a package registry, the wheels device_bench.py needs on the GPU machine
# (Python 3.12, x86-64, no registry; its image lacks these), into the checkout's ignored .whl/
# folder, which a device call carries (carry: [".whl"]) and run.sh installs there.
#
#   bash bench/device/fetch_wheels.sh            # into .whl/ (or: bash bench/device/fetch_wheels.sh DIR)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="${1:-$root/.whl}"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py="$(command -v python3)"; fi
fi
mkdir -p "$dest"

# trl, datasets, dill, multiprocess, liger-kernel: as ../shared/bench/README.md lists them (worked
# there with the baselines). math-verify and its two needs: the grading pool (math answers).
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dest" \
  trl==1.16.0 datasets==5.2.0 dill==0.4.0 multiprocess==0.70.18 liger-kernel==0.8.5 \
  math-verify==0.9.0 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2

# langid (the GRPO reward's language-consistency monitor) is published as a source archive only:
# build its pure-Python wheel here.
if ! compgen -G "$dest/langid-1.1.6-*.whl" >/dev/null; then
  "$py" -m pip wheel -q --no-deps -w "$dest" langid==1.1.6
fi
ls -l "$dest"
du -sh "$dest"
