"""One test for each measured durable_rules trap (docs/durable-rules.md), and our defence."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine import Engine
from engine.compiler import compile_ruleset
from engine.evaluator import DurableEvaluator
from engine.fields import field_specs

from .helpers import break_first_rule_in_durable, minimal_profile, write_rules


def fired_in_child(rules: Path, timeout: float = 60) -> list[str]:
    """The rules that fire on a bare profile, in the first session of a fresh engine.

    It runs in a child process: a segfault or an endless loop must fail the test,
    not take pytest down with it.
    """
    code = textwrap.dedent(f"""
        import datetime, json
        from engine import Engine, Profile
        engine = Engine.load({str(rules)!r})
        bare = Profile.model_validate({{"country": "x", "name": "X",
                                       "as_of": datetime.date(2022, 1, 1),
                                       "commitment": {{"tier": "none"}}}})
        print(json.dumps(sorted(engine.fired(bare))))
        engine.close()
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=timeout, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_session_limit_more_than_1024_profiles_in_one_evaluator(engine):
    # the C core holds 1,024 live sessions; each profile's state is deleted after it
    profile = minimal_profile()
    for _ in range(1_500):
        engine.fired(profile)


def test_ten_thousand_generated_profiles_score_in_one_process(engine):
    from engine import GroupViolation
    from engine.bench.synthetic import random_profiles

    scored = violations = 0
    for p in random_profiles(10_000, seed=7):
        try:
            result = engine.score(p)
        except GroupViolation:
            violations += 1  # an input the rule base declares out of bounds: reported, not crashed
            continue
        assert 0 <= result.deterrence.score <= 100
        scored += 1
    assert scored + violations == 10_000
    assert scored > 9_000


def test_first_session_with_no_rule_firing_does_not_crash(tmp_path):
    # deleting a ruleset's first session segfaults when no action fired in it;
    # the sentinel rule always fires
    rules = write_rules(tmp_path, [
        {"id": "never", "when": {"field": "threat.border_clashes", "equals": True},
         "points": {"deterrence": 5}},
    ])
    assert fired_in_child(rules) == []


def test_or_fires_once_per_rule_even_when_both_branches_hold(tmp_path):
    rules = write_rules(tmp_path, [
        {"id": "either", "when": {"any": [
            {"field": "threat.border_clashes", "equals": True},
            {"field": "threat.territorial_dispute", "equals": True}]},
         "points": {"deterrence": 7}},
    ])
    p = minimal_profile(threat={"border_clashes": True, "territorial_dispute": True})
    with Engine.load(rules) as e:
        result = e.score(p)
    assert [c.rule for c in result.deterrence.contributions] == ["either"]
    assert result.deterrence.score == e.ruleset.scores["deterrence"].base + 7
    # both supporting facts are named in the explanation
    assert len(result.deterrence.contributions[0].matched) == 2


def test_lone_absence_test_terminates(tmp_path):
    # a lone $nex matches the session's state object and loops; every rule is guarded
    rules = write_rules(tmp_path, [
        {"id": "unknown-clashes", "when": {"field": "threat.border_clashes", "present": False},
         "points": {"deterrence": 3}},
    ])
    assert fired_in_child(rules, timeout=30) == ["unknown-clashes"]


def test_compiled_rules_are_guarded_and_use_only_supported_operators(engine):
    compiled = compile_ruleset(engine.ruleset)
    text = json.dumps(compiled)
    assert "$in" not in text and "$not" not in text
    for rule_id, definition in compiled.items():
        (match,) = definition["all"]
        m = match["m"]
        guard = m if rule_id == "_sentinel" else m["$and"][0]
        assert guard == {"kind": "profile"}, rule_id


def test_durable_coerces_types_so_profiles_are_strict():
    # the trap itself: durable_rules fires "5" > 1
    from durable import engine as durable_engine

    fired = []

    class Quiet(durable_engine.Host):
        def _run(self):
            pass

    host = Quiet()
    host.set_rulesets({"coercion-probe": {
        "gt": {"all": [{"m": {"$and": [{"kind": "p"}, {"$gt": {"x": 1}}]}}],
               "run": lambda c: fired.append(1)},
    }})
    host.assert_fact("coercion-probe", {"kind": "p", "x": "5", "sid": "1"})
    assert fired == [1]
    # our defence: a numeric field never holds text, a boolean never holds a number
    with pytest.raises(ValidationError):
        minimal_profile(dependence={"arms_us_share": "5"})
    with pytest.raises(ValidationError):
        minimal_profile(threat={"border_clashes": 1})


def test_exponent_numbers_cannot_reach_durable(engine):
    # the trap: json.dumps writes 0.00001 as 1e-05, which durable_rules rejects
    assert "e-05" in json.dumps(0.00001)
    with pytest.raises(ValidationError, match="two decimal"):
        minimal_profile(dependence={"arms_us_share": 0.00001})
    # the smallest share the model accepts, and every number in the compiled rules,
    # is written without an exponent
    assert json.dumps(0.01) == "0.01"

    def numbers(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from numbers(v)
        elif isinstance(node, list):
            for v in node:
                yield from numbers(v)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield node

    found = list(numbers(compile_ruleset(engine.ruleset)))
    assert found, "the bundled rules compare numbers"
    assert all("e" not in json.dumps(n) for n in found)


def test_hosts_start_no_timer_threads_and_free_their_rulesets():
    before = threading.active_count()
    for _ in range(30):
        with Engine.load() as e:
            e.fired(minimal_profile())
    assert threading.active_count() == before


def test_reserved_keys_never_appear_in_a_fact(engine):
    keys = {spec.fact_key for spec in field_specs().values()}
    assert not keys & {"id", "sid", "$s", "kind"}


def test_fact_stays_under_durable_property_limit(engine):
    # about 255 properties per fact, nested leaves counted; the fact is flat
    assert len(engine.ruleset.fields_read) + 2 < 255


def test_no_match_is_a_normal_outcome(tmp_path):
    # without the sentinel, a fact matching no rule raises MessageNotHandledException
    rules = write_rules(tmp_path, [
        {"id": "never", "when": {"field": "threat.border_clashes", "equals": True},
         "points": {"deterrence": 5}},
    ])
    with Engine.load(rules) as e:
        e.fired(minimal_profile())  # a second session too
        result = e.score(minimal_profile())
        assert result.deterrence.contributions == ()
        assert result.deterrence.score == e.ruleset.scores["deterrence"].base


def test_rejected_rule_is_reported_by_id_file_and_line(engine, monkeypatch):
    # durable_rules errors carry a numeric code only; each rule is compiled alone to find it
    victim = break_first_rule_in_durable(monkeypatch, engine.ruleset)
    from engine import DurableEngineError

    with pytest.raises(DurableEngineError, match=f"rule '{victim.id}'") as info:
        DurableEvaluator(engine.ruleset)
    assert victim.file in str(info.value)
