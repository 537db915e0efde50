"""Small builders shared by the tests: profiles, throwaway rule directories, the
benchmark scripts as modules."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from click.testing import CliRunner
from click.testing import Result
from ruamel.yaml import YAML

from engine import Profile
from engine import bundled_dir

from . import yaml_writer

DEFAULT_SOURCE = {"id": "partnerships-2022", "section": "introduction"}


def minimal_profile(**sections: dict[str, Any]) -> Profile:
    data: dict[str, Any] = {
        "country": "testland",
        "name": "Testland",
        "as_of": dt.date(2022, 7, 1),
        "commitment": {"tier": "none"},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Profile.model_validate(data)


def write_rules(
    tmp_path: Path,
    rules: list[dict[str, Any]],
    *,
    dimension: str = "guarantee_strength",
    groups: dict[str, Any] | None = None,
) -> Path:
    """A rules directory with the bundled model and catalog and one file of ``rules``."""
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    shutil.copy(bundled_dir("rules") / "sources.yaml", directory / "sources.yaml")
    # the bundled model without its monotone declarations: they speak of the bundled rules
    model = YAML(typ="safe", pure=True).load((bundled_dir("rules") / "model.yaml").read_text())
    for table in ("scores", "dimensions"):
        for target in model[table].values():
            target.pop("monotone", None)
    model.pop("intended_overlaps", None)  # they name bundled rules
    model.pop("indicators", None)
    yaml_writer.dump(model, directory / "model.yaml")
    full = [
        {
            "title": r.get("title", r["id"]),
            "rationale": "A rationale long enough for the loader.",
            "support": "What the cited passage says, long enough for the loader.",
            "source": DEFAULT_SOURCE,
            **r,
        }
        for r in rules
    ]
    body: dict[str, Any] = {"dimension": dimension, "rules": full}
    if groups:
        body["groups"] = groups
    yaml_writer.dump(body, directory / "test.yaml")
    return directory


def break_first_rule_in_durable(monkeypatch, ruleset):
    """Make durable_rules refuse the first rule (an exponent number, which it rejects) while
    the loader still accepts it: the rule whose error must be named. Returns that rule.

    Rule sets compile their rules once and keep the result (``RuleSet.durable_rulesets``):
    the compiler is patched for the rule sets loaded from now on, and this one's kept
    result is replaced."""
    import engine.compiler as compiler_module

    original = compiler_module.compile_ruleset
    victim = ruleset.rules[0]

    def broken(rs):
        out = original(rs)
        if victim.id in out:
            out[victim.id]["all"][0]["m"] = {"$and": [{"kind": "profile"},
                                                      {"$gt": {"x": 1e-05}}]}
        return out

    monkeypatch.setattr(compiler_module, "compile_ruleset", broken)
    from engine.durable_limits import split_rulesets

    monkeypatch.setitem(ruleset.__dict__, "durable_rulesets",
                        tuple(split_rulesets(broken(ruleset))))
    return victim


def run_cli(*args: object, env: dict[str, str] | None = None, color: bool = False) -> Result:
    """The latticework command, run in-process: the one runner every CLI test uses.

    A traceback in the output is a bug wherever it appears (only --debug shows ours)."""
    from engine.cli import main

    words = [str(a) for a in args]
    result = CliRunner().invoke(main, words, env=env, color=color)
    if "--debug" not in words:
        assert "Traceback" not in result.output, result.output
    return result


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """A script of benchmarks/ (not a package) imported as a module, ``name`` without .py."""
    spec = importlib.util.spec_from_file_location(f"latticework_bench_{name}",
                                                  BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module
