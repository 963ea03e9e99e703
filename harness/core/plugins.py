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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy

from harness.core import hookspecs
from harness.core.errors import UserError

ENTRY_POINT_GROUP = "harness"
STRICT_ENV = "HARNESS_STRICT_PLUGINS"
LOAD_ENV = "HARNESS_LOAD_PLUGINS"

# The built-in plugins (modules of plugins/), registered before any third party, in this order
# (it is the order of `harness ls`); each implements some hooks of harness.core.hookspecs.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "harness.plugins.rewards",
    *(f"harness.plugins.{name}" for name in ("sft", "grpo", "grpo_consistency", "rft", "cold_start", "mixed")),
    *(f"harness.plugins.probes.{name}" for name in ("consistency", "perplexity", "self_similarity", "drift")),
    "harness.plugins.gen",  # Gen after `harness eval --base`
    "harness.plugins.probes.runner",  # the probes after `harness eval --probes`
    "harness.plugins.corpora",  # the corpora `harness corpus build` finished
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
    commands: dict[str, Any] = field(default_factory=dict)
    """CLI command name -> a function or a ``typer.Typer`` group (``register_commands``)."""
    owner: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    """Entry-point plugin name -> "distribution version"."""
    manager: pluggy.PluginManager | None = field(default=None, repr=False)
    """The plugin manager the catalog was collected from (fires the later hooks: ``post_eval``)."""

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


def call_each(pm: pluggy.PluginManager, name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    """``(plugin name, call)`` for each implementation of hook ``name``, in pluggy's call order;
    ``call(**kwargs)`` returns what that implementation returned.

    Each call goes through pluggy (a subset caller of ``pm.hook.<name>`` holding that one
    implementation and every wrapper of the hook), so ``tryfirst``/``trylast``, LIFO order and
    hook wrappers behave as pluggy documents, while the host still knows which plugin answered or
    raised: a wrapper wraps each implementation's call separately.
    """
    plain = [i for i in getattr(pm.hook, name).get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    for impl in reversed(plain):  # pluggy keeps them in reverse call order
        caller = pm.subset_hook_caller(name, remove_plugins=[i.plugin for i in plain if i is not impl])

        def call(_caller=caller, **kwargs: Any) -> Any:
            results = _caller(**kwargs)
            return results[0] if results else None

        yield impl.plugin_name, call


def collect(pm: pluggy.PluginManager, kinds: Iterable[str] | None = None) -> Catalog:
    """Call every ``register_*`` hook (or those of ``kinds``), attributing each contribution to
    its plugin. Hooks run in pluggy's order; a name claimed twice goes to the plugin registered
    first (the built-ins before third parties), whatever the call order."""
    catalog = Catalog(failures=list(getattr(pm, "harness_failures", [])),
                      packages=dict(getattr(pm, "harness_packages", {})), manager=pm)
    namers = _NAMERS if kinds is None else {k: _NAMERS[k] for k in kinds}
    loaded = {plugin_name: i for i, (plugin_name, _) in enumerate(pm.list_name_plugin())}
    for kind, namer in namers.items():
        offered: list[tuple[str, str, Any]] = []  # (plugin, name, object), in call order
        for plugin, call in call_each(pm, f"register_{kind}"):
            def register(obj: Any, *args: Any, _plugin: str = plugin, **kwargs: Any) -> None:
                offered.append((_plugin, namer(obj, *args, **kwargs), obj))

            _guarded(catalog, plugin, f"register_{kind}", lambda: call(register=register))
        for plugin, name, obj in sorted(offered, key=lambda item: loaded.get(item[0], len(loaded))):
            _claim(catalog, kind, plugin, name, obj)
    return catalog


def _guarded(catalog: Catalog, plugin: str, hook: str, call: Callable[[], Any]) -> None:
    """Run one plugin's hook; a third party's failure is reported, ours raise (never hide it)."""
    try:
        call()
    except Exception as exc:
        if plugin in DEFAULT_PLUGINS:
            raise
        _report(catalog, PluginFailure(plugin, plugin, f"{hook}: {type(exc).__name__}: {exc}"), exc)


def _claim(catalog: Catalog, kind: str, plugin: str, name: str, obj: Any) -> None:
    table = getattr(catalog, kind)
    if name in table:
        other = catalog.owner[(kind, name)]
        message = f"{kind[:-1]} {name!r} is registered by both {other!r} and {plugin!r}"
        error = ValueError(message)
        if plugin in DEFAULT_PLUGINS:
            raise error
        _report(catalog, PluginFailure(plugin, plugin, f"register_{kind}: ValueError: {message}"), error)
        return
    table[name] = obj
    catalog.owner[(kind, name)] = plugin


def _report(catalog: Catalog, failure: PluginFailure, exc: BaseException) -> None:
    if _strict():
        raise PluginLoadError(failure.message()) from exc
    catalog.failures.append(failure)
    warnings.warn(failure.message(), PluginLoadWarning, stacklevel=4)


def fire_eval_hook(hook: str, context: Any) -> dict[str, Any]:
    """Call every implementation of ``validate_eval`` or ``post_eval`` of the context's catalog
    through pluggy, telling the context which plugin runs; returns {plugin name: what it
    returned}. A UserError (a refusal) always ends the command; any other failure of a
    third-party hook is reported and skipped (strict mode: fatal); ours raise.
    """
    out: dict[str, Any] = {}
    for plugin, call in call_each(context.catalog.manager, hook):
        context.plugin = plugin
        try:
            value = call(context=context)
        except Exception as exc:
            if plugin in DEFAULT_PLUGINS or _strict() or isinstance(exc, UserError):
                raise
            warnings.warn(f"{hook} of plugin {plugin!r} failed: {type(exc).__name__}: {exc}",
                          PluginLoadWarning, stacklevel=2)
            continue
        if value is not None:
            out[plugin] = value
    return out


def _named(kind: str, obj: Any) -> str:
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        raise TypeError(f"a {kind} needs a non-empty string name, got {obj!r}")
    return obj.name


def _paradigm_name(obj: Any) -> str:
    from harness.core.hookspecs import check_paradigm

    check_paradigm(obj)
    return obj.name


def _command_name(obj: Any, name: str | None = None) -> str:
    """A command is a function (``harness <name>``; default name: the function's, ``_`` as
    ``-``, as typer names it) or a ``typer.Typer`` group, which needs ``name``."""
    if name is None and callable(obj) and hasattr(obj, "__name__") and not hasattr(obj, "registered_commands"):
        name = obj.__name__.lower().replace("_", "-")
    if not isinstance(name, str) or not name or name.startswith("-"):
        raise TypeError(f"command {obj!r} needs a name: register(app, name=\"mycommand\")")
    if not callable(obj):
        raise TypeError(f"command {name!r} must be a function or a typer.Typer, got {obj!r}")
    return name


# What each ``register_<kind>`` hook accepts: validate the registered object, return its name.
_NAMERS: dict[str, Callable[..., str]] = {
    "paradigms": _paradigm_name,
    "rewards": functools.partial(_named, "reward"),
    "probes": functools.partial(_named, "probe"),
    "corpora": functools.partial(_named, "corpus"),
    "commands": _command_name,
}


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
