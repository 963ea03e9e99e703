"""Import paths from before harness/ was split into pipeline-stage packages (0.1.0 → 0.2).

``import harness.registry`` (and ``from harness.paradigm import TrainContext``, ...) keeps working
for plugins written against the flat layout: the old name is the new module itself, imported
under its new name, with one DeprecationWarning that names the new path. New code imports the new
paths (docs/plugins.md); this table is the only place the old names live.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings

MOVED: dict[str, str] = {
    "harness.config": "harness.core.config",
    "harness.errors": "harness.core.errors",
    "harness.files": "harness.core.files",
    "harness.hookspecs": "harness.core.hookspecs",
    "harness.literals": "harness.core.literals",
    "harness.paradigm": "harness.core.paradigm",
    "harness.plugin_manager": "harness.core.plugins",
    "harness.quiet": "harness.core.quiet",
    "harness.registry": "harness.core.registry",
    "harness.rundir": "harness.core.rundir",
    "harness.prompts": "harness.lang.prompts",
    "harness.language_id": "harness.lang.language_id",
    "harness.datasets_local": "harness.data.sources",
    "harness.corpora": "harness.data.corpora",
    "harness.toydata": "harness.data.toy",
    "harness.models": "harness.inference.models",
    "harness.tiny": "harness.inference.tiny",
    "harness.training": "harness.train.run",
    "harness.launch": "harness.train.launch",
    "harness.evaluation": "harness.eval.run",
    "harness.taskkit": "harness.eval.taskkit",
    "harness.tasks_index": "harness.eval.tasks",
    "harness.rewards": "harness.plugins.rewards",
    "harness.plugins.probes.build": "harness.probe.run",
    "harness.report.commands": "harness.cli.report",
    "harness.experiment.commands": "harness.cli.experiment",
    "harness.corpus.commands": "harness.cli.corpus",
}


class _OldPathFinder:
    """Answers an old module name with the module at its new path (a meta-path finder and its
    loader; duck-typed, so that importing ``importlib.abc`` does not slow every command)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        # importlib stamped the old name's spec on the module; give it back its own.
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    if not any(isinstance(finder, _OldPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(_OldPathFinder())
