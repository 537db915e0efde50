"""The tracer and the scorer share a fired rule's matches and contributions between the
profiles that match it alike: the sharing must never show in a result."""

from __future__ import annotations

from engine import Engine
from engine.profile import Profile


def _variant(profile: Profile, **fact: object) -> Profile:
    """The profile with dependence.arms_russia_share's fact changed as given."""
    data = profile.model_dump(mode="python", exclude_none=True)
    data["dependence"]["arms_russia_share"].update(fact)
    return Profile.model_validate(data)


def _russia_matches(result) -> list:
    return [m for c in result.alignment_risk.contributions for m in c.matched
            if m.field == "dependence.arms_russia_share"]


def test_a_result_does_not_depend_on_what_the_engine_scored_before(engine):
    fresh = Engine.load()
    try:
        before = fresh.score("india@2022").model_dump_json()
    finally:
        fresh.close()
    for key in ("pakistan@2022", "turkey@2022", "japan@2022", "india@2022", "egypt@2022"):
        engine.score(key)
    assert engine.score("india@2022").model_dump_json() == before


def test_the_same_value_from_another_source_keeps_its_own_source(engine):
    india = engine.find_profile("india@2022").profile
    cited = _russia_matches(engine.score(india))
    assert cited and {m.source for m in cited} == {"sipri-at22"}
    other = _russia_matches(engine.score(_variant(india, source="sipri-at21",
                                                  confidence="provisional")))
    assert [(m.value, m.source, m.confidence) for m in other] == [
        (m.value, "sipri-at21", "provisional") for m in cited]
    # and the first profile's matches were not changed by the second
    assert {m.source for m in _russia_matches(engine.score(india))} == {"sipri-at22"}


def test_the_same_source_with_another_value_shows_its_own_value(engine):
    india = engine.find_profile("india@2022").profile
    shares = {m.value for m in _russia_matches(engine.score(_variant(india, value=61.5)))}
    assert shares == {61.5}
    assert {m.value for m in _russia_matches(engine.score(india))} == {45}


def test_a_checked_rule_of_one_comparison_is_traced_as_any_other(engine):
    """With the reference's agreement, a rule that is one comparison is traced by its own
    short path; its events must be those the general path builds, value types included."""
    from hypothesis import given
    from hypothesis import settings

    from engine.fields import flatten
    from engine.trace import Tracer

    from .strategies import profiles

    single = Tracer(engine.ruleset)
    assert any(one is not None for one in single._single)

    @settings(max_examples=200, deadline=None)
    @given(profiles())
    def check(profile: Profile) -> None:
        general = Tracer(engine.ruleset)  # fresh: nothing shared between the two
        fact = flatten(profile)
        fired = engine.fired(profile, fact)
        short = single.trace(profile, fact, fired, "durable", full=False, checked=True)
        long = general.trace(profile, fact, fired, "durable", full=False, checked=False)
        assert [(e.rule.id, [(m, type(m.value)) for m in e.matches]) for e in short.events] \
            == [(e.rule.id, [(m, type(m.value)) for m in e.matches]) for e in long.events]

    check()


def test_what_a_scorer_keeps_with_an_event_is_its_own(engine):
    """A scorer keeps a fired rule's contributions with the shared event; another scorer
    must make its own rather than take them, and the memo never shows in an event's
    equality."""
    from engine.scoring import Scorer

    result, trace = engine.trace(engine.find_profile("india@2022").profile, full=False)
    fired = [e for e in trace.events if hasattr(e, "matches")]
    assert fired and all(e.scored is not None and e.scored[0] is engine._scorer for e in fired)
    other = Scorer(engine.ruleset)
    again = other.score(trace)
    assert again.model_dump() == result.model_dump()
    assert all(e.scored[0] is other for e in fired)
    contributions = {id(c) for r in (result, again) for c in r.deterrence.contributions}
    assert len(contributions) == 2 * len(result.deterrence.contributions)
    copy = type(fired[0])(fired[0].rule, fired[0].matches)
    assert copy == fired[0] and copy.scored is None


def test_the_short_path_keeps_a_values_type(engine):
    """1 and 1.0 are equal keys but print apart: a rule of one comparison that matched an
    int must not show a float another profile matched (the model makes each field one
    type, so only a fact handed to the tracer directly can hold either)."""
    from engine.fields import flatten
    from engine.trace import Tracer

    tracer = Tracer(engine.ruleset)
    india = engine.find_profile("india@2022").profile
    fact = flatten(india)
    rule = next(r for r, one in zip(tracer.rules, tracer._single, strict=True)
                if one is not None and one[1] is not None and isinstance(fact.get(one[0]), float))
    field = tracer._single[tracer.rules.index(rule)][0]
    shown = []
    for value in (int(fact[field]), float(int(fact[field]))):
        t = tracer.trace(india, {**fact, field: value}, frozenset({rule.id}), "durable",
                         full=False, checked=True)
        shown.append(type(t.events[0].matches[0].value))
    assert shown == [int, float]


def test_a_trace_of_fired_rules_is_the_trace_its_constructor_makes(engine):
    # the tracer fills a trace's instance dict in one update rather than through the
    # frozen dataclass's __init__: the same fields, and the events as its fired rules
    import dataclasses

    from engine.bench.synthetic import random_profiles
    from engine.fields import flatten
    from engine.trace import Trace

    fields = {f.name for f in dataclasses.fields(Trace)}
    for profile in random_profiles(50, seed=11):
        fact = flatten(profile)
        fired = engine.fired(profile, fact)
        t = engine._tracer.trace(profile, fact, fired, "an evaluator", full=False,
                                 checked=True)
        # the fired rules' events of a full trace, which the constructor makes
        full = engine._tracer.trace(profile, fact, fired, "an evaluator", full=True)
        made = Trace(profile, fact, "an evaluator", full.fired)
        assert t == made and vars(t).keys() == fields | {"fired"}
        assert t.profile is profile and t.fact is fact
        assert t.fired is t.events and t.fired == made.fired
