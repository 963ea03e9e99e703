"""xling-harness: a plugin-based harness for multilingual reasoning after post-training.

The package is split by pipeline stage; each layer imports only the layers below it
(tests/test_layers.py checks this):

    cli → report → experiment → train | eval | probe | corpus
        → inference → data → lang → grading → core

``plugins`` (the built-in paradigms, probes and rewards) and ``trainers`` (thin TRL adapters) sit
beside the stages: they import ``core`` and the layers under the stages, never a stage or the CLI.
"""

__version__ = "0.1.0"
