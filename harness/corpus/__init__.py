"""Translated parallel training corpora: ``harness corpus build`` and ``harness corpus check``.

- :mod:`~harness.corpus.build`: translate, verify, write a named corpus (resumable);
- :mod:`~harness.corpus.checks`: the cheap checks (1)-(4) with their evidence;
- :mod:`~harness.corpus.transport`: OpenAI-compatible endpoint and vLLM offline clients;
- :mod:`~harness.corpus.chunking`: paragraph chunks that never cut a LaTeX block;
- :mod:`~harness.corpus.audit`: checks (1)-(4) over an existing parallel corpus.

Finished corpora are registered by the built-in plugin :mod:`harness.plugins.corpora`.
"""
