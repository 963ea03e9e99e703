"""The content-hash cache of a corpus build: one JSONL line per finished request.

A line is written (and flushed) the moment a reply arrives, so a killed build loses only the
requests in flight; a rerun reads the journal and sends only what it lacks. The key hashes
everything that determines a reply (role, model, messages, limits), so a new translator or a new
prompt is a new key, never a stale hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from harness.corpus.transport import Failed, Reply
from harness.data.sources import read_jsonl


def request_key(role: str, model: str, messages: list[dict], **params: Any) -> str:
    blob = json.dumps({"role": role, "model": model, "messages": messages, **params}, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        if path.exists():
            self.entries = {entry["key"]: entry for entry in read_jsonl(path, "build journal")}
        self._handle = open(path, "a", encoding="utf-8")

    def _repair(self) -> None:
        """Cut a torn last line (a writer killed mid-line), or the next append would glue onto it."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def add(self, key: str, role: str, reply: Reply | Failed) -> dict:
        if isinstance(reply, Failed):
            entry = {"key": key, "role": role, "error": reply.error, "status": reply.status, "attempts": reply.attempts}
        else:
            entry = {"key": key, "role": role, "text": reply.text, "finish_reason": reply.finish_reason,
                     "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                     "cost": reply.cost, "attempts": reply.attempts}
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._handle.flush()  # the OS keeps it when the process is killed; fsync only guards power loss
        self.entries[key] = entry
        return entry

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
