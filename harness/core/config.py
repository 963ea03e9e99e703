"""Config dataclasses as the single source of CLI flags and YAML keys.

A paradigm's config is a dataclass whose fields carry ``help`` metadata (as TRL's configs do).
The same fields become ``--flag`` options and YAML recipe keys. Precedence, lowest first:
dataclass defaults < registry.yaml paradigm defaults < ``--config`` recipe file < flags.

Every field also says where its default comes from (``source``): the study's paper (``paper``
only where the design notes, ../shared/DESIGN.md, state it as the paper's; ``paper (unverified:
secondary source)`` where they report it second-hand), the defaults of the platforms it ran on
(verl for RL, LlamaFactory for SFT), TRL's, or a harness choice with its reason.
:func:`build_config` remembers which layer set each value, so a run's config can record the source
beside every setting (:func:`config_sources`).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.core.errors import UserError, unknown


PAPER = "paper"
"""Stated as the paper's by the text the harness was designed from (../shared/DESIGN.md)."""
PAPER_UNVERIFIED = "paper (unverified: secondary source)"
"""Reported as the paper's only second-hand (DESIGN.md's notes from the paper's reviews), not
checked against the paper itself."""
SOURCES = (PAPER_UNVERIFIED, PAPER, "verl default", "LlamaFactory default", "TRL default", "harness choice")
"""The kinds of source; a source is one of them, or one followed by ``: detail`` (the reason of a
``harness choice``)."""
USER = "user"
_SOURCES_ATTR = "_harness_sources"


def option(default: Any = dataclasses.MISSING, help: str = "", source: str = "", *,
           ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
           choices: Sequence[Any] | None = None, nonempty: bool = False, finite: bool = True,
           bounds: Bounds | None = None, **kwargs: Any) -> Any:
    """A dataclass field with help text, the source of its default and the values it accepts:
    ``lr: float = option(1e-6, help="Learning rate.", source="paper", gt=0)``. ``source`` is one of
    :data:`SOURCES`, or one followed by ``: detail``; a ``harness choice`` says why after a colon.
    ``ge``/``gt``/``le``/``lt`` bound a number (closed or open ends), ``choices`` lists the values a
    setting takes, ``nonempty`` refuses a blank string; a float is finite unless ``finite=False``
    (NaN never). ``bounds`` passes them as one :class:`Bounds` (an inherited field's)."""
    if source and not source_kind(source):
        raise ValueError(f"source {source!r} must be one of {SOURCES}, or one followed by ': detail'")
    if bounds is None:
        bounds = Bounds(ge=ge, gt=gt, le=le, lt=lt, choices=tuple(choices) if choices is not None else None,
                        nonempty=nonempty, finite=finite)
    metadata = {"help": help, "source": source, "bounds": bounds}
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata, **kwargs)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def source_kind(source: str) -> str:
    """The kind in :data:`SOURCES` that ``source`` is (``"paper"`` for ``"paper"``,
    ``"harness choice"`` for ``"harness choice: reason"``), or "" for anything else."""
    for kind in SOURCES:
        if source == kind or source.startswith(kind + ":"):
            return kind
    return ""


# --- bounds: what values an option accepts, declared beside its default ---------------------------

SEED_MAX = 2**32 - 1
"""The largest seed numpy accepts (torch, random and vLLM take it too)."""


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The values a field accepts, besides its type: a range (each end open or closed), a set of
    choices, a non-empty string. Floats are finite unless ``finite=False``; NaN is never valid."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    nonempty: bool = False
    finite: bool = True

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (already of the field's type), or None."""
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return next((p for p in map(self.problem, value) if p), None)
        if self.choices is not None and value not in self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if isinstance(value, str):
            return "non-empty" if self.nonempty and not value.strip() else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if value != value or (self.finite and value in (float("inf"), float("-inf"))):
            return f"a finite number {self.text()}" if self.text() != "a finite number" else self.text()
        low = (self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
        high = (self.le is None or value <= self.le) and (self.lt is None or value < self.lt)
        return None if low and high else self.text()

    def text(self) -> str:
        """The range in words: "at least 1", "above 0", "in [0, 1]", "in (0, 1]"."""
        low = ("[", self.ge) if self.ge is not None else ("(", self.gt) if self.gt is not None else None
        high = (self.le, "]") if self.le is not None else (self.lt, ")") if self.lt is not None else None
        if low and high:
            return f"in {low[0]}{_number(low[1])}, {_number(high[0])}{high[1]}"
        if low:
            return f"at least {_number(low[1])}" if low[0] == "[" else f"above {_number(low[1])}"
        if high:
            return f"at most {_number(high[0])}" if high[1] == "]" else f"below {_number(high[0])}"
        return "a finite number" if self.finite else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def bounds_of(f: dataclasses.Field) -> Bounds | None:
    return f.metadata.get("bounds")


def value_problem(value: Any, bounds: Bounds | None) -> str | None:
    """What is wrong with ``value`` under ``bounds`` (NaN always), or None."""
    problem = bounds.problem(value) if bounds else None
    if problem is None and isinstance(value, float) and value != value:
        problem = "a number"  # NaN: never a setting, declared or not
    return problem


def check_value(f: dataclasses.Field, value: Any, name: str | None = None) -> None:
    """A UserError naming the option when ``value`` is outside the field's declared bounds."""
    problem = value_problem(value, bounds_of(f))
    if problem:
        raise UserError(f"{name or flag_name(f.name)} must be {problem}, got {value!r}")


def check_fields(obj: Any, name: Callable[[str], str] = None) -> None:
    """Every field of the dataclass ``obj`` within its declared bounds, then its cross-field rules
    (a ``check()`` method, if the class has one); raises the first UserError."""
    for f in dataclasses.fields(obj):
        if f.init:
            check_value(f, getattr(obj, f.name), (name or flag_name)(f.name))
    rules = getattr(obj, "check", None)
    if callable(rules):
        rules()


def field_source(f: dataclasses.Field) -> str:
    return f.metadata.get("source", "")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def layer_source(where: str) -> str:
    """The source label of a settings layer named ``where`` by :func:`build_config`'s callers."""
    if where.startswith("train_defaults of model "):
        return "model alias " + where.removeprefix("train_defaults of model ").strip("'\"")
    if where.startswith("recipe "):
        return where
    if re.fullmatch(r".+\.ya?ml:\d+", where):  # registry.yaml:LINE, as Registry.paradigm_defaults names it
        return f"registry recipe ({where})"
    return f"{USER} (--config {where})" if where else USER


def fields(config_class: type) -> list[dataclasses.Field]:
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"{config_class!r} is not a dataclass")
    return [f for f in dataclasses.fields(config_class) if f.init]


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _resolved_types(config_class: type) -> dict[str, Any]:
    return typing.get_type_hints(config_class)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(underlying type, optional?) of an annotation such as ``int | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def coerce(value: Any, tp: Any, name: str) -> Any:
    """Turn a YAML or command-line value into the field's type, or raise a UserError."""
    base, optional = _base_type(tp)
    if value is None or (optional and isinstance(value, str) and value.lower() in {"none", "null"}):
        if optional:
            return None
        raise UserError(f"{name} must not be empty")
    origin = typing.get_origin(base)
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if origin in (list, tuple) or base in (list, tuple):
            (item_type,) = typing.get_args(base)[:1] or (str,)
            items = value.split(",") if isinstance(value, str) else list(value)
            items = [coerce(i.strip() if isinstance(i, str) else i, item_type, name) for i in items if i != ""]
            return items if (origin or base) is list else tuple(items)
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if base is float:
            return float(value)
        if base is str:
            if isinstance(value, bool):  # YAML reads `progress: off` and `use_liger_kernel: true` as booleans
                return "true" if value else "false"
            return str(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int("inf")
        raise UserError(f"{name} must be {getattr(base, '__name__', base)}, got {value!r}") from None
    return value


def build_config(
    config_class: type,
    *layers: Mapping[str, Any],
    args: Sequence[str] = (),
    where: Sequence[str] = (),
) -> Any:
    """Build ``config_class`` from mapping layers (lowest precedence first), then flags.

    ``where`` names each layer for error messages (a file and line, say); an unknown key or
    flag raises a UserError suggesting the closest field.
    """
    hints = _resolved_types(config_class)
    known = {f.name: f for f in fields(config_class)}
    names = list(known)
    values: dict[str, Any] = {}
    sources = {f.name: field_source(f) for f in known.values()}

    def set_value(name: str, value: Any, source: str) -> None:
        # A layer that restates the value it would get anyway does not take over its source (a
        # replayed run config keeps the sources of the run it replays), unless the user states it:
        # a flag or a user's file that gives a value owns it, whatever it was before.
        current = values.get(name, _default(known[name]))
        if value != current or not sources[name] or source.startswith(USER):
            sources[name] = source
        values[name] = value

    for i, layer in enumerate(layers):
        origin = where[i] if i < len(where) else ""
        recorded = _recorded_sources(origin)
        for key, value in layer.items():
            norm = key.replace("-", "_")
            if norm not in names:
                raise unknown(f"{config_class.__name__} key", key, names, where=origin)
            value = coerce(value, hints[norm], key)
            check_value(known[norm], value, f"{key} ({origin})" if origin else key)
            set_value(norm, value, recorded.get(norm) or layer_source(origin))
    if args:
        namespace = parser_for(config_class).parse_args(list(args))
        for key, value in vars(namespace).items():
            if value is not None:
                value = coerce(value, hints[key], flag_name(key))
                check_value(known[key], value)
                set_value(key, value, f"{USER} ({flag_name(key)})")
    try:
        config = config_class(**values)
    except TypeError as exc:  # a required field without value
        raise UserError(f"{config_class.__name__}: {exc}") from None
    object.__setattr__(config, _SOURCES_ATTR, sources)
    rules = getattr(config, "check", None)
    if callable(rules):
        rules()  # the cross-field rules of the class (a batch against its micro-batch, ...)
    return config


def _recorded_sources(where: str) -> dict[str, str]:
    """The sources a run's config.yaml recorded (``paradigm_config_sources``), when the layer
    named ``where`` is one: a replayed run keeps the sources of the run it replays."""
    if not where.endswith((".yaml", ".yml")):
        return {}
    from pathlib import Path

    import yaml

    try:
        data = yaml.safe_load(Path(where).expanduser().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    recorded = data.get("paradigm_config_sources") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def set_source(config: Any, name: str, source: str) -> None:
    """Record that setting ``name`` of ``config`` (built by :func:`build_config`) now comes from
    ``source`` (the harness changed it: a micro-batch fitted to the batch, ...)."""
    recorded = getattr(config, _SOURCES_ATTR, None)
    if recorded is not None:
        recorded[name] = source


def config_sources(config: Any) -> dict[str, str]:
    """Where each setting of ``config`` comes from: the field's source, or the layer that set it
    (``registry recipe``, ``model alias tiny``, ``user (--flag)``); for a config built without
    :func:`build_config`, the fields' sources."""
    recorded = getattr(config, _SOURCES_ATTR, None)
    if recorded is not None:
        return dict(recorded)
    return {f.name: field_source(f) for f in fields(type(config))}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit; we want a UserError
        if "unrecognized arguments" in message:
            flag = message.split(":", 1)[1].split()[0]
            choices = [a for action in self._actions for a in action.option_strings]
            raise unknown("option", flag, choices)
        raise UserError(message)


def parser_for(config_class: type, prog: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser with one flag per field (values are coerced later by ``coerce``)."""
    parser = _Parser(prog=prog, add_help=False, allow_abbrev=False)
    hints = _resolved_types(config_class)
    for f in fields(config_class):
        base, _ = _base_type(hints[f.name])
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "help": f.metadata.get("help", "")}
        # Both spellings, as TRL's HfArgumentParser accepts them: --learning-rate and --learning_rate.
        flags = list(dict.fromkeys([flag_name(f.name), f"--{f.name}"]))
        if base is bool:
            kwargs.update(nargs="?", const="true", metavar="BOOL")
            negative = list(dict.fromkeys([f"--no-{f.name.replace('_', '-')}", f"--no_{f.name}"]))
            parser.add_argument(*negative, dest=f.name, action="store_const", const="false", default=None,
                                help=argparse.SUPPRESS)
        else:
            kwargs["metavar"] = getattr(base, "__name__", "VALUE").upper()
        parser.add_argument(*flags, **kwargs)
    return parser


def describe(config_class: type, defaults: Mapping[str, Any] | None = None) -> list[tuple[str, str, str, str]]:
    """(flag, type, default, help) per field, for help screens and docs; ``defaults`` (a
    recipe's) replace the dataclass defaults they name."""
    hints = _resolved_types(config_class)
    defaults = defaults or {}
    rows = []
    for f in fields(config_class):
        if f.name in defaults:
            default = repr(defaults[f.name])
        elif f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        base, optional = _base_type(hints[f.name])
        type_name = getattr(base, "__name__", str(base)) + (" | None" if optional else "")
        rows.append((flag_name(f.name), type_name, default, f.metadata.get("help", "")))
    return rows


def provenance(config_class: type, defaults: Mapping[str, Any] | None = None,
               recipe: str = "") -> list[tuple[str, str, str, str, str]]:
    """(flag, type, default, source, help) per field: :func:`describe` with the source of each
    default; ``defaults`` (registry recipe ``recipe``'s) replace the dataclass defaults they
    name, and keep the field's source where they restate it."""
    config = build_config(config_class, defaults or {}, where=[f"recipe {recipe or config_class.__name__}"])
    sources = config_sources(config)
    return [(flag, tp, default, sources[name], text)
            for (flag, tp, default, text), name in zip(describe(config_class, defaults),
                                                       [f.name for f in fields(config_class)])]


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
