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
from engine.evaluator import HostDurableEvaluator
from engine.fields import field_specs

from .helpers import break_first_rule_in_durable
from .helpers import minimal_profile
from .helpers import write_rules

# the production path (durable_rules' C core driven directly) and durable's Python Host
DURABLE = ["durable", "durable-host"]


def in_child(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Python in a fresh interpreter: a segfault or an endless loop must fail the test,
    not take pytest down with it."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=Path(__file__).parent.parent)


def fired_in_child(rules: Path, timeout: float = 60, evaluator: str = "durable") -> list[str]:
    """The rules that fire on a bare profile, in the first session of a fresh engine."""
    result = in_child(f"""
        import datetime, json
        from engine import Engine, Profile
        engine = Engine.load({str(rules)!r}, evaluator={evaluator!r})
        bare = Profile.model_validate({{"country": "x", "name": "X",
                                       "as_of": datetime.date(2022, 1, 1),
                                       "commitment": {{"tier": "none"}}}})
        print(json.dumps(sorted(engine.fired(bare))))
        engine.close()
    """, timeout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("evaluator", DURABLE)
def test_session_limit_more_than_1024_profiles_in_one_evaluator(engine, evaluator):
    # the C core holds 1,024 live sessions: the C core path asserts every profile into
    # one session, the Host path deletes each profile's session after it
    profile = minimal_profile()
    with Engine(engine.ruleset, evaluator=evaluator) as e:
        for _ in range(1_500):
            e.fired(profile)


def test_each_profile_is_retracted_from_the_one_session(engine):
    # retracting by an id the session does not hold answers 0 all the same, so what the
    # session holds is read back: nothing between profiles, and the firings agree with
    # the reference evaluator's although every profile went through the same session
    from engine.bench.synthetic import random_profiles
    from engine.fields import flatten
    from engine.reference import ReferenceEvaluator

    evaluator = DurableEvaluator(engine.ruleset)
    reference = ReferenceEvaluator(engine.ruleset)
    session = evaluator.session
    try:
        both = minimal_profile(threat={"border_clashes": True, "territorial_dispute": True})
        for profile in [both, *random_profiles(300, seed=11), both]:
            fact = flatten(profile)
            assert evaluator.fired(fact) == reference.fired(fact)
            assert evaluator.facts_held() == ["[]"] * len(engine.ruleset.durable_rulesets)
        assert evaluator.session == session
    finally:
        evaluator.close()


def test_a_fact_seen_before_is_refused_so_each_assertion_has_its_own_id(engine):
    # the trap: a session refuses a fact it holds already (code 2), however often the
    # same profile is scored; our defence: a new id per assertion, the fact retracted
    import durable_rules_engine as core

    from engine.fields import flatten

    message = {**engine.evaluator.message(flatten(minimal_profile())), "sid": "1"}
    handle = core.create_ruleset("seen-before", json.dumps(engine.ruleset.durable_rulesets[0]))
    try:
        assert core.assert_fact(handle, json.dumps(message))[0] == 0
        assert core.assert_fact(handle, json.dumps(message))[0] == 2
    finally:
        core.delete_ruleset(handle)
    evaluator = DurableEvaluator(engine.ruleset)
    try:
        fact = flatten(minimal_profile())
        assert evaluator.fired(fact) == evaluator.fired(fact) == engine.fired(minimal_profile())
    finally:
        evaluator.close()


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


@pytest.mark.parametrize("evaluator", DURABLE)
def test_first_session_with_no_rule_firing_does_not_crash(tmp_path, evaluator):
    # deleting a ruleset's first session segfaults when no action fired in it;
    # the sentinel rule always fires
    rules = write_rules(tmp_path, [
        {"id": "never", "when": {"field": "threat.border_clashes", "equals": True},
         "points": {"deterrence": 5}},
    ])
    assert fired_in_child(rules, evaluator=evaluator) == []


@pytest.mark.parametrize("evaluator", DURABLE)
def test_a_ruleset_without_its_sentinel_is_an_error_not_a_crash(evaluator):
    # without the sentinel a profile no rule matches fires nothing: the evaluator refuses
    # it and leaves that first session alone
    out = in_child(f"""
        import engine.durable_limits as limits_module
        from engine import DurableEngineError, Engine
        from engine.compiler import SENTINEL
        from tests.helpers import minimal_profile
        original = limits_module.split_rulesets

        def without_sentinel(definitions):
            shards = original(definitions)
            for shard in shards:
                del shard[SENTINEL]
            return shards

        limits_module.split_rulesets = without_sentinel
        with Engine.load(evaluator={evaluator!r}) as e:
            try:
                e.fired(minimal_profile())
            except DurableEngineError as exc:
                print("refused:", exc)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused: durable_rules did not")


@pytest.mark.parametrize("evaluator", DURABLE)
def test_failed_assertion_is_refused_and_its_session_never_deleted(rules_copy, evaluator):
    # 65 tests passed at once overflow durable_rules' matching stack (error 303); the
    # rules are normally split into rulesets that keep under it, which is switched off here
    from .test_durable_limits import extra_rules

    rules = extra_rules(rules_copy, 65)
    out = in_child(f"""
        import engine.durable_limits as limits_module
        from engine import DurableEngineError, Engine
        from tests.helpers import minimal_profile
        limits_module.split_rulesets = lambda definitions: [definitions]
        with Engine.load({str(rules)!r}, evaluator={evaluator!r}) as e:
            before = getattr(e.evaluator, "session", None)
            try:
                e.fired(minimal_profile(dependence={{"arms_us_share": 100}}))
            except DurableEngineError as exc:
                print("refused:", exc)
            # the evaluator goes on: more profiles than the session table holds
            for _ in range(1_100):
                fired = e.fired(minimal_profile(dependence={{"arms_us_share": 1}}))
            print(sorted(f for f in fired if f.startswith("extra-")))
            # the C core path leaves the failed session behind and takes a new one
            print(before != getattr(e.evaluator, "session", None))
    """, timeout=120)
    assert out.returncode == 0, out.stderr
    refused, fired, moved = out.stdout.splitlines()
    assert "error code: 303" in refused
    assert fired == "['extra-0', 'extra-1']"
    assert moved == str(evaluator == "durable")


def test_deleting_the_session_of_a_failed_assertion_crashes():
    # the trap itself, in the C core: what the evaluator never does
    out = in_child("""
        import json
        import durable_rules_engine as core
        from engine.compiler import SENTINEL, compile_condition, guarded
        from engine.conditions import Cmp
        from engine.fields import durable_key
        definitions = {SENTINEL: guarded(None)}
        for k in range(65):
            definitions[f"r{k}"] = guarded(compile_condition(
                Cmp("dependence.arms_us_share", "ge", k)))
        handle = core.create_ruleset("failed-assertion", json.dumps(definitions))
        try:
            core.assert_fact(handle, json.dumps(
                {"kind": "profile", durable_key("dependence.arms_us_share"): 100, "sid": "1"}))
        except Exception as exc:
            print(exc, flush=True)
        core.delete_state(handle, "1")
        print("survived", flush=True)
    """)
    assert "error code: 303" in out.stdout
    assert out.returncode != 0 and "survived" not in out.stdout


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


@pytest.mark.parametrize("evaluator", DURABLE)
def test_lone_absence_test_terminates(tmp_path, evaluator):
    # a lone $nex matches the session's state object and loops; every rule is guarded
    rules = write_rules(tmp_path, [
        {"id": "unknown-clashes", "when": {"field": "threat.border_clashes", "present": False},
         "points": {"deterrence": 3}},
    ])
    assert fired_in_child(rules, timeout=30, evaluator=evaluator) == ["unknown-clashes"]


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


@pytest.mark.parametrize("evaluator", DURABLE)
def test_hosts_start_no_timer_threads_and_free_their_rulesets(evaluator):
    before = threading.active_count()
    for _ in range(30):
        with Engine.load(evaluator=evaluator) as e:
            e.fired(minimal_profile())
            _, _, (_, handles), _ = e.evaluator._finalizer.peek()
            assert handles
        assert handles == []  # every durable_rules ruleset deleted from the C core
    assert threading.active_count() == before


def test_reserved_keys_never_appear_in_a_fact(engine):
    keys = {spec.durable_key for spec in field_specs().values()}
    assert len(keys) == len(field_specs())
    assert not keys & {"id", "sid", "$s", "kind"}
    assert all("." not in key for key in keys)  # durable_rules reads a dot as a path


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


@pytest.mark.parametrize("evaluator", [DurableEvaluator, HostDurableEvaluator])
def test_rejected_rule_is_reported_by_id_file_and_line(engine, monkeypatch, evaluator):
    # durable_rules errors carry a numeric code only; each rule is compiled alone to find it
    victim = break_first_rule_in_durable(monkeypatch, engine.ruleset)
    from engine import DurableEngineError

    with pytest.raises(DurableEngineError, match=f"rule '{victim.id}'") as info:
        evaluator(engine.ruleset)
    assert victim.file in str(info.value)


def test_a_closed_evaluator_refuses_rather_than_fire_nothing(engine):
    # its rulesets are freed from the C core: no ruleset left would mean no rule fired
    from engine import EngineClosedError
    from engine.fields import flatten

    evaluator = DurableEvaluator(engine.ruleset)
    fact = flatten(minimal_profile())
    assert evaluator.fired(fact)
    evaluator.close()
    with pytest.raises(EngineClosedError):
        evaluator.fired(fact)
