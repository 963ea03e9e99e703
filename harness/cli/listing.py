"""``harness plugins``, ``ls``, ``validate`` and ``tiny``: what is installed and registered."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from harness.cli.common import app, console, loaded_catalog, loaded_registry, make_table


@app.command()
def plugins() -> None:
    """List loaded plugins and what each contributes (paradigms, rewards, probes, eval hooks)."""
    from harness import __version__

    catalog = loaded_catalog()
    kinds: dict[str, dict[str, list[str]]] = {}
    for plugin, items in catalog.by_plugin().items():
        for kind, name in items:
            kinds.setdefault(plugin, {}).setdefault(kind, []).append(name)
    for hook in ("validate_eval", "post_eval"):  # steps around every evaluation (Gen, probes, yours)
        for impl in getattr(catalog.manager.hook, hook).get_hookimpls():
            kinds.setdefault(impl.plugin_name, {}).setdefault("hooks", []).append(hook)
    table = make_table("Plugins", "plugin", "package", "contributes")
    for plugin, by_kind in sorted(kinds.items()):
        ver = catalog.packages.get(plugin, f"xling-harness {__version__} (built in)")
        table.add_row(plugin, ver, "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(by_kind.items())))
    console.print(table)


class Listing(str, Enum):
    paradigms = "paradigms"
    rewards = "rewards"
    tasks = "tasks"
    probes = "probes"
    models = "models"
    languages = "languages"
    experiments = "experiments"


@app.command("ls")
def ls(what: Annotated[Listing, typer.Argument(help="What to list.")]) -> None:
    """List registered paradigms, rewards, tasks, probes, models, languages or experiments."""
    catalog, registry = loaded_catalog(), loaded_registry()
    if what in (Listing.paradigms, Listing.rewards, Listing.probes):
        table = make_table(what.value.capitalize(), "name", "plugin", "description")
        for name, obj in sorted(getattr(catalog, what.value).items()):
            table.add_row(name, catalog.owner[(what.value, name)], getattr(obj, "description", ""))
        if what is Listing.paradigms:
            for name, entry in sorted(registry.paradigms.items()):
                if name not in catalog.paradigms:
                    table.add_row(name, f"{entry['plugin']} (registry recipe)", entry.get("description", ""))
    elif what is Listing.languages:
        table = make_table("Languages", "code", "name", "langid")
        for code, entry in registry.languages.items():
            table.add_row(code, entry["name"], entry["langid"])
    elif what is Listing.models:
        table = make_table("Models", "alias", "path", "description")
        for alias, entry in registry.models.items():
            table.add_row(alias, str(entry["path"]), entry.get("description", ""))
    elif what is Listing.tasks:
        table = make_table("Tasks", "family", "languages", "description")
        for name, entry in registry.tasks.items():
            table.add_row(name, " ".join(entry.get("languages", [])), entry.get("description", ""))
    else:
        table = make_table("Experiments", "name", "paradigms", "languages", "models")
        for name, entry in registry.experiments.items():
            table.add_row(name, " ".join(entry["paradigms"]), " ".join(entry["languages"]), " ".join(entry["models"]))
    console.print(table)


@app.command()
def validate() -> None:
    """Validate registry.yaml against the loaded plugins and the installed task folders."""
    registry = loaded_registry()
    counts = ", ".join(f"{len(getattr(registry, s))} {s}" for s in
                       ("languages", "models", "tasks", "paradigms", "experiments"))
    console.print(f"[green]ok[/] {registry.path}: {counts}")


@app.command("tiny")
def tiny(base: Annotated[bool, typer.Option("--base", help="The pretrained English-centric base `tiny-base` "
                                             "(built once: about 3 minutes on 2 CPU cores).")] = False) -> None:
    """Build (once, offline) the tiny model behind the alias `tiny` (or `tiny-base`) and print its path."""
    from harness.inference.models import builtin_model_path

    console.print(str(builtin_model_path("tiny-base" if base else "tiny")), highlight=False, soft_wrap=True)
