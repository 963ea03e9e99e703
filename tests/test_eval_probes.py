"""`harness eval --probes` fires the post_eval hook: built-in probes and third-party hooks alike."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.core.hookspecs import hookimpl


class Recorder:
    """A third-party post-eval plugin, registered inline."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def post_eval(self, context):
        self.calls.append((context.run.path, sorted(context.results["results"]), context.settings["probes"]))
        (context.run.path / "recorder.txt").write_text("seen")
        context.add_results("recorder", {"languages": len(context.results["results"])})
        return {"tasks_seen": len(context.results["results"])}


def test_eval_runs_probes_and_third_party_hooks(shared_data, tmp_path, capsys):
    from harness.core.plugins import get_plugin_manager

    recorder = Recorder()
    get_plugin_manager().register(recorder, name="recorder")
    run = tmp_path / "eval"
    with pytest.raises(SystemExit) as info:
        main(["eval", "--model", "tiny", "--tasks", "mgsm_xling_de,mgsm_xling_en", "--limit", "2",
              "--max-gen-toks", "16", "--data-dir", str(shared_data), "--run-dir", str(run),
              "--probes", "consistency", "--probe-options", "num_generations=1,max_new_tokens=16"])
        raise SystemExit(0)
    assert info.value.code == 0, capsys.readouterr().err
    results = json.loads((run / "results.json").read_text())
    consistency = results["probes"]["consistency"]
    assert consistency, results["probes"]
    assert results["post_eval"]["recorder"] == {"tasks_seen": len(results["results"])}
    assert results["post_eval"]["harness.plugins.probes.runner"]["file"] == "probes.json"
    assert results["recorder"] == {"languages": len(results["results"])}  # added through the context
    # The installed example package (an entry point, as a third party ships it) adds its step too.
    lengths = results["post_eval"]["example_lm"]["mean_response_chars"]
    assert set(lengths) == {"mgsm_xling_de", "mgsm_xling_en"} and all(v > 0 for v in lengths.values())
    assert (run / "probes.json").exists() and (run / "recorder.txt").read_text() == "seen"
    assert recorder.calls[0][2] == "consistency"  # the settings as given
    assert any(p.suffix == ".png" and p.stat().st_size > 0 for p in run.rglob("*.png"))


def test_unknown_probe_fails_before_evaluating(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--model", "tiny", "--tasks", "mgsm_xling_de", "--probes", "consistncy",
              "--run-dir", str(tmp_path / "never")])
    assert info.value.code == 2
    assert "unknown probe 'consistncy'; did you mean 'consistency'?" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_malformed_probe_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--probes", "consistency", "--probe-options", "k4"])
    assert info.value.code == 2
    assert "--probe-options takes key=value pairs" in capsys.readouterr().err
