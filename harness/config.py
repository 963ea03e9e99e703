"""Config dataclasses as the single source of CLI flags and YAML keys.

A paradigm's config is a dataclass whose fields carry ``help`` metadata (as TRL's configs do).
The same fields become ``--flag`` options and YAML recipe keys. Precedence, lowest first:
dataclass defaults < registry.yaml paradigm defaults < ``--config`` recipe file < flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import UserError, unknown


def option(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with help text: ``lr: float = option(1e-6, help="Learning rate.")``."""
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


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
            return str(value)
    except (TypeError, ValueError):
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
    names = [f.name for f in fields(config_class)]
    values: dict[str, Any] = {}
    for i, layer in enumerate(layers):
        origin = where[i] if i < len(where) else ""
        for key, value in layer.items():
            norm = key.replace("-", "_")
            if norm not in names:
                raise unknown(f"{config_class.__name__} key", key, names, where=origin)
            values[norm] = coerce(value, hints[norm], key)
    if args:
        namespace = parser_for(config_class).parse_args(list(args))
        for key, value in vars(namespace).items():
            if value is not None:
                values[key] = coerce(value, hints[key], flag_name(key))
    try:
        return config_class(**values)
    except TypeError as exc:  # a required field without value
        raise UserError(f"{config_class.__name__}: {exc}") from None


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


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
