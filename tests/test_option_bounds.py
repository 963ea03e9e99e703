"""Every option of every command, given a bad value, ends in one sentence and exit code 2, and
nothing is created: a test generated from the declarations themselves (issue 23).

Each command records the dataclasses that declare its options (``harness.cli.common.declares``);
each field declares its type and bounds beside its default (``harness.core.config.option``). For
every numeric, enumerated or path option, the values below that the declaration makes invalid are
added to a valid call of the command. A new option is covered when it is declared, and the
meta-tests fail when a command or one of its options is not declared at all.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path

import pytest

import harness.cli
from harness.cli import main
from harness.cli.common import DECLARED, app
from harness.core.config import _base_type, bounds_of, check_value, coerce, flag_name
from harness.core.errors import UserError

VALUES = ("0", "-1", "nan", "inf", "1e30", "abc", "")
"""What a hostile user types: zero, a negative, NaN, infinity, a huge number, a wrong type, nothing."""

# The commands whose options the issue names: each must declare them.
COMMANDS = ("train", "eval", "probe", "report", "compare", "pick-lang", "experiment plan", "experiment run",
            "experiment status", "corpus build", "corpus check")
# CLI parameters that are not settings of a request: switches, the help flag, and --config (a file of
# settings, read through harness.core.files, whose values are checked as the flags' are).
NOT_SETTINGS = {"help", "show_help", "debug", "overwrite", "resume", "config"}
# A CLI parameter named otherwise than the field that declares it (command -> {parameter: field}).
RENAMED = {"train": {"lang": "languages", "config": "recipe"}}


def _click_command(path: str):
    import typer

    command = typer.main.get_command(app)
    for name in path.split():
        command = command.commands[name]
    return command


def _paradigm_classes() -> dict[str, type]:
    """The config class of each registered paradigm (train's options beyond its own)."""
    from harness.core.plugins import get_catalog

    return {name: paradigm.config_class for name, paradigm in get_catalog().paradigms.items()}


def _checked_type(tp: typing.Any) -> bool:
    base, _ = _base_type(tp)
    return base in (int, float, str, Path) or typing.get_origin(base) in (list, tuple)


def _invalid(value: str, f: dataclasses.Field, tp: typing.Any) -> bool:
    """Whether the declaration refuses ``value`` (as typed on the command line)."""
    try:
        check_value(f, coerce(value, tp, f.name))
    except UserError:
        return True
    return False


def _interesting(f: dataclasses.Field, tp: typing.Any) -> bool:
    """Numeric, enumerated or path options: what the issue asks to be covered."""
    base, _ = _base_type(tp)
    bounds = bounds_of(f)
    return base in (int, float, Path) or bool(bounds and (bounds.choices or bounds.nonempty))


def cases() -> list[tuple[str, list[str], str, str]]:
    """(command, valid call, flag, bad value) for every declared option and every value its
    declaration refuses; an option shared by several paradigms is tried once."""
    found, seen = [], set()
    for command, declared in DECLARED.items():
        classes = [(declared.example, cls) for cls in declared.classes]
        if command == "train":
            example = list(declared.example)
            for name, cls in _paradigm_classes().items():
                call = _with_plugin(example, name)
                classes.append((tuple(call), cls))
        for example, cls in classes:
            hints = typing.get_type_hints(cls)
            for f in dataclasses.fields(cls):
                if not f.init or not _checked_type(hints[f.name]) or not _interesting(f, hints[f.name]):
                    continue
                flag = flag_name(f.name)
                if cls not in declared.classes and (command, f.name, bounds_of(f)) in seen:
                    continue
                seen.add((command, f.name, bounds_of(f)))
                if cls in declared.classes and flag not in _flags(command):
                    continue  # a field of the request that no flag sets (set by the command itself)
                for value in VALUES:
                    if _invalid(value, f, hints[f.name]):
                        found.append((command, list(example), flag, value))
    return found


def _with_plugin(example: list[str], plugin: str) -> list[str]:
    """train's example with ``--plugin plugin`` (and what that paradigm needs to start)."""
    call = list(example)
    call[call.index("--plugin") + 1] = plugin
    if plugin == "mixed":
        call[call.index("--lang") + 1] = "en,de"
    if plugin == "rft":
        call += ["--sampler-model", "tiny"]
    return call


def _flags(command: str) -> set[str]:
    return {opt for param in _click_command(command).params for opt in param.opts}


CASES = cases()


@pytest.mark.parametrize("command, example, flag, value", CASES,
                         ids=[f"{c}{' ' + f}={v!r}" for c, _, f, v in CASES])
def test_a_bad_value_is_one_sentence_and_creates_nothing(command, example, flag, value, tmp_path, monkeypatch,
                                                         capsys, bound_inputs):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    monkeypatch.setenv("HARNESS_EXPERIMENTS_DIR", str(tmp_path / "experiments"))
    args = [*command.split(), *(bound_inputs.get(a, a) for a in example), flag, value]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2, f"harness {' '.join(args)}: exit {info.value.code}\n{err}"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error:"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], f"harness {' '.join(args)} created files"


@pytest.fixture(scope="module")
def bound_inputs(tmp_path_factory):
    """Inputs the commands' examples name (placeholders ``@EVAL_RUN`` and the like), made once,
    outside the working directory each case checks."""
    import numpy as np

    from tests.conftest import SHARED_DATA
    from tests.synthetic import simulate_family, write_eval_run

    root = tmp_path_factory.mktemp("bound-inputs")
    rng = np.random.default_rng(0)
    runs = {name: write_eval_run(root / name, {"toy_xling": simulate_family(rng, {"en": .5, "de": .4}, 8)})
            for name in ("a", "b")}
    return {"@EVAL_RUN": str(runs["a"]), "@OTHER_EVAL_RUN": str(runs["b"]), "@CORPUS": str(SHARED_DATA / "mgsm")}


# --- the declarations cover the commands and their options -------------------------------------------


def test_the_generated_cases_cover_every_command():
    covered = {c for c, *_ in CASES}
    assert set(COMMANDS) <= set(DECLARED), f"undeclared: {sorted(set(COMMANDS) - set(DECLARED))}"
    assert covered == set(DECLARED), f"no bad value tried for {sorted(set(DECLARED) - covered)}"
    assert len(CASES) > 300


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_a_command_is_declared(command):
    if command not in DECLARED:
        pytest.fail(f"`harness {command}` declares no options (harness.cli.common.declares)")
    fields = {f.name for cls in DECLARED[command].classes for f in dataclasses.fields(cls)}
    renamed = RENAMED.get(command, {})
    undeclared = [p.name for p in _click_command(command).params
                  if p.name not in NOT_SETTINGS and renamed.get(p.name, p.name) not in fields
                  and not getattr(p, "is_flag", False)]
    assert not undeclared, f"`harness {command}` options without a declaration: {undeclared}"


def test_the_values_are_really_invalid_for_a_sample_declaration():
    """The generator's judgement, checked by hand on one option of each kind."""
    from harness.core.config import option

    @dataclasses.dataclass
    class Sample:
        rate: float = option(0.1, gt=0)
        steps: int = option(-1, ge=-1)
        mode: str = option("a", choices=("a", "b"))

    hints = typing.get_type_hints(Sample)
    rate, steps, mode = dataclasses.fields(Sample)
    assert [v for v in VALUES if _invalid(v, rate, hints["rate"])] == ["0", "-1", "nan", "inf", "abc", ""]
    assert [v for v in VALUES if _invalid(v, steps, hints["steps"])] == ["nan", "inf", "abc", ""]
    assert [v for v in VALUES if _invalid(v, mode, hints["mode"])] == list(VALUES)
    assert math.isnan(coerce("nan", float, "x"))
