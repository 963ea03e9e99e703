"""Reading a user's files: the one reader every input of the harness goes through. What can go
wrong (a missing file, a folder, bytes that are not UTF-8, text that is not JSON, JSON lines or
YAML) is one sentence naming the file, its line, column and byte offset, instead of a
UnicodeDecodeError, JSONDecodeError or YAMLError traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core.errors import UserError


def read_text(path: Path | str, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a missing file, a folder or bytes that are not UTF-8 are a
    UserError naming the file (and, for bad bytes, the line, column and byte offset)."""
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
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}, "
                        f"byte offset {exc.start}); save the {what} as UTF-8") from None


def _where(text: str, index: int) -> str:
    """'column C, byte offset B' of character ``index`` of ``text`` (columns count characters)."""
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"column {column}, byte offset {len(text[:index].encode('utf-8'))}"


def read_json(path: Path | str, what: str = "JSON file") -> Any:
    """The JSON value in ``path``; text that is not JSON is a UserError naming file, line, column
    and byte offset."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_error(path, text, exc) from None


def json_error(path: Path | str, text: str, exc: json.JSONDecodeError) -> UserError:
    """The UserError for ``text`` (of ``path``) that ``json.loads`` refused with ``exc``."""
    return UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at {_where(text, exc.pos)})")


def read_yaml(path: Path | str, what: str = "YAML file") -> Any:
    """The YAML value in ``path`` (None when empty); text that is not YAML is a UserError naming
    file, line, column and byte offset."""
    import yaml

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is None:
            raise UserError(f"{path}: not valid YAML ({problem})") from None
        raise UserError(f"{path}:{mark.line + 1}: not valid YAML ({problem} at {_where(text, mark.index)})") from None


def read_mapping(path: Path | str, what: str = "config file") -> dict:
    """A YAML file that must hold a mapping (a recipe, a run's config.yaml): {} when empty; a file
    that is not UTF-8, not YAML or not a mapping is one sentence naming it."""
    data = read_yaml(path, what) or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} must be a mapping of settings")
    return data


def read_jsonl(path: Path | str, what: str = "data file", *, torn_tail: bool = False) -> list[Any]:
    """The records of a JSON-lines file (blank lines skipped); a bad line is a UserError naming its
    number, column and byte offset. With ``torn_tail`` a bad last line (a writer killed mid-line)
    is dropped instead."""
    # Lines end at "\n" only: a JSON string may hold U+2028, which str.splitlines would split at.
    lines = read_text(path, what).split("\n")
    if lines[-1] == "":
        lines.pop()
    rows, offset = [], 0
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if torn_tail and not any(rest.strip() for rest in lines[number:]):
                    break
                column = exc.pos + 1
                byte = offset + len(line[:exc.pos].encode("utf-8"))
                raise UserError(f"{path}:{number}: not valid JSON ({exc.msg} at column {column}, "
                                f"byte offset {byte})") from None
        offset += len(line.encode("utf-8")) + 1
    return rows
