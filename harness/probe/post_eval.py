"""The default plugin that runs the probes an evaluation asks for (``harness eval --probes``)."""

from __future__ import annotations

from harness.core.hookspecs import hookimpl
from harness.core.probes import PROBES_FILE, parse_names


@hookimpl
def post_eval(run, results, settings, catalog, registry):
    """Run the probes named in ``settings["probes"]`` ("a,b" or a list) on the evaluated model,
    with the eval run's responses and questions; their figures also go to ``<run>/probes.json``."""
    names = parse_names((settings or {}).get("probes"))
    if not names:
        return None
    from harness.probe import run_probes
    from harness.probe.run import context_from_settings

    figures = run_probes(names, context_from_settings(run, settings, registry), catalog.probes)
    return {"probes": figures, "file": PROBES_FILE}
