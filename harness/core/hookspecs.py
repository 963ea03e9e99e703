"""Every hook of the harness, grouped by the phase in which it fires.

Plugins implement these with ``@hookimpl`` (``from harness.core.hookspecs import hookimpl``). An
implementation may accept fewer arguments than the spec names, so arguments can be added later
without breaking plugins; they are only ever added, never renamed or removed.

Contribution hooks take a ``register`` callback: the host validates what a plugin hands it and
rejects duplicate names, naming both plugins. See docs/plugins.md for worked examples.
"""

from __future__ import annotations

import pluggy

PROJECT = "harness"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- register: called once, when the plugin manager first loads --------------------------------


@hookspec
def register_paradigms(register):
    """Contribute training paradigms.

    :param register: call ``register(paradigm)`` once per paradigm, where ``paradigm`` follows
        :class:`harness.core.paradigm.Paradigm` (a ``name``, a ``description``, a ``config_class``
        dataclass and ``train(context, config) -> TrainResult``).
    """


@hookspec
def register_rewards(register):
    """Contribute reward functions usable by RL paradigms.

    :param register: call ``register(reward)`` with a :class:`harness.plugins.rewards.Reward` whose
        function has TRL's signature ``(prompts, completions, **columns) -> list[float | None]``.
    """


@hookspec
def register_probes(register):
    """Contribute mechanism probes that run after evaluation.

    :param register: call ``register(probe)`` with a :class:`harness.probe.Probe` (a ``name``,
        a ``description`` and ``run(context) -> dict``).
    """


@hookspec
def register_corpora(register):
    """Contribute named training corpora, usable as ``--data NAME`` in training and experiments.

    :param register: call ``register(corpus)`` with a :class:`harness.data.corpora.NamedCorpus` (a
        ``name``, the ``path`` of a folder that ``--data DIR`` reads, and a ``description``).
        The built-in plugin ``harness.corpus`` registers every corpus ``harness corpus build``
        finished under ``$HARNESS_CORPORA_DIR`` (default ``./corpora``).
    """


@hookspec
def register_commands(register):
    """Contribute ``harness`` subcommands; fires when the CLI starts, so keep the module's
    top-level imports light (no torch; import heavy things inside the command).

    :param register: call ``register(function)`` for a command named after the function
        (``pick_lang`` becomes ``harness pick-lang``; its parameters are typer options), or
        ``register(typer_app, name="group")`` for a group of subcommands (``harness group ...``).
        A name another plugin, or a core command, already took is reported, not replaced.
    """


# --- eval: fired by ``harness eval`` ------------------------------------------------------------


@hookspec
def post_eval(run, results, settings, catalog, registry):
    """Fires after an evaluation finished and its results were written; probes attach here.

    :param run: the :class:`harness.core.rundir.RunDir` of the evaluation (write plots into it).
    :param results: the lm-eval results dictionary (read it, do not mutate it).
    :param settings: the evaluation's settings (model, tasks, languages, the probes asked for).
    :param catalog: what the loaded plugins registered (:class:`harness.core.plugins.Catalog`:
        ``probes``, ``rewards``, ``paradigms``, ...), so a hook never reads a global catalog.
    :param registry: the :class:`harness.core.registry.Registry` the command loaded
        (``harness --registry``), e.g. to resolve model aliases.
    :returns: a dict of extra results to store under ``results["post_eval"][plugin name]``,
        or None.
    """
