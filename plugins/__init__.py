"""Built-in training paradigms, one module each; registered as the default plugin
``harness.plugins``. Third-party paradigms use the same hook through the ``harness`` entry-point
group (see docs/plugins.md)."""

from __future__ import annotations

import importlib

from harness.hookspecs import hookimpl

# Modules of this package that define a paradigm class named in PARADIGM_CLASSES.
PARADIGM_CLASSES: dict[str, str] = {
    "sft": "SFT",
    "grpo": "GRPO",
    "grpo_consistency": "GRPOConsistency",
    "rft": "RFT",
    "cold_start": "ColdStart",
    "mixed": "Mixed",
}


@hookimpl
def register_paradigms(register):
    for module, cls in PARADIGM_CLASSES.items():
        register(getattr(importlib.import_module(f"{__name__}.{module}"), cls)())
