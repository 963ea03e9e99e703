"""Translated parallel training corpora: ``harness corpus build`` and ``harness corpus check``.

- :mod:`~harness.corpus.build`: translate, verify, write a named corpus (resumable);
- :mod:`~harness.corpus.checks`: the cheap checks (1)-(4) with their evidence;
- :mod:`~harness.corpus.transport`: OpenAI-compatible endpoint and vLLM offline clients;
- :mod:`~harness.corpus.chunking`: paragraph chunks that never cut a LaTeX block;
- :mod:`~harness.corpus.audit`: checks (1)-(4) over an existing parallel corpus.

This module is also a built-in plugin: it registers every finished corpus under
``$HARNESS_CORPORA_DIR`` (default ``./corpora``), so ``--data NAME`` finds it. Importing it stays
cheap (no model libraries).
"""

from __future__ import annotations

from harness.core.hookspecs import hookimpl


@hookimpl
def register_corpora(register):
    from harness.corpus.catalog import built_corpora
    from harness.data.corpora import NamedCorpus

    for name, path, manifest in built_corpora():
        counts = manifest.get("counts", {})
        accepted = ", ".join(f"{lang} {c.get('accepted', 0)}" for lang, c in counts.items())
        register(NamedCorpus(name, path, f"{manifest.get('source')} translated by "
                                         f"{manifest.get('translator', {}).get('model')} ({accepted})"))
