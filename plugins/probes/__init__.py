"""Built-in mechanism probes: each module is its own default plugin (its ``register_probes`` hook
is at its end).

- ``consistency``: share of responses in the question's language, and the language mix;
- ``perplexity``: per-token perplexity of the model's own sampled responses and of the problems;
- ``self_similarity``: mean pairwise BLEU among k sampled responses per problem;
- ``drift``: final-layer representation drift from the base model, on a shared PCA basis.

They run after an evaluation (``harness eval --probes``, the ``post_eval`` hook of
:mod:`harness.plugins.probes.runner`) and alone through ``harness probe``. See docs/probes.md.
"""
