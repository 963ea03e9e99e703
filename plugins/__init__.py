"""Built-in training paradigms, one module each. Each module is its own default plugin (listed in
``harness.core.plugins.DEFAULT_PLUGINS``) and registers its paradigm with a
``register_paradigms`` hook at its end, so ``harness plugins`` names the module behind each
paradigm. Third-party paradigms use the same hook through the ``harness`` entry-point group (see
docs/plugins.md)."""
