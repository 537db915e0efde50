"""durable_rules and the reference evaluator agree, rule for rule, on generated profiles.

The firing-level agreement of the two is a property (tests/test_properties.py); here, the
two durable paths agree with each other, whole results agree, and a disagreement is caught.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings

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
    e.close()
