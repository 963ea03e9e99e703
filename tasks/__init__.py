"""lm-eval task folders (one per benchmark family). Pass this folder to lm-eval as
``--include_path``; ``harness tasks-path`` prints it."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
