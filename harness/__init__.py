"""xling-harness: a plugin-based harness for multilingual reasoning after post-training."""

__version__ = "0.1.0"
