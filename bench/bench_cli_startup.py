"""Start-up time of the listing commands (`harness ls`, `validate`, `plugins`), and whether any of
them imports torch (plugins must register names and config classes without heavy imports).

    .venv/bin/python bench/bench_cli_startup.py [--repeats 5]

Prints the median wall time per command and the modules over 100 ms in `python -X importtime`.
Goal (issue 9): `harness ls paradigms` under 1.5 s on a 2-core machine, no torch import.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HARNESS = str(Path(sys.executable).parent / "harness")
COMMANDS = (["ls", "paradigms"], ["ls", "languages"], ["validate"], ["plugins"], ["--help"])


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([HARNESS, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def heavy_imports(args: list[str], threshold_us: int = 100_000) -> list[tuple[str, int]]:
    code = f"import sys; sys.argv = ['harness', *{args!r}]\nfrom harness.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and int(cumulative) >= threshold_us and not name.startswith("  "):
                rows.append((name.strip(), int(cumulative)))
    return rows, ("torch" in err.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    wall(["--help"])  # warm the file cache once
    for command in COMMANDS:
        times = [wall(command) for _ in range(args.repeats)]
        rows, torch = heavy_imports(command)
        heavy = ", ".join(f"{name} {us / 1e6:.2f}s" for name, us in rows) or "none"
        print(f"harness {' '.join(command):<14} median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}) | torch imported: {torch} | top-level imports > 0.1 s: {heavy}")


if __name__ == "__main__":
    main()
