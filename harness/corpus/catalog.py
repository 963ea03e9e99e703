"""Where built corpora live and which are finished: what the ``harness.corpus`` plugin reads on
every command, so it imports nothing heavy."""

from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST = "manifest.json"
CORPUS_KIND = "xling-harness corpus"


def corpora_dir() -> Path:
    """Where built corpora live by default and where ``--data NAME`` finds them."""
    return Path(os.environ.get("HARNESS_CORPORA_DIR") or "corpora").expanduser()


def built_corpora(root: Path | None = None) -> list[tuple[str, Path, dict]]:
    """(name, folder, manifest) of every finished corpus under ``root`` (default :func:`corpora_dir`)."""
    root = corpora_dir() if root is None else root
    found = []
    for manifest_path in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if manifest.get("kind") == CORPUS_KIND and manifest.get("status") == "finished":
            found.append((manifest["name"], manifest_path.parent, manifest))
    return found
