from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from harness.core.config import option
from harness.core.errors import UserError
from harness.core.hookspecs import hookimpl
from harness.core.plugins import (
    DEFAULT_PLUGINS, PluginLoadError, PluginLoadWarning, collect, make_plugin_manager,
)
from harness.core.rundir import read_jsonl


@dataclass
class NopConfig:
    steps: int = option(1, help="Steps.")


class Nop:
    name = "nop"
    description = "does nothing"
    config_class = NopConfig

    def train(self, context, config):
        raise NotImplementedError


class InlinePlugin:
    @hookimpl
    def register_paradigms(self, register):
        register(Nop())


def test_inline_plugin_contributes_and_is_attributed():
    pm = make_plugin_manager(entry_points=False, extra=[("inline", InlinePlugin())])
    catalog = collect(pm)
    assert catalog.paradigms["nop"].description == "does nothing"
    assert catalog.owner[("paradigms", "nop")] == "inline"
    assert ("paradigms", "nop") in catalog.by_plugin()["inline"]


def test_builtins_are_ordinary_plugins():
    pm = make_plugin_manager(entry_points=False)
    for module in DEFAULT_PLUGINS:
        assert pm.get_plugin(module) is not None
    catalog = collect(pm)
    assert {"accuracy", "consistency", "accuracy_consistency"} <= set(catalog.rewards)
    assert all(catalog.owner[("rewards", n)] == "harness.plugins.rewards" for n in catalog.rewards)


def test_duplicate_names_are_rejected_naming_both_plugins():
    class Again:
        @hookimpl
        def register_paradigms(self, register):
            register(Nop())

    pm = make_plugin_manager(entry_points=False, extra=[("first", InlinePlugin()), ("second", Again())])
    with pytest.warns(PluginLoadWarning, match="registered by both 'first' and 'second'"):
        catalog = collect(pm)
    assert catalog.owner[("paradigms", "nop")] == "first"
    assert [f.plugin for f in catalog.failures] == ["second"]


def test_invalid_paradigm_is_reported_not_registered():
    class Bad:
        @hookimpl
        def register_paradigms(self, register):
            register(object())

    pm = make_plugin_manager(entry_points=False, extra=[("bad", Bad())])
    with pytest.warns(PluginLoadWarning, match="is not a paradigm: it lacks name, description"):
        catalog = collect(pm)
    assert "bad" not in catalog.by_plugin()


class Misspelled:
    @hookimpl
    def register_paradigm(self, register):  # the real hook is register_paradigms
        raise AssertionError("never called")


def test_misspelled_hook_is_caught_by_check_pending():
    with pytest.warns(PluginLoadWarning, match=r"plugin 'typo' from package 'typo' failed to load: .*register_paradigm"):
        pm = make_plugin_manager(entry_points=False, extra=[("typo", Misspelled())])
    assert pm.get_plugin("typo") is None


def test_strict_mode_makes_failures_fatal(monkeypatch):
    monkeypatch.setenv("HARNESS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="register_paradigm") as info:
        make_plugin_manager(entry_points=False, extra=[("typo", Misspelled())])
    assert isinstance(info.value, UserError)


def test_example_third_party_plugin_loads_through_its_entry_point():
    catalog = collect(make_plugin_manager())
    assert "example_lm" in catalog.paradigms, "run scripts/setup-dev.sh: it installs tests/example_plugin"
    assert catalog.owner[("paradigms", "example_lm")] == "example_lm"


def test_load_env_limits_entry_points(monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "")
    assert "example_lm" not in collect(make_plugin_manager()).paradigms


def _fake_distribution(root, name: str, module_source: str):
    """A broken third-party plugin, installed the way pip would (a dist-info with an entry point)."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[harness]\n{name} = {name}\n")
    return root


def _harness(args, env_extra, tmp_path):
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def test_broken_plugin_does_not_break_the_cli(tmp_path):
    site = _fake_distribution(tmp_path, "broken_plugin", "import no_such_module_anywhere\n")
    env = {"PYTHONPATH": str(site)}
    done = _harness(["ls", "rewards"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout
    assert "plugin 'broken_plugin' from package 'broken_plugin' failed to load" in done.stderr
    assert "ModuleNotFoundError" in done.stderr and "Traceback" not in done.stderr

    strict = _harness(["ls", "rewards"], {**env, "HARNESS_STRICT_PLUGINS": "1"}, tmp_path)
    assert strict.returncode == 2
    assert "error: plugin 'broken_plugin' from package 'broken_plugin' failed to load" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_example_plugin_trains_through_the_cli(tmp_path):
    run = tmp_path / "run"
    done = _harness(["train", "--plugin", "example_lm", "--lang", "de,fr", "--num-problems", "8",
                     "--run-dir", str(run), "--steps", "3", "--batch-size", "4"], {}, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    records = list(read_jsonl(run / "metrics.jsonl"))
    assert [r["step"] for r in records] == [1, 2, 3]
    assert (run / "model" / "config.json").exists()
    import json

    result = json.loads((run / "result.json").read_text())
    assert result["model_path"] == "model"  # relative to the run directory
    assert result["metrics"]["last_loss"] < result["metrics"]["first_loss"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["language_counts"]["train"] == {"de": 8, "fr": 8}


def test_every_hook_is_documented_in_its_docstring_and_the_plugin_guide():
    import inspect

    from harness.core import hookspecs
    from tests.conftest import REPO

    guide = (REPO / "docs" / "plugins.md").read_text()
    hooks = [n for n, f in vars(hookspecs).items() if callable(f) and hasattr(f, "harness_spec")]
    assert {"register_paradigms", "register_rewards", "register_probes", "validate_eval", "post_eval"} <= set(hooks)
    for name in hooks:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 40, f"hook {name} lacks a docstring"
        assert f"`{name}(" in guide, f"hook {name} is missing from docs/plugins.md"
    # ... and so is everything a plugin implements or receives, all of it defined in hookspecs.
    types = [n for n, obj in vars(hookspecs).items()
             if inspect.isclass(obj) and obj.__module__ == hookspecs.__name__]
    assert {"Paradigm", "TrainContext", "TrainResult", "Reward", "Probe", "ProbeContext", "ProbeOptions",
            "EvalContext"} <= set(types)
    for name in types:
        assert len(inspect.getdoc(getattr(hookspecs, name)) or "") > 20, f"{name} lacks a docstring"
        assert f"`{name}`" in guide, f"{name} is missing from docs/plugins.md"


def test_the_default_plugins_are_modules_of_plugins():
    from harness.core.plugins import DEFAULT_PLUGINS
    from tests.conftest import REPO

    for module in DEFAULT_PLUGINS:
        assert module.startswith("harness.plugins."), module
        path = REPO / "plugins" / (module.removeprefix("harness.plugins.").replace(".", "/") + ".py")
        assert path.is_file(), f"{module}: no {path}"


# --- hooks are called through pluggy: its order, tryfirst/trylast and wrappers ------------------------


def _recorder(name: str, calls: list, **marks):
    class Plugin:
        @hookimpl(**marks)
        def post_eval(self, context):
            calls.append(name)
            return {"by": name}

        @hookimpl(**marks)
        def register_rewards(self, register):
            calls.append(name)

    return Plugin()


def _fire_post_eval(pm) -> dict:
    from harness.core.hookspecs import EvalContext
    from harness.core.plugins import fire_eval_hook

    return fire_eval_hook("post_eval", EvalContext(settings={}, catalog=collect(pm, kinds=()), registry=None,
                                                   run=None, results={}))


def test_hooks_run_in_pluggy_order_lifo_with_tryfirst_and_trylast():
    calls: list[str] = []
    extra = [("last", _recorder("last", calls, trylast=True)), ("a", _recorder("a", calls)),
             ("b", _recorder("b", calls)), ("first", _recorder("first", calls, tryfirst=True))]
    pm = make_plugin_manager(entry_points=False, extra=extra)
    out = _fire_post_eval(pm)  # built-ins: no base, no probes asked for
    assert calls == ["first", "b", "a", "last"]  # pluggy: tryfirst, then last registered first
    assert list(out) == ["first", "b", "a", "last"] and out["a"] == {"by": "a"}
    calls.clear()
    collect(pm, kinds=("rewards",))
    assert calls == ["first", "b", "a", "last"]


def test_a_hookwrapper_wraps_post_eval_and_sees_each_result():
    seen: list = []

    class Wrapper:
        @hookimpl(hookwrapper=True)
        def post_eval(self, context):
            outcome = yield
            seen.extend(outcome.get_result())

    class NewStyle:
        @hookimpl(wrapper=True)
        def post_eval(self, context):
            answers = yield
            return [{**a, "wrapped": True} for a in answers]

    calls: list[str] = []
    # The wrapper registered last is the outer one: it sees what the new-style wrapper returned.
    pm = make_plugin_manager(entry_points=False, extra=[("plain", _recorder("plain", calls)),
                                                         ("new", NewStyle()), ("wrapper", Wrapper())])
    out = _fire_post_eval(pm)
    assert calls == ["plain"]  # the wrappers were not called as plain implementations
    assert out == {"plain": {"by": "plain", "wrapped": True}}
    assert seen == [{"by": "plain", "wrapped": True}]


def test_a_failing_post_eval_is_reported_and_the_others_still_run():
    class Broken:
        @hookimpl(tryfirst=True)
        def post_eval(self, context):
            raise RuntimeError("boom")

    calls: list[str] = []
    pm = make_plugin_manager(entry_points=False, extra=[("ok", _recorder("ok", calls)), ("broken", Broken())])
    with pytest.warns(PluginLoadWarning, match="post_eval of plugin 'broken' failed: RuntimeError: boom"):
        out = _fire_post_eval(pm)
    assert out == {"ok": {"by": "ok"}}


def test_each_builtin_paradigm_and_probe_is_its_own_default_plugin():
    catalog = collect(make_plugin_manager(entry_points=False))
    for name in ("sft", "grpo", "grpo_consistency", "rft", "cold_start", "mixed"):
        assert catalog.owner[("paradigms", name)] == f"harness.plugins.{name}"
    for name in ("consistency", "perplexity", "self_similarity", "drift"):
        assert catalog.owner[("probes", name)] == f"harness.plugins.probes.{name}"
    assert list(catalog.paradigms)[:6] == ["sft", "grpo", "grpo_consistency", "rft", "cold_start", "mixed"]


# --- register_commands ----------------------------------------------------------------------------------


def test_builtin_commands_are_core_commands_and_no_plugin_contributes_one():
    import harness.cli  # noqa: F401 - every core command module adds itself to the app
    from harness.cli.common import app

    core = {info.name or info.callback.__name__ for info in app.registered_commands}
    core |= {group.name for group in app.registered_groups}
    assert {"train", "eval", "probe", "report", "compare", "pick-lang", "corpus", "experiment"} <= core
    assert collect(make_plugin_manager(entry_points=False), kinds=("commands",)).commands == {}


def test_a_typer_group_needs_a_name():
    import typer

    class Nameless:
        @hookimpl
        def register_commands(self, register):
            register(typer.Typer())

    pm = make_plugin_manager(entry_points=False, extra=[("nameless", Nameless())])
    with pytest.warns(PluginLoadWarning, match="needs a name"):
        catalog = collect(pm, kinds=("commands",))
    assert "nameless" not in catalog.by_plugin()


def test_a_third_party_command_joins_the_cli(tmp_path):
    site = _fake_distribution(tmp_path, "hello_plugin", """
        from harness.core.hookspecs import hookimpl

        def say_hello(name: str = "world"):
            \"\"\"Greet someone.\"\"\"
            print(f"hello {name}")

        def train():
            print("not the real train")

        @hookimpl
        def register_commands(register):
            register(say_hello)
            register(train)
        """)
    done = _harness(["say-hello", "--name", "de"], {"PYTHONPATH": str(site)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello de"
    assert "plugin 'hello_plugin' registers command 'train', which is a core command; ignored" in done.stderr
    helped = _harness(["--help"], {"PYTHONPATH": str(site)}, tmp_path)
    assert "say-hello" in helped.stdout and "Greet someone." in helped.stdout
