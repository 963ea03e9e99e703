"""The ``harness`` command line: one module per command (or group), all on the app of
:mod:`harness.cli.common`; third-party plugins add commands through ``register_commands``.

User errors end in one sentence and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback
import warnings

# Each adds its commands to the app; this order is the order of `harness --help`.
from harness.cli import listing, train, evaluate, probe, report, corpus, experiment  # noqa: F401, I001
from harness.cli.common import app, err_console
from harness.core.errors import ReportedFailure, UserError, machine_says_no
from harness.core.rundir import Terminated

# What typer (its own copy of click) raises for a flag it cannot parse, with standalone_mode off.
try:
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # a typer that uses click itself
    from click.exceptions import ClickException as _ClickException
CLICK_ERRORS = (_ClickException,)



def _register_plugin_commands() -> None:
    """Add the commands plugins contribute through ``register_commands``; a core command keeps
    its name."""
    from harness.core.plugins import PluginLoadError, PluginLoadWarning, collect, get_plugin_manager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginLoadWarning)  # printed once, by loaded_catalog()
            catalog = collect(get_plugin_manager(), kinds=("commands",))
    except PluginLoadError:
        return  # strict mode: the command that runs loads the plugins again and exits 2
    core = {info.name or info.callback.__name__.lower().replace("_", "-") for info in app.registered_commands}
    for name, command in catalog.commands.items():
        if name in core:
            err_console.print(f"[yellow]warning:[/] plugin {catalog.owner[('commands', name)]!r} "
                              f"registers command {name!r}, which is a core command; ignored", highlight=False)
        elif hasattr(command, "registered_commands"):  # a typer.Typer group
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)


_register_plugin_commands()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        code = app(args=argv, prog_name="harness", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)  # as typer's standalone mode ends
    except CLICK_ERRORS as exc:  # a flag typer could not parse: one sentence, as ours
        if exc.format_message():  # (no message: a bare `harness` or group, whose help was printed)
            err_console.print(f"[red]error:[/] {exc.format_message()}{_usage_hint(exc)}", highlight=False,
                              soft_wrap=True)
        sys.exit(exc.exit_code)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except ReportedFailure as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/] (the run directory records it; continue with --resume)")
        sys.exit(130)
    except Terminated as exc:
        err_console.print(f"[yellow]stopped[/] by {exc.signal}: the run directory records it as interrupted; "
                          f"continue with --resume", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - only the machine's refusals are turned into a sentence
        sentence = machine_says_no(exc)
        if sentence is None:
            raise
        if debug:
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {sentence} (the run directory records the failure)",
                          highlight=False, soft_wrap=True)
        sys.exit(2)


def _usage_hint(exc: Exception) -> str:
    command = getattr(getattr(exc, "ctx", None), "command_path", None)
    return f" (see `{command} --help`)" if command else ""
