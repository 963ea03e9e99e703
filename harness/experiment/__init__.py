"""Experiments: a registry grid run as a dependency graph of cells, each an ordinary run directory.

- :mod:`graph` expands an ``experiments:`` entry into cells (base evaluation, training, evaluation
  with Gen, probes) with their dependencies and a hash of each cell's resolved configuration.
- :mod:`cells` is the one entry point every executor runs: a ``harness`` command in a subprocess.
- :mod:`state` reads each cell's run directory; :mod:`executors` runs cells locally or on SLURM.
- :mod:`commands` adds ``harness experiment plan|run|status``.
"""
