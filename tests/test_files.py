"""The one file reader (harness.core.files): every way a file can be unreadable is one UserError
that names the file, the line and (where it helps) the column and byte offset."""

from __future__ import annotations

import pytest

from harness.core.errors import UserError
from harness.core.files import read_json, read_jsonl, read_mapping, read_text, read_yaml


def message(call, *args, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_bad_utf8_names_line_column_and_byte(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("eins\nzwei Ä\n".encode() + b"drei \xc4pfel\n")  # the bad byte: offset 18 (from 0)
    text = message(read_text, path, "notes file")
    assert text == (f"{path}:3: not UTF-8 text (byte 0xc4 at column 6, byte offset 18); "
                    f"save the notes file as UTF-8")
    path.write_bytes("Äpfel".encode())
    assert read_text(path) == "Äpfel"


def test_missing_file_and_folder(tmp_path):
    assert message(read_text, tmp_path / "none.json", "results file") == f"results file {tmp_path / 'none.json'} does not exist"
    assert message(read_json, tmp_path) == f"JSON file {tmp_path} is a folder, not a file"


def test_bad_json_names_line_column_and_byte(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{\n  "name": "Ä",\n  "x": 1,,\n}\n', encoding="utf-8")  # "Ä" is two bytes
    text = message(read_json, path)
    assert text.startswith(f"{path}:3: not valid JSON (")
    assert text.endswith("at column 10, byte offset 27)")
    path.write_text('{"name": "Ä"}', encoding="utf-8")
    assert read_json(path) == {"name": "Ä"}


def test_bad_json_of_bad_utf8_is_the_encoding(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b'{"x": "\xff"}')
    assert message(read_json, path).startswith(f"{path}:1: not UTF-8 text (byte 0xff at column 8, byte offset 7)")


def test_bad_yaml_names_line_column_and_byte(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("model: tiny\ntasks: [a, b\nlimit: 3\n", encoding="utf-8")
    text = message(read_yaml, path)
    assert text.startswith(f"{path}:3: not valid YAML (")
    assert "at column 6, byte offset 30)" in text
    assert message(read_mapping, path) == text
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    assert message(read_mapping, path, "recipe") == f"{path}: a recipe must be a mapping of settings"
    path.write_text("", encoding="utf-8")
    assert read_yaml(path) is None and read_mapping(path) == {}


def test_bad_jsonl_names_the_line(tmp_path):
    path = tmp_path / "samples_x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": "Ä"}\n{"a": 2\n{"a": 3}\n', encoding="utf-8")
    text = message(read_jsonl, path)
    # line 4; the line starts at byte 9 + 1 + 12 = 22 and breaks at its end (column 8)
    assert text == f"{path}:4: not valid JSON (Expecting ',' delimiter at column 8, byte offset 29)"


def test_jsonl_torn_tail_and_line_separators(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": "x\u2028y"}\n{"a": 2}\n{"a": \n\n', encoding="utf-8")
    assert read_jsonl(path, torn_tail=True) == [{"a": "x\u2028y"}, {"a": 2}]  # U+2028 is no line end
    assert message(read_jsonl, path).startswith(f"{path}:3: not valid JSON")
    path.write_text('{"a": \n{"a": 2}\n', encoding="utf-8")
    assert message(read_jsonl, path, torn_tail=True).startswith(f"{path}:1: not valid JSON")  # not the tail
