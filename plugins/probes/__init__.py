"""Built-in mechanism probes: each module is its own default plugin (its ``register_probes`` hook
is at its end); this package is the default plugin that runs them after an evaluation.

- ``consistency``: share of responses in the question's language, and the language mix;
- ``perplexity``: per-token perplexity of the model's own sampled responses and of the problems;
- ``self_similarity``: mean pairwise BLEU among k sampled responses per problem;
- ``drift``: final-layer representation drift from the base model, on a shared PCA basis.

They run after an evaluation through ``post_eval`` (the probes named in ``settings["probes"]``)
and alone through ``harness probe``. See docs/probes.md.
"""

from __future__ import annotations

from harness.hookspecs import hookimpl
from harness.probe import PROBES_FILE, parse_names, run_probes


@hookimpl
def post_eval(run, results, settings):
    """Run the probes named in ``settings["probes"]`` ("a,b" or a list) on the evaluated model,
    with the eval run's responses and questions; their figures also go to ``<run>/probes.json``."""
    names = parse_names((settings or {}).get("probes"))
    if not names:
        return None
    from harness.plugins.probes.build import context_from_settings

    figures = run_probes(names, context_from_settings(run, settings))
    return {"probes": figures, "file": PROBES_FILE}
