"""Thin adapters over TRL (SFT, GRPO, sampling for RFT). A trainer knows how to train, not why:
paradigm logic lives in harness.plugins."""
