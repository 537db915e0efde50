"""durable_rules and the reference evaluator agree, rule for rule, on generated profiles.

The firing-level agreement of the two is a property (tests/test_properties.py); here, the
two durable paths agree with each other, whole results agree, and a disagreement is caught;
the fact durable_rules reads is the one ``json`` would write.
"""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings

from engine.compiler import text_token
from engine.evaluator import FactWriter
from engine.evaluator import durable_json
from engine.fields import field_specs
from engine.fields import flatten

from .strategies import profiles


@pytest.fixture(scope="module")
def host_evaluator(engine):
    from engine.evaluator import HostDurableEvaluator

    evaluator = HostDurableEvaluator(engine.ruleset)
    yield evaluator
    evaluator.close()


@given(profiles())
def test_the_c_core_and_the_host_fire_the_same_rules(engine, host_evaluator, profile):
    """The production path reads durable_rules' action queue itself; durable's Python
    Host, which runs a Python action per firing, must see the same firings."""
    fact = flatten(profile)
    assert engine.evaluator.name == "durable"
    assert engine.evaluator.fired(fact) == host_evaluator.fired(fact)


def as_json(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@given(profiles())
def test_the_fact_is_written_as_json_writes_it(engine, profile):
    """The C core path writes the fact's JSON from ready-made fragments; it must be the
    very text ``json`` writes from the fact as a dict (the ``Host`` path's message)."""
    fact = flatten(profile)
    expected = as_json({**engine.evaluator.message(fact), "sid": "3", "id": "17"})
    assert engine.evaluator.text(fact, "3", "17") == expected


def test_values_no_profile_holds_are_written_as_json_writes_them():
    """Facts are not only flattened profiles (sweeps and what-ifs change them): an int
    in a number field, negative zero, a huge or tiny float, a value no enumeration
    names, a text that needs escaping."""
    specs = {spec.kind: spec for spec in field_specs().values()}
    number, integer, enum, flag = specs["number"], specs["int"], specs["enum"], specs["bool"]
    text = dataclasses.replace(number, kind="text")  # the bundled rules read no text field
    writer = FactWriter(SimpleNamespace(fields_read=(number, integer, enum, flag)),  # type: ignore[arg-type]
                        durable_json())
    for value in (3, -0.0, 0.00001, 1e300, math.inf, 2.5, True):
        fact = {number.path: value, integer.path: 10**30, enum.path: "not-a-value",
                flag.path: False}
        expected = as_json({"kind": "profile", number.durable_key: value,
                            integer.durable_key: 10**30, enum.durable_key: "not-a-value",
                            flag.durable_key: False, "sid": "1", "id": "2"})
        assert writer.text(fact, "1", "2") == expected
    texts = FactWriter(SimpleNamespace(fields_read=(text,)),  # type: ignore[arg-type]
                       durable_json())
    said = 'a "quoted" word \u00e9'
    assert texts.text({text.path: said}, "1", "2") == as_json(
        {"kind": "profile", text.durable_key: text_token(said), "sid": "1", "id": "2"})
    assert texts.text({}, "1", "2") == '{"kind":"profile","sid":"1","id":"2"}'


@given(profiles())
@settings(max_examples=300)
def test_durable_and_reference_engines_give_identical_results(engine, reference_engine, profile):
    from engine import GroupViolation

    def outcome(e):
        try:
            return e.score(profile).model_dump()
        except GroupViolation as exc:
            return str(exc)

    assert outcome(engine) == outcome(reference_engine)


def test_the_cross_check_catches_a_disagreeing_evaluator(engine):
    """The engine compares durable_rules with the reference on every profile."""
    from engine import Engine
    from engine import EvaluatorsDisagree

    from .helpers import minimal_profile

    class Lying:
        name = "lying"

        def fired(self, fact):
            return frozenset()

        def close(self):
            pass

    e = Engine(engine.ruleset)
    e.evaluator = Lying()
    profile = minimal_profile(commitment={"tier": "bilateral-treaty"})
    with pytest.raises(EvaluatorsDisagree, match="missed") as info:
        e.score(profile)
    assert info.value.code == "evaluators-disagree"
    # score_iter checks a chunk's firings in a step of their own: the same error, for the
    # profile the two disagree on, after one they agree on
    reference = engine._check

    class LyingOnTreaties(Lying):
        def fired(self, fact):
            treaty = fact.get("commitment.tier") == "bilateral-treaty"
            return frozenset() if treaty else reference.fired(fact)

    e.evaluator = LyingOnTreaties()
    agreeing = minimal_profile().model_copy(update={"country": "otherland"})
    with pytest.raises(EvaluatorsDisagree) as many:
        list(e.score_iter([agreeing, profile]))
    assert str(many.value) == str(info.value)
    assert str(many.value).startswith(f"{profile.key}: ")

    # durable_rules runs over the whole chunk before its firings are compared: its own
    # error, on a later profile, comes before the disagreement on an earlier one
    from engine.errors import DurableEngineError

    class FailingOffTreaties(LyingOnTreaties):
        def fired(self, fact):
            if fact.get("commitment.tier") != "bilateral-treaty":
                raise DurableEngineError("durable_rules failed on the profile (code 1)")
            return super().fired(fact)

    e.evaluator = FailingOffTreaties()
    with pytest.raises(DurableEngineError) as failed:
        list(e.score_iter([profile, agreeing]))
    assert type(failed.value) is DurableEngineError
    assert str(failed.value) == "durable_rules failed on the profile (code 1)"
    e.close()


def test_every_action_name_kept_is_the_id_its_prefix_begins_with(engine):
    """The durable path names an action's rule by its first characters, learnt from the
    actions read in full: each prefix kept must hold the opening of its own id, whole,
    with its closing quote, so that it can never stand for another rule."""
    from engine.bench.synthetic import random_profiles

    for profile in random_profiles(300, seed=11):
        engine.fired(profile)  # the reference cross-check compares every firing
    table = engine.evaluator._names
    assert table, "no action was looked up by its prefix"
    assert set(table.values()) <= {r.id for r in engine.ruleset.rules} | {"_sentinel"}
    for prefix, name in table.items():
        assert len(prefix) == table.width and prefix.startswith('{"' + name + '"')


def test_an_action_of_an_unknown_rule_is_read_whole_and_never_kept(engine):
    from engine.evaluator import _ActionNames

    table = _ActionNames(frozenset({"det-short", "aln-a-rather-longer-rule-id"}))
    assert table.width == 3 + len("aln-a-rather-longer-rule-id")
    unknown = '{"aln-a-rather-longer-rule-id-that-is-not-ours":{"m":{"kind":"profile"}}}'
    assert table.learn(unknown) == "aln-a-rather-longer-rule-id-that-is-not-ours"
    assert table.get(unknown[:table.width]) is None and not table
    known = '{"det-short":{"m":{"kind":"profile","f1":true}}}'
    assert table.learn(known) == "det-short"
    assert table[known[:table.width]] == "det-short"


def test_the_action_names_kept_are_bounded(monkeypatch):
    from engine.evaluator import _ActionNames

    monkeypatch.setattr(_ActionNames, "LIMIT", 3)
    # a short id is followed within the prefix by the start of the fact, which differs
    table = _ActionNames(frozenset({"r", "a-rather-longer-id"}))
    names = [table.learn(f'{{"r":{{"m":{{"f{i}":1}}}}}}') for i in range(10)]
    assert names == ["r"] * 10 and len(table) == 3
