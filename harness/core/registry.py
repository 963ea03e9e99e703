"""registry.yaml: the declarative catalogue of languages, models, tasks, paradigms, experiments.

Validated on load. Every problem is reported as one sentence naming the file and line, with the
closest valid name ("registry.yaml:31: unknown plugin 'grpoo'; did you mean 'grpo'?").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import UserError, did_you_mean

REGISTRY_ENV = "HARNESS_REGISTRY"

SECTIONS: dict[str, set[str]] = {
    "languages": {"name", "langid"},
    "models": {"path", "description", "trust_remote_code", "train_defaults", "pretraining"},
    "tasks": {"description", "languages", "group"},
    "paradigms": {"plugin", "description", "defaults"},
    "experiments": {"description", "paradigms", "languages", "models", "tasks", "seeds", "data", "num_problems",
                    "eval", "probes", "train_args", "uses", "resources", "paradigm_languages", "pick_lang"},
}
REQUIRED: dict[str, set[str]] = {
    "languages": {"name", "langid"},
    "models": {"path"},
    "tasks": set(),
    "paradigms": {"plugin"},
    "experiments": {"paradigms", "languages", "models"},
}


class Located(dict):
    """A mapping that remembers the line of each key (1-based) and of itself."""

    line: int = 0
    lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise _LocatedError(line, f"duplicate key {key!r} (first at line {mapping.lines[key]})")
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _LocatedError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


@dataclass
class Registry:
    path: Path
    languages: dict[str, dict] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    paradigms: dict[str, dict] = field(default_factory=dict)
    experiments: dict[str, dict] = field(default_factory=dict)

    def resolve_model(self, name: str) -> str:
        """A model alias's path or hub id; anything that is not an alias is returned as it is."""
        entry = self.models.get(name)
        return str(entry["path"]) if entry else name

    def paradigm_defaults(self, name: str) -> tuple[str, dict, str]:
        """(plugin name, default values, where they come from) of a paradigm entry or plugin."""
        entry = self.paradigms.get(name)
        if entry is None:
            return name, {}, ""
        where = f"{self.path.name}:{entry.lines.get('defaults', entry.line)}"
        return entry["plugin"], dict(entry.get("defaults") or {}), where


def default_registry_path() -> Path:
    """$HARNESS_REGISTRY, else the packaged registry.yaml (or the source tree's, in a checkout)."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV])
    here = Path(__file__).resolve().parents[1]  # harness/
    packaged = here / "registry.yaml"
    return packaged if packaged.exists() else here.parent / "registry.yaml"


def load_registry(
    path: Path | None = None,
    *,
    plugins: Mapping[str, Any] | None = None,
    task_names: Iterable[str] | None = None,
) -> Registry:
    """Load and validate a registry file.

    ``plugins`` maps paradigm plugin names to paradigm objects (their config fields validate the
    defaults); ``task_names`` are the task families that exist. Either left out skips that check.
    """
    path = Path(path) if path else default_registry_path()
    from harness.core.files import read_text

    text = read_text(path, "registry file")
    try:
        data = yaml.load(text, Loader=_Loader) or Located()
    except _LocatedError as exc:
        raise UserError(f"{path}:{exc.line}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return _Validator(path, plugins, task_names).validate(data)


class _Validator:
    def __init__(self, path: Path, plugins: Mapping[str, Any] | None, task_names: Iterable[str] | None):
        self.path = path
        self.plugins = plugins
        self.task_names = set(task_names) if task_names is not None else None

    def fail(self, line: int, message: str) -> UserError:
        return UserError(f"{self.path}:{line}: {message}")

    def validate(self, data: Any) -> Registry:
        if not isinstance(data, Located):
            raise self.fail(1, "the registry must be a mapping of sections")
        registry = Registry(self.path)
        for section, line in data.lines.items():
            if section not in SECTIONS:
                raise self.fail(line, f"unknown section {section!r}{did_you_mean(section, SECTIONS)}")
            entries = data[section] or Located()
            if not isinstance(entries, Located):
                raise self.fail(line, f"section {section!r} must be a mapping of names to entries")
            for name, entry in entries.items():
                self.check_entry(section, str(name), entry, entries.lines[name])
            setattr(registry, section, {str(k): v for k, v in entries.items()})
        self.check_references(registry)
        return registry

    def check_entry(self, section: str, name: str, entry: Any, line: int) -> None:
        if not isinstance(entry, Located):
            raise self.fail(line, f"{section} entry {name!r} must be a mapping")
        for key, key_line in entry.lines.items():
            if key not in SECTIONS[section]:
                raise self.fail(key_line, f"unknown key {key!r} in {section} entry {name!r}"
                                f"{did_you_mean(key, SECTIONS[section])}")
        missing = REQUIRED[section] - set(entry)
        if missing:
            raise self.fail(line, f"{section} entry {name!r} lacks {', '.join(sorted(missing))}")

    def check_names(self, entry: Located, key: str, kind: str, valid: Iterable[str]) -> None:
        values = entry.get(key)
        if values is None:
            return
        line = entry.lines[key]
        if not isinstance(values, list):
            raise self.fail(line, f"{key} must be a list")
        valid = set(valid)
        for value in values:
            if value not in valid:
                raise self.fail(line, f"unknown {kind} {value!r}{did_you_mean(str(value), valid)}")

    def check_references(self, reg: Registry) -> None:
        for name, task in reg.tasks.items():
            if self.task_names is not None and name not in self.task_names:
                raise self.fail(task.line, f"unknown task {name!r}{did_you_mean(name, self.task_names)}")
            self.check_names(task, "languages", "language", reg.languages)
        for name, entry in reg.paradigms.items():
            self.check_paradigm(name, entry)
        for name, entry in reg.models.items():
            self.check_model(name, entry)
        for name, exp in reg.experiments.items():
            self.check_names(exp, "paradigms", "paradigm", set(reg.paradigms) | set(self.plugins or {}))
            self.check_names(exp, "languages", "language", reg.languages)
            self.check_names(exp, "models", "model", reg.models)
            self.check_names(exp, "tasks", "task", reg.tasks)
            self.check_experiment(name, exp, reg)

    def check_experiment(self, name: str, exp: Located, reg: Registry) -> None:
        _experiment_checks(self, name, exp, reg)

    def check_paradigm(self, name: str, entry: Located) -> None:
        if self.plugins is None:
            return
        plugin = entry["plugin"]
        if plugin not in self.plugins:
            raise self.fail(entry.lines["plugin"], f"unknown plugin {plugin!r}{did_you_mean(plugin, self.plugins)}")
        defaults = entry.get("defaults") or Located()
        if not isinstance(defaults, Located):
            raise self.fail(entry.lines["defaults"], f"defaults of paradigm {name!r} must be a mapping")
        from harness.core.config import fields

        config_class = self.plugins[plugin].config_class
        valid = [f.name for f in fields(config_class)]
        for key, line in getattr(defaults, "lines", {}).items():  # an empty mapping has no lines
            if key not in valid:
                raise self.fail(line, f"unknown {plugin} setting {key!r}{did_you_mean(key, valid)}")
            self.check_type(config_class, key, defaults[key], line)

    def check_type(self, config_class: type, key: str, value: Any, line: int) -> None:
        """A setting's value against its field's type: ``learning_rate: fast`` fails here, with
        this file's line, not later in a trainer."""
        import typing

        from harness.core.config import coerce

        try:
            coerce(value, typing.get_type_hints(config_class)[key], key)
        except UserError as exc:
            raise self.fail(line, str(exc)) from None

    def check_model(self, name: str, entry: Located) -> None:
        path = entry.get("path")
        if not isinstance(path, str) or not path.strip():
            raise self.fail(entry.lines.get("path", entry.line), f"path of model {name!r} must be a non-empty string")
        if "pretraining" in entry and not isinstance(entry["pretraining"], Located):
            raise self.fail(entry.lines["pretraining"], f"pretraining of model {name!r} must be a mapping "
                            "(what the base model was pretrained on, with its source)")
        if "train_defaults" not in entry:
            return
        defaults = entry["train_defaults"]
        if not isinstance(defaults, Located):
            raise self.fail(entry.lines["train_defaults"], f"train_defaults of model {name!r} must be a mapping")
        if self.plugins is None:
            return
        from harness.core.config import fields

        owners = {f.name: p.config_class for p in self.plugins.values() for f in fields(p.config_class)}
        for key, line in defaults.lines.items():
            if key not in owners:
                raise self.fail(line, f"unknown training setting {key!r}{did_you_mean(key, owners)}")
            self.check_type(owners[key], key, defaults[key], line)


# --- experiments: what `harness experiment` expands into cells --------------------------------------

EXPERIMENT_EVAL_KEYS = {"limit", "max_gen_toks", "num_repeats", "temperature", "top_p", "backend", "batch_size",
                        "max_model_len", "consistency_prompt"}
EXPERIMENT_PROBE_KEYS = {"names", "languages", "num_problems", "num_generations", "max_new_tokens", "data", "backend"}
EXPERIMENT_PICK_LANG_KEYS = {"candidates", "num_problems", "num_generations", "max_new_tokens", "data"}
EXPERIMENT_RESOURCE_KINDS = {"default", "base", "train", "eval", "probe", "picklang"}
EXPERIMENT_RESOURCE_KEYS = {"gpus", "cpus", "mem_gb", "hours", "strategy"}


def _experiment_checks(validator: _Validator, name: str, exp: Located, reg: Registry) -> None:
    fail = validator.fail
    paradigms = list(exp.get("paradigms") or [])
    if paradigms and not isinstance(exp.get("data"), str):
        raise fail(exp.lines.get("data", exp.line), f"experiment {name!r} lacks data (its training corpus: "
                   "toy, toy_easy, gsm8k_parallel, luffy, or a JSONL file or folder)")
    for key in ("num_problems",):
        if key in exp and (not isinstance(exp[key], int) or exp[key] < 1):
            raise fail(exp.lines[key], f"{key} of experiment {name!r} must be a positive integer")
    seeds = exp.get("seeds")
    if seeds is not None and (not isinstance(seeds, list) or not seeds
                              or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise fail(exp.lines["seeds"], f"seeds of experiment {name!r} must be a non-empty list of integers")
    from harness.core.config import SEED_MAX

    for seed in seeds or []:
        if not 0 <= seed <= SEED_MAX:
            raise fail(exp.lines["seeds"], f"seeds of experiment {name!r} must be in [0, {SEED_MAX}] "
                       f"(what numpy, torch and vLLM take), got {seed}")
    twice = sorted({s for s in seeds or [] if seeds.count(s) > 1})
    if twice:
        raise fail(exp.lines["seeds"], f"seeds of experiment {name!r} name {', '.join(map(str, twice))} twice")
    _mapping_of(validator, exp, "eval", name, EXPERIMENT_EVAL_KEYS)
    probes = _mapping_of(validator, exp, "probes", name, EXPERIMENT_PROBE_KEYS)
    if probes is not None:
        validator.check_names(probes, "languages", "language", reg.languages)
        if not isinstance(probes.get("names"), list) or not probes["names"]:
            raise fail(probes.line, f"probes of experiment {name!r} need names: a list of probes")
    pick = _mapping_of(validator, exp, "pick_lang", name, EXPERIMENT_PICK_LANG_KEYS)
    if pick is not None:
        validator.check_names(pick, "candidates", "language", reg.languages)
        if not isinstance(pick.get("candidates"), list) or len(pick["candidates"]) < 2:
            raise fail(pick.line, f"pick_lang of experiment {name!r} needs candidates: a list of two or more languages")
    per_paradigm = _mapping_of(validator, exp, "paradigm_languages", name, None)
    for paradigm, line in (per_paradigm.lines.items() if per_paradigm is not None else []):
        _cell_reference(validator, paradigm, paradigms, line, name)
        langs = per_paradigm[paradigm]
        if not isinstance(langs, list) or not langs or not set(langs) <= set(exp.get("languages") or []):
            raise fail(line, f"paradigm_languages of {paradigm!r} in experiment {name!r} must be a non-empty "
                       f"list of the experiment's languages ({', '.join(exp.get('languages') or [])})")
    resources = _mapping_of(validator, exp, "resources", name, EXPERIMENT_RESOURCE_KINDS)
    for kind, entry in (resources or {}).items():
        entry = _mapping_of(validator, resources, kind, f"{name}.resources", EXPERIMENT_RESOURCE_KEYS)
        for key, line in entry.lines.items():
            if key != "strategy" and (not isinstance(entry[key], (int, float)) or entry[key] < 0):
                raise fail(line, f"{key} of {kind} cells of experiment {name!r} must be a number >= 0")
    train_args = _mapping_of(validator, exp, "train_args", name, None)
    for paradigm, line in (train_args.lines.items() if train_args is not None else []):
        _cell_reference(validator, paradigm, paradigms, line, name)
        settings = _mapping_of(validator, train_args, paradigm, f"{name}.train_args", None)
        _check_settings(validator, reg, paradigm, {k: (settings[k], n) for k, n in settings.lines.items()})
    uses = _mapping_of(validator, exp, "uses", name, None)
    graph: dict[str, set[str]] = {}
    for paradigm, line in (uses.lines.items() if uses is not None else []):
        _cell_reference(validator, paradigm, paradigms, line, name)
        links = _mapping_of(validator, uses, paradigm, f"{name}.uses", None)
        for setting, link_line in links.lines.items():
            _cell_reference(validator, links[setting], paradigms, link_line, name)
            if setting != "model":  # any other setting takes the source cell's run directory
                _check_settings(validator, reg, paradigm, {setting: (None, link_line)}, types=False)
        graph[paradigm] = set(links.values())
    _check_cycle(validator, graph, uses)


def _mapping_of(validator: _Validator, parent: Located, key: str, owner: str, valid: set[str] | None) -> Located | None:
    if key not in parent:
        return None
    value = parent[key]
    if not isinstance(value, Located):
        raise validator.fail(parent.lines[key], f"{key} of {owner!r} must be a mapping")
    for sub, line in value.lines.items():
        if valid is not None and sub not in valid:
            raise validator.fail(line, f"unknown key {sub!r} in {key} of {owner!r}{did_you_mean(str(sub), valid)}")
    return value


def _cell_reference(validator: _Validator, paradigm: Any, paradigms: list[str], line: int, name: str) -> None:
    if paradigm not in paradigms:
        raise validator.fail(line, f"unknown cell reference {paradigm!r}: not a paradigm of experiment {name!r}"
                             f"{did_you_mean(str(paradigm), paradigms)}")


# Keys of a training cell's train_args that say how `harness train` runs, not what the paradigm does
# (the command checks the strategy's name).
TRAIN_COMMAND_SETTINGS = ("num_processes", "strategy")


def _check_settings(validator: _Validator, reg: Registry, paradigm: str, settings: dict[str, tuple[Any, int]],
                    types: bool = True) -> None:
    """Settings of a paradigm's training cells against its plugin's configuration fields."""
    if validator.plugins is None:
        return
    plugin, _, _ = reg.paradigm_defaults(paradigm)
    if plugin not in validator.plugins:
        return
    from harness.core.config import fields

    config_class = validator.plugins[plugin].config_class
    valid = [f.name for f in fields(config_class)]
    for key, (value, line) in settings.items():
        if key in TRAIN_COMMAND_SETTINGS:
            if types and key == "num_processes" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise validator.fail(line, f"num_processes must be a whole number >= 1, got {value!r}")
            continue
        if key not in valid:
            raise validator.fail(line, f"unknown {plugin} setting {key!r}"
                                       f"{did_you_mean(key, [*valid, *TRAIN_COMMAND_SETTINGS])}")
        if types:
            validator.check_type(config_class, key, value, line)


def _check_cycle(validator: _Validator, graph: dict[str, set[str]], uses: Located | None) -> None:
    import graphlib

    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise validator.fail(uses.lines[cycle[0]], f"the cells' references form a cycle: {' -> '.join(cycle)}") from None

