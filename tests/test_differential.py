"""durable_rules and the reference evaluator agree, rule for rule, on generated profiles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from engine.evaluator import ReferenceEvaluator
from engine.fields import flatten

from .strategies import profiles


@given(profiles())
@settings(max_examples=2_000)
def test_durable_and_reference_fire_the_same_rules(engine, profile):
    fact = flatten(profile)
    durable = engine.evaluator.fired(fact)
    reference = ReferenceEvaluator(engine.ruleset).fired(fact)
    assert durable == reference


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
    from engine import DurableEngineError, Engine

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


    with pytest.raises(DurableEngineError, match="missed"):
        e.score(profile)
