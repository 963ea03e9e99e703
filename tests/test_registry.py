from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.core.config import option
from harness.core.errors import UserError
from harness.core.registry import load_registry
from tests.conftest import REPO


@dataclass
class GrpoCfg:
    learning_rate: float = option(1e-6, help="lr")


class Grpo:
    name = "grpo"
    description = "test"
    config_class = GrpoCfg


GOOD = """\
languages:
  en: {name: English, langid: en}
  de: {name: German, langid: de}
models:
  tiny: {path: "builtin:tiny"}
tasks:
  mgsm_xling: {languages: [en, de]}
paradigms:
  grpo:
    plugin: grpo
    defaults: {learning_rate: 1.0e-6}
experiments:
  transfer: {paradigms: [grpo], languages: [en, de], models: [tiny], tasks: [mgsm_xling], data: toy}
"""


def load(tmp_path: Path, text: str, **kwargs):
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    kwargs.setdefault("plugins", {"grpo": Grpo()})
    kwargs.setdefault("task_names", ["mgsm_xling"])
    return load_registry(path, **kwargs)


def test_good_registry_loads(tmp_path):
    reg = load(tmp_path, GOOD)
    assert list(reg.languages) == ["en", "de"]
    assert reg.resolve_model("tiny") == "builtin:tiny"
    assert reg.resolve_model("org/other") == "org/other"
    plugin, defaults, where = reg.paradigm_defaults("grpo")
    assert (plugin, defaults) == ("grpo", {"learning_rate": 1e-6})
    assert where.endswith("registry.yaml:11")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("plugin: grpo", "plugin: grpoo", r"registry.yaml:10: unknown plugin 'grpoo'; did you mean 'grpo'\?"),
        ("languages: [en, de], models", "languages: [en, dee], models",
         r"registry.yaml:13: unknown language 'dee'; did you mean 'de'\?"),
        ("tasks: [mgsm_xling]", "tasks: [mgsm_xlin]", r"registry.yaml:13: unknown task 'mgsm_xlin'; did you mean 'mgsm_xling'\?"),
        ("models:\n", "modells:\n", r"registry.yaml:4: unknown section 'modells'; did you mean 'models'\?"),
        ("{path: \"builtin:tiny\"}", "{pth: \"builtin:tiny\"}", r"registry.yaml:5: unknown key 'pth' in models entry 'tiny'; did you mean 'path'\?"),
        ("{learning_rate: 1.0e-6}", "{learning_rat: 1.0e-6}", r"registry.yaml:11: unknown grpo setting 'learning_rat'; did you mean 'learning_rate'\?"),
        ("mgsm_xling: {languages: [en, de]}", "mgsm_xlng: {languages: [en, de]}", r"registry.yaml:7: unknown task 'mgsm_xlng'; did you mean 'mgsm_xling'\?"),
        ("  de: {name: German, langid: de}", "  de: {name: German}", r"registry.yaml:3: languages entry 'de' lacks langid"),
        ("  de: {name: German, langid: de}", "  en: {name: German, langid: de}", r"registry.yaml:3: duplicate key 'en' \(first at line 2\)"),
    ],
)
def test_errors_name_file_line_and_closest(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(UserError, match=message):
        load(tmp_path, GOOD.replace(old, new, 1))


def test_invalid_yaml_reports_line(tmp_path):
    with pytest.raises(UserError, match=r"registry.yaml:3: not valid YAML"):
        load(tmp_path, "languages:\n  en: {name: English\n  de: [\n")


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_registry(tmp_path / "nope.yaml")


def test_project_registry_validates_against_real_plugins_and_tasks():
    from harness.core.plugins import get_catalog
    from harness.eval.tasks import task_families

    reg = load_registry(REPO / "registry.yaml", plugins=get_catalog().paradigms, task_names=task_families())
    assert {"en", "zh", "de", "es", "fr", "ja", "ru", "th", "sw", "bn"} <= set(reg.languages)
    assert reg.resolve_model("qwen2.5-3b") == "Qwen/Qwen2.5-3B"
    assert {"tiny", "smollm3-3b", "qwen2.5-7b"} <= set(reg.models)
    from harness.core.literals import LITERALS

    for code, entry in reg.languages.items():
        assert LITERALS[code].langid == entry["langid"]
