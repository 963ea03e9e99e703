"""Loading plugins and collecting what they contribute.

Built-in components are ordinary plugins (``DEFAULT_PLUGINS``); third parties come in through
the entry-point group ``harness``. Plugins load lazily, once. A third-party plugin that fails to
import (or implements a hook that does not exist) is reported with its package name and left
out, so one broken plugin never breaks the CLI; ``HARNESS_STRICT_PLUGINS=1`` makes such failures
fatal. ``HARNESS_LOAD_PLUGINS=a,b`` loads only the named entry points (``""`` loads none).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import UserError

ENTRY_POINT_GROUP = "harness"
STRICT_ENV = "HARNESS_STRICT_PLUGINS"
LOAD_ENV = "HARNESS_LOAD_PLUGINS"

# Modules registered as plugins before any third party; each implements some hooks.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "harness.rewards",
    "harness.plugins",
    "harness.plugins.probes",
    "harness.corpus",
)


class PluginLoadError(UserError):
    """A plugin could not be loaded (raised only in strict mode)."""


class PluginLoadWarning(UserWarning):
    pass


@dataclass
class PluginFailure:
    plugin: str
    package: str
    error: str

    def message(self) -> str:
        return f"plugin {self.plugin!r} from package {self.package!r} failed to load: {self.error}"


@dataclass
class Contribution:
    kind: str
    name: str
    obj: Any
    plugin: str


@dataclass
class Catalog:
    """Everything the loaded plugins contributed, by kind and name."""

    paradigms: dict[str, Any] = field(default_factory=dict)
    rewards: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    corpora: dict[str, Any] = field(default_factory=dict)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    """Entry-point plugin name -> "distribution version"."""

    def by_plugin(self) -> dict[str, list[tuple[str, str]]]:
        """plugin name -> [(kind, name)] it contributed."""
        result: dict[str, list[tuple[str, str]]] = {}
        for (kind, name), plugin in self.owner.items():
            result.setdefault(plugin, []).append((kind, name))
        return result


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").lower() in {"1", "true", "yes"}


def _fail(pm: pluggy.PluginManager, failure: PluginFailure, exc: BaseException) -> None:
    if _strict():
        raise PluginLoadError(failure.message()) from exc
    pm.harness_failures.append(failure)  # type: ignore[attr-defined]
    warnings.warn(failure.message(), PluginLoadWarning, stacklevel=3)


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    only = os.environ.get(LOAD_ENV)
    if only is not None:
        wanted = {n.strip() for n in only.split(",") if n.strip()}
        eps = [ep for ep in eps if ep.name in wanted]
    return eps


def _package_of(ep: importlib.metadata.EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else ep.value.split(":")[0].split(".")[0]


def make_plugin_manager(
    *, entry_points: bool = True, extra: Iterable[tuple[str, object]] = ()
) -> pluggy.PluginManager:
    """A plugin manager with the built-ins, the entry-point plugins and ``extra`` (name, plugin)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.harness_failures = []  # type: ignore[attr-defined]
    pm.harness_packages = {}  # type: ignore[attr-defined]  # plugin name -> "package version"
    for module in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module), name=module)
    candidates: list[tuple[str, str, Callable[[], object]]] = []
    if entry_points:
        for ep in _entry_points():
            candidates.append((ep.name, _package_of(ep), ep.load))
            if ep.dist is not None:
                pm.harness_packages[ep.name] = f"{ep.dist.name} {ep.dist.version}"
    candidates += [(name, name, (lambda p=plugin: p)) for name, plugin in extra]
    for name, package, load in candidates:
        if pm.has_plugin(name):
            continue
        try:
            pm.register(load(), name=name)
            pm.check_pending()
        except Exception as exc:  # any import or validation error of a third-party plugin
            if pm.get_plugin(name) is not None:
                pm.unregister(name=name)
            _fail(pm, PluginFailure(name, package, f"{type(exc).__name__}: {exc}"), exc)
    pm.check_pending()
    return pm


def collect(pm: pluggy.PluginManager) -> Catalog:
    """Call every ``register_*`` hook, attributing each contribution to its plugin."""
    from harness.paradigm import check_paradigm

    catalog = Catalog(failures=list(getattr(pm, "harness_failures", [])),
                      packages=dict(getattr(pm, "harness_packages", {})))
    checks: dict[str, Callable[[Any], None]] = {
        "paradigms": check_paradigm,
        "rewards": functools.partial(_check_named, "reward"),
        "probes": functools.partial(_check_named, "probe"),
        "corpora": functools.partial(_check_named, "corpus"),
    }
    for kind, check in checks.items():
        caller = getattr(pm.hook, f"register_{kind}")
        for impl in caller.get_hookimpls():  # registration order (pluggy calls them in reverse)
            plugin = impl.plugin_name

            def register(obj: Any, _kind: str = kind, _plugin: str = plugin) -> None:
                check(obj)
                table = getattr(catalog, _kind)
                if obj.name in table:
                    other = catalog.owner[(_kind, obj.name)]
                    raise ValueError(
                        f"{_kind[:-1]} {obj.name!r} is registered by both {other!r} and {_plugin!r}"
                    )
                table[obj.name] = obj
                catalog.owner[(_kind, obj.name)] = _plugin

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except Exception as exc:
                if plugin in DEFAULT_PLUGINS:
                    raise  # our own bug: never hide it
                failure = PluginFailure(plugin, plugin, f"register_{kind}: {type(exc).__name__}: {exc}")
                if _strict():
                    raise PluginLoadError(failure.message()) from exc
                catalog.failures.append(failure)
                warnings.warn(failure.message(), PluginLoadWarning, stacklevel=2)
    return catalog


def fire_post_eval(pm: pluggy.PluginManager, run: Any, results: dict, settings: dict) -> dict[str, Any]:
    """Call every ``post_eval`` implementation; returns {plugin name: what it returned}.

    A third-party hook that raises is reported and skipped (strict mode: fatal); ours raise.
    """
    out: dict[str, Any] = {}
    for impl in pm.hook.post_eval.get_hookimpls():
        kwargs = {"run": run, "results": results, "settings": settings}
        try:
            value = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as exc:
            if impl.plugin_name in DEFAULT_PLUGINS or _strict() or isinstance(exc, UserError):
                raise
            warnings.warn(f"post_eval of plugin {impl.plugin_name!r} failed: {type(exc).__name__}: {exc}",
                          PluginLoadWarning, stacklevel=2)
            continue
        if value is not None:
            out[impl.plugin_name] = value
    return out


def _check_named(kind: str, obj: Any) -> None:
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        raise TypeError(f"a {kind} needs a non-empty string name, got {obj!r}")


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    return make_plugin_manager()


@functools.cache
def get_catalog() -> Catalog:
    return collect(get_plugin_manager())


def reset() -> None:
    """Forget the loaded plugins (tests; after installing a plugin at run time)."""
    get_plugin_manager.cache_clear()
    get_catalog.cache_clear()
