"""durable_rules' fixed tables (docs/durable-rules.md, "Limits"): each threshold as measured,
and our defence: a rule that overflows one alone is refused when rules load (and by
``validate`` and ``rules check``), limits only rules together reach are lifted by running
the rules as several durable_rules rulesets, and text reaches durable_rules as a digest.

Whatever could crash or hang runs in a child process, as in tests/test_durable_traps.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import Engine
from engine import LoadErrors
from engine import load_ruleset
from engine.analysis.checker import Checker
from engine.analysis.checker import check_rules
from engine.analysis.checker import firing_report
from engine.compiler import SENTINEL
from engine.compiler import compile_condition
from engine.compiler import compile_ruleset
from engine.compiler import guarded
from engine.conditions import All
from engine.conditions import AnyOf
from engine.conditions import Cmp
from engine.conditions import normalize
from engine.durable_limits import MAX_GROUPS
from engine.durable_limits import MAX_PENDING
from engine.durable_limits import MAX_RULES_AT_NODE
from engine.durable_limits import MAX_TESTS_UNDER_NODE
from engine.durable_limits import Network
from engine.durable_limits import rule_limits
from engine.durable_limits import split_rulesets
from engine.fields import durable_key
from engine.fields import field_specs
from engine.fields import flatten
from engine.reference import ReferenceEvaluator

from . import yaml_writer
from .helpers import DEFAULT_SOURCE
from .helpers import break_first_rule_in_durable
from .helpers import minimal_profile
from .helpers import run_cli
from .helpers import write_rules

ROOT = Path(__file__).resolve().parent.parent
SHARE = "dependence.arms_us_share"
TROOPS = "forces.troops_permanent"
BOOLS = [p for p, s in field_specs().items() if s.kind == "bool"]


def in_child(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run Python in a fresh interpreter: a crash or a hang fails the test, not pytest."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def raw_durable(definitions: dict[str, dict], fact: dict) -> subprocess.CompletedProcess:
    """Compiled definitions straight into durable_rules, one fact asserted: what it does."""
    return in_child(f"""
        import json
        from engine.evaluator import _quiet_host
        definitions = json.loads({json.dumps(json.dumps(definitions))})
        fired = []
        def action(rule_id):  # durable_rules calls a "run" of one argument synchronously
            return lambda c: fired.append(rule_id)
        for rule_id, definition in definitions.items():
            definition["run"] = action(rule_id)
        host = _quiet_host()
        host.set_rulesets({{"probe": definitions}})
        host.assert_fact("probe", {{**json.loads({json.dumps(json.dumps(fact))}),
                                    "kind": "profile", "sid": "1"}})
        print(len(fired))
    """)


def definitions_of(*conditions) -> dict[str, dict]:
    out = {SENTINEL: guarded(None)}
    for i, cond in enumerate(conditions):
        out[f"r{i}"] = guarded(compile_condition(normalize(cond)))
    return out


def peak(definitions: dict[str, dict]) -> int:
    net = Network()
    for d in definitions.values():
        net.add(d)
    return net.peak


def extra_rules(rules_dir: Path, n: int) -> Path:
    """The issue's reproduction: n more rules {field: dependence.arms_us_share, gte: K}."""
    rules = [{"id": f"extra-{k}", "title": f"Share at least {k}",
              "when": {"field": SHARE, "gte": k}, "points": {"deterrence": 1},
              "rationale": "A rationale long enough for the loader.",
              "support": "What the cited passage says, long enough for the loader.",
              "source": DEFAULT_SOURCE} for k in range(n)]
    yaml_writer.dump({"dimension": "guarantee_strength", "rules": rules}, rules_dir / "extra.yaml")
    return rules_dir


PROFILE_WITH_FULL_SHARE = """\
country: testland
name: Testland
as_of: 2022-07-01
commitment:
  tier: none
dependence:
  arms_us_share:
    value: 100
    period: '2022'
"""


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def any_of(field: str, op: str, values) -> AnyOf:
    return AnyOf(tuple(Cmp(field, op, v) for v in values))


# --- the reproduction: 64 more rules firing together -----------------------------------


def test_64_extra_rules_firing_together_score_correctly(rules_copy, tmp_path):
    rules = extra_rules(rules_copy, 64)
    out = in_child(f"""
        import json
        from engine import Engine
        from engine.reference import ReferenceEvaluator
        from engine.fields import flatten
        from tests.helpers import minimal_profile
        profile = minimal_profile(dependence={{"arms_us_share": 100}})
        with Engine.load({str(rules)!r}) as durable, \\
                Engine.load({str(rules)!r}, evaluator="reference") as reference:
            a, b = durable.score(profile), reference.score(profile)
            print(json.dumps({{
                "same": a.model_dump() == b.model_dump(),
                "rulesets": len(durable.evaluator._ruleset_names),
                "fired": sorted(durable.evaluator.fired(flatten(profile))),
            }}))
    """)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["same"]
    assert {f"extra-{k}" for k in range(64)} <= set(result["fired"])
    assert result["rulesets"] >= 2  # the limit was lifted, not dodged


@pytest.mark.parametrize("command", [["score"], ["batch", "--jobs", "2"]])
def test_score_and_batch_survive_rules_over_the_firing_limit(rules_copy, tmp_path, command):
    rules = extra_rules(rules_copy, 64)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "testland@2022.yaml").write_text(PROFILE_WITH_FULL_SHARE)
    other = PROFILE_WITH_FULL_SHARE.replace("testland", "otherland").replace("Testland", "Otherland")
    (profiles / "otherland@2022.yaml").write_text(other)
    target = [str(profiles / "testland@2022.yaml")] if command == ["score"] else \
        ["--profiles", str(profiles)]
    out = subprocess.run([sys.executable, "-m", "engine.cli", *command, *target,
                          "--rules", str(rules)],
                         capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "Testland" in out.stdout


# --- each limit, measured: at the threshold durable_rules works, one past it fails ------------


def test_matching_stack_holds_64_tests_passed_together():
    at_limit = definitions_of(*[Cmp(SHARE, "ge", k) for k in range(MAX_PENDING)])
    past = definitions_of(*[Cmp(SHARE, "ge", k) for k in range(MAX_PENDING + 1)])
    assert (peak(at_limit), peak(past)) == (64, 65)
    assert raw_durable(at_limit, {durable_key(SHARE): 100}).stdout.strip() == "65"
    out = raw_durable(past, {durable_key(SHARE): 100})
    assert out.returncode != 0 and "error code: 303" in out.stderr
    # tests, not rules: one rule whose 65 'any' branches hold together overflows it too
    one_rule = definitions_of(any_of(SHARE, "ge", range(MAX_PENDING + 1)))
    assert peak(one_rule) == 65
    out = raw_durable(one_rule, {durable_key(SHARE): 100})
    assert "error code: 303" in out.stderr
    # and 70 rules on one shared test take one place on the stack
    shared = definitions_of(*[Cmp(BOOLS[0], "eq", True)] * 70)
    assert peak(shared) == 1
    assert raw_durable(shared, {durable_key(BOOLS[0]): True}).stdout.strip() == "71"


def test_rules_ending_at_one_test_are_at_most_255():
    key = durable_key(BOOLS[0])
    at_limit = definitions_of(*[Cmp(BOOLS[0], "eq", True)] * MAX_RULES_AT_NODE)
    assert raw_durable(at_limit, {key: True}).stdout.strip() == "256"
    # past it durable_rules reads beyond the list: a wrong firing, a crash or error 108,
    # from run to run; the model flags it and the rules are split
    past = definitions_of(*[Cmp(BOOLS[0], "eq", True)] * (MAX_RULES_AT_NODE + 2))
    net = Network()
    nodes = [n for d in past.values() for n in net.add(d)]
    assert [p.code for p in net.problems(nodes)] == ["durable-same-condition"]
    shards = split_rulesets(past)
    assert len(shards) == 2 and sum(len(s) - 1 for s in shards) == len(past) - 1
    for shard in shards:
        assert raw_durable(shard, {key: True}).stdout.strip() == str(len(shard))


def test_a_rule_has_at_most_15_groups_with_the_guard():
    def pairs(k):  # all of k 'any' pairs: the top-level 'all' joins the guard's group
        return All(tuple(AnyOf((Cmp(BOOLS[(2 * i) % 23], "eq", True),
                                Cmp(BOOLS[(2 * i + 1) % 23], "eq", True))) for i in range(k)))

    assert raw_durable(definitions_of(pairs(MAX_GROUPS - 1)), {}).stdout.strip() == "1"
    assert "error code: 113" in raw_durable(definitions_of(pairs(MAX_GROUPS)), {}).stderr


def test_512_tests_under_one_node_are_caught_before_durable_hangs_on_them():
    # with 512 tests filed after one node every assertion loops forever, with 513
    # create_ruleset does: the model refuses them, durable_rules never sees them; 511 run
    ok = definitions_of(Cmp(TROOPS, "in", tuple(range(MAX_TESTS_UNDER_NODE))))
    assert raw_durable(ok, {durable_key(TROOPS): 3}).stdout.strip() == "2"
    for past in (definitions_of(Cmp(TROOPS, "in", tuple(range(MAX_TESTS_UNDER_NODE + 1)))),
                 # across fields: the table is the node's, not the field's
                 definitions_of(Cmp(TROOPS, "in", tuple(range(256))),
                                Cmp("forces.troops_rotational", "in", tuple(range(256))))):
        net = Network()
        nodes = [n for d in past.values() for n in net.add(d)]
        assert "durable-alternatives" in [p.code for p in net.problems(nodes)]


def test_long_text_is_compared_as_a_digest(tmp_path):
    # durable_rules keeps string lengths in 16 bits: "abc" + 65,536 more bytes equalled "abc"
    d = write_rules(tmp_path, [
        {"id": "abc", "when": {"field": "commitment.instrument", "equals": "abc"},
         "points": {"deterrence": 5}},
        {"id": "long", "when": {"field": "commitment.instrument", "in": ["y" * 70_000, "z"]},
         "points": {"deterrence": 7}},
    ])
    cases = {"abc": {"abc"}, "abc" + "x" * 65_536: set(), "y" * 70_000: {"long"}, "y": set(),
             "abc" + "é" * 32_768: set()}  # 65,539 bytes in UTF-8
    with Engine.load(d) as e:  # cross-checked against the reference evaluator
        for value, expected in cases.items():
            assert e.fired(minimal_profile(commitment={"tier": "none", "instrument": value})) \
                == expected, len(value)
        assert all(len(v) == 64 for v in e.evaluator.message(
            {"commitment.instrument": "abc" + "x" * 65_536}).values() if v != "profile")


# --- refused when the rules load, with the rule's id, file and line ----------------------------


def refused(rules_dir: Path) -> list:
    with pytest.raises(LoadErrors) as info:
        load_ruleset(rules_dir)
    return info.value.errors


def test_huge_in_list_is_refused_at_load_with_rule_file_and_line(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "fine", "when": {"field": TROOPS, "gte": 5}, "points": {"deterrence": 1}},
        {"id": "huge-in", "when": {"field": TROOPS, "in": list(range(600))},
         "points": {"deterrence": 1}},
    ])
    (err,) = refused(d)
    assert err.code == "durable-alternatives"
    assert err.file.endswith("test.yaml") and err.line is not None
    assert "rule 'huge-in'" in err.message and "found 600" in err.message
    assert f"at most {MAX_TESTS_UNDER_NODE}" in err.message
    text = (d / "test.yaml").read_text().splitlines()
    assert "huge-in" in text[err.line - 1]


def test_deep_nesting_is_refused_at_load_and_one_less_runs(tmp_path):
    def nest(depth):
        cond = {"field": BOOLS[0], "equals": True}
        for i in range(depth):
            cond = {"any" if i % 2 == 0 else "all": [{"field": BOOLS[i + 1], "equals": True}, cond]}
        return cond

    deep = write_rules(mkdir(tmp_path / "deep"),
                       [{"id": "deep", "when": nest(15), "points": {"deterrence": 1}}])
    (err,) = refused(deep)
    assert err.code == "durable-nesting" and "rule 'deep'" in err.message
    assert err.file.endswith("test.yaml") and err.line is not None
    assert "found 15" in err.message
    # 14 groups below a top-level 'all' compile and run
    ok = write_rules(mkdir(tmp_path / "ok"),
                     [{"id": "deep", "when": nest(15 - 1), "points": {"deterrence": 1}}])
    out = in_child(f"""
        from engine import Engine
        from tests.helpers import minimal_profile
        with Engine.load({str(ok)!r}) as e:
            print(sorted(e.fired(minimal_profile())))
    """)
    assert out.returncode == 0, out.stderr


def test_any_of_65_tests_that_hold_together_is_refused(tmp_path):
    d = write_rules(tmp_path, [{"id": "wide", "points": {"deterrence": 1},
                                "when": {"any": [{"field": SHARE, "gte": k} for k in range(65)]}}])
    (err,) = refused(d)
    assert err.code == "durable-firing" and "rule 'wide'" in err.message
    assert "found 65" in err.message
    # 65 that cannot hold together are fine: at most one value of an 'in' matches
    ok = write_rules(mkdir(tmp_path / "ok"), [
        {"id": "wide", "points": {"deterrence": 1},
         "when": {"field": TROOPS, "in": list(range(500))}}])
    assert len(load_ruleset(ok).rules) == 1


@pytest.mark.parametrize("name,when", [
    ("huge-in", {"field": TROOPS, "in": list(range(600))}),
    ("deep", {"all": [{"any": [{"field": SHARE, "gte": k}, {"field": TROOPS, "gte": k}]}
                      for k in range(MAX_GROUPS)]}),
])
def test_validate_exits_2_on_rules_durable_cannot_run(tmp_path, name, when):
    d = write_rules(tmp_path, [{"id": name, "when": when, "points": {"deterrence": 1}}])
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    result = run_cli("validate", "--rules", str(d), "--profiles", str(profiles))
    assert result.exit_code == 2, result.output
    assert f"rule '{name}'" in result.output and "test.yaml, line" in result.output
    assert "[durable-" in result.output and "Traceback" not in result.output


def test_validate_compiles_the_rules_in_durable(engine, monkeypatch, tmp_path):
    # a rule set the loader accepts but durable_rules refuses: validate names the rule
    victim = break_first_rule_in_durable(monkeypatch, engine.ruleset)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    result = run_cli("validate", "--profiles", str(profiles))
    assert result.exit_code == 2, result.output
    assert f"rule '{victim.id}'" in result.output and victim.file in result.output


# --- rules check: the most rules firing together, proved --------------------------------------


def test_rules_check_reports_the_most_rules_firing_together(engine):
    checker = Checker(engine.ruleset)
    most, model = checker.co_firing()
    # the witness is a real profile: build it and count what fires
    witness = checker.p.witness(model, set(field_specs()))
    data: dict = {}
    for path, value in witness.items():
        if value is not None and path != "region":
            section, name = path.split(".")
            data.setdefault(section, {})[name] = value
    profile = minimal_profile(**data)
    assert len(ReferenceEvaluator(engine.ruleset).fired(flatten(profile))) == most
    # the bundled rules fit in one ruleset
    assert peak(compile_ruleset(engine.ruleset)) <= MAX_PENDING
    result = run_cli("rules", "check")
    assert result.exit_code == 0, result.output
    assert f"at most {most} of the {len(engine.ruleset.rules)} rules fire together" in result.output
    assert "one durable_rules ruleset" in result.output


def test_rules_check_reports_rulesets_for_rules_over_the_firing_limit(rules_copy):
    ruleset = load_ruleset(extra_rules(rules_copy, 64))
    report = firing_report(ruleset)
    assert "run as 2 durable_rules rulesets, each within that limit" in report


def test_rules_check_refuses_a_rule_that_overflows_durable_alone(tmp_path):
    # a rule set built without the loader: rules check holds the limit too
    base = load_ruleset(write_rules(tmp_path, [
        {"id": "fine", "when": {"field": SHARE, "gte": 5}, "points": {"deterrence": 1}}]))
    wide = dataclasses.replace(base.rules[0], id="wide",
                               when=any_of(SHARE, "ge", range(65)),
                               nnf=normalize(any_of(SHARE, "ge", range(65))))
    assert [p.code for p in rule_limits(wide)] == ["durable-firing"]
    findings = check_rules(dataclasses.replace(base, rules=(wide,)))
    (finding,) = [f for f in findings if f.code == "durable-firing"]
    assert finding.severity == "error" and "rule 'wide'" in finding.message
