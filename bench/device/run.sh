#!/usr/bin/env bash
# The device benchmark's entry (bench/device/README.md): picks a Python, installs carried wheels
# when the packages are missing (the GPU machine has no registry), runs device_bench.py.
#
#   bash bench/device/run.sh --out "$OUT/device.json"                 # GPU machine
#   bash bench/device/run.sh --cpu-smoke --out /tmp/device.json       # here, on a CPU
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py="$(command -v python3)"; fi
fi

# Wheels carried in the checkout's ignored .whl/ folder (device README): installed once into a
# folder outside the checkout when trl is not importable yet. Its path names site-packages: dill
# (datasets' fingerprints) pickles modules from any other folder by value, which fails.
if compgen -G "$root/.whl/*.whl" >/dev/null && ! "$py" -c "import trl" >/dev/null 2>&1; then
  site="${DEVICE_SITE:-/tmp/xling-site/site-packages}"
  echo "run.sh: installing $(ls "$root"/.whl/*.whl | wc -l) carried wheels into $site" >&2
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    "$root"/.whl/*.whl >&2
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi

export PYTHONUNBUFFERED=1
exec "$py" "$here/device_bench.py" "$@"
