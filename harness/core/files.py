"""Reading a user's text files: one sentence that names the file (and line) for what can go
wrong, instead of a UnicodeDecodeError or IsADirectoryError traceback."""

from __future__ import annotations

import json
from pathlib import Path

from harness.core.errors import UserError


def read_text(path: Path | str, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a missing file, a folder or bytes that are not UTF-8 are a
    UserError naming the file (and, for bad bytes, the line and column)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); "
                        f"save the {what} as UTF-8") from None


def read_mapping(path: Path | str, what: str = "config file") -> dict:
    """A YAML file that must hold a mapping (a recipe, a run's config.yaml): {} when empty; a file
    that is not UTF-8, not YAML or not a mapping is one sentence naming it."""
    import yaml

    try:
        data = yaml.safe_load(read_text(path, what)) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} must be a mapping of settings")
    return data


def read_jsonl(path: Path, what: str = "data file", *, torn_tail: bool = False) -> list[dict]:
    """The records of a JSON-lines file (blank lines skipped); a bad line is a UserError naming it.
    With ``torn_tail`` a bad last line (a writer killed mid-line) is dropped instead."""
    lines = read_text(path, what).splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if torn_tail and number == len(lines):
                    break
                raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return rows
