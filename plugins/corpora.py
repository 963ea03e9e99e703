"""The built-in plugin that registers every corpus ``harness corpus build`` finished under
``$HARNESS_CORPORA_DIR`` (default ``./corpora``), so ``--data NAME`` finds it; and where built
corpora live. It runs on every command, so it imports nothing heavy."""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.errors import UserError
from harness.core.files import read_json
from harness.core.hookspecs import hookimpl

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
            manifest = read_json(manifest_path, "corpus manifest")
        except (OSError, UserError):  # unreadable: not a finished corpus
            continue
        if isinstance(manifest, dict) and manifest.get("kind") == CORPUS_KIND and manifest.get("status") == "finished":
            found.append((manifest["name"], manifest_path.parent, manifest))
    return found


@hookimpl
def register_corpora(register):
    from harness.data.corpora import NamedCorpus

    for name, path, manifest in built_corpora():
        counts = manifest.get("counts", {})
        accepted = ", ".join(f"{lang} {c.get('accepted', 0)}" for lang, c in counts.items())
        register(NamedCorpus(name, path, f"{manifest.get('source')} translated by "
                                         f"{manifest.get('translator', {}).get('model')} ({accepted})"))
