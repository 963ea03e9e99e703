"""What starting a local server takes: a free port, and waiting until the started process answers
its health URL (a training launch's rendezvous, ``vllm serve`` in tests and the device script)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on now (two servers or launches on one machine must not share a
    default port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, *, timeout_s: float, log: Path | None = None) -> float:
    """Poll ``GET url`` until it answers 200; the seconds it took. Raises RuntimeError, with the
    end of ``log``, when ``process`` exits first or ``timeout_s`` passes."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (OSError, urllib.error.URLError):
            pass
        ended = process.poll() is not None
        if ended or time.monotonic() - started > timeout_s:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.is_file() else ""
            why = f"exited with {process.returncode}" if ended else f"did not answer {url} within {timeout_s:g} s"
            raise RuntimeError(f"{' '.join(map(str, process.args))[:200]} {why}\n{tail}")
        time.sleep(1)
