"""benchmarks/stages.py runs each stage of scoring on inputs that agree with each other."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import BENCHMARKS
from .helpers import load_benchmark

SCRIPT = BENCHMARKS / "stages.py"
stages_script = load_benchmark("stages")


def test_every_stage_runs_and_the_two_evaluators_agree_on_its_inputs(engine):
    runs = stages_script.stages(engine, 20)
    assert tuple(runs) == stages_script.STAGES
    outputs = {name: run() for name, run in runs.items()}
    assert len(outputs["durable"]) == 20
    assert outputs["durable"] == outputs["reference"]
    keys = {"kind", "sid", "id"} | {spec.durable_key for spec in engine.ruleset.fields_read}
    assert all(set(json.loads(m)) <= keys for m in outputs["message"])
    # the floor drives the C core as the engine does: every fact retracted from its session
    core = runs["core"].__self__
    assert [core.core.get_facts(handle, "1") for handle in core.handles] == ["[]"] * len(
        core.handles)


def test_the_script_runs_a_stage_and_refuses_an_unknown_one():
    ok = subprocess.run([sys.executable, str(SCRIPT), "score", "1", "--profiles", "10"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, str(SCRIPT), "tracing", "1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice: 'tracing'" in bad.stderr
