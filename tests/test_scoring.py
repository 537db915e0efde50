"""Scores are base + points + an explicit adjustment; groups are enforced."""

from __future__ import annotations

import pytest
from hypothesis import given

from engine import Engine
from engine import GroupViolation

from .helpers import minimal_profile
from .helpers import write_rules
from .strategies import profiles

TREATY = {"field": "commitment.tier", "equals": "bilateral-treaty"}


def test_points_add_up_and_bounding_is_an_explicit_adjustment(tmp_path):
    rules = write_rules(tmp_path, [
        {"id": "big", "when": TREATY, "points": {"deterrence": 90, "guarantee_strength": 70}},
        {"id": "bigger", "when": TREATY, "points": {"deterrence": 30}},
        {"id": "minus", "when": TREATY, "points": {"alignment_risk": -50}},
    ])
    with Engine.load(rules) as e:
        r = e.score(minimal_profile(commitment={"tier": "bilateral-treaty"}))
    det_base = e.ruleset.scores["deterrence"].base
    assert (r.deterrence.score, r.deterrence.raw) == (100, det_base + 120)
    assert r.deterrence.adjustment == 100 - (det_base + 120)
    assert r.deterrence.band == "very-strong"
    base = e.ruleset.scores["alignment_risk"].base
    assert r.alignment_risk.score == 0 and r.alignment_risk.adjustment == 50 - base
    assert r.alignment_risk.raw == base - 50
    gs_base = e.ruleset.dimensions["guarantee_strength"].base
    assert r.dimensions["guarantee_strength"].score == gs_base + 70
    assert [c.rule for c in r.deterrence.contributions] == ["big", "bigger"]


@pytest.mark.parametrize("score,band", [(0, "minimal"), (19, "minimal"), (20, "weak"),
                                        (59, "moderate"), (60, "strong"), (80, "very-strong"),
                                        (100, "very-strong")])
def test_bands_are_twenty_points_wide(engine, score, band):
    assert engine.ruleset.scores["deterrence"].band(score) == band


def test_exclusive_group_firing_twice_is_an_error(tmp_path):
    rules = write_rules(tmp_path, [
        {"id": "one", "group": "g", "when": TREATY, "points": {"deterrence": 1}},
        {"id": "two", "group": "g", "when": TREATY, "points": {"deterrence": 2}},
    ], groups={"g": {"exclusive": True}})
    with Engine.load(rules) as e, pytest.raises(GroupViolation, match="one, two"):
        e.score(minimal_profile(commitment={"tier": "bilateral-treaty"}))


def test_required_group_with_no_firing_is_an_error(tmp_path):
    rules = write_rules(tmp_path, [
        {"id": "one", "group": "g", "when": TREATY, "points": {"deterrence": 1}},
    ], groups={"g": {"required": True}})
    with Engine.load(rules) as e, pytest.raises(GroupViolation, match="required group 'g'"):
        e.score(minimal_profile())


@given(profiles())
def test_every_result_adds_up_and_stays_in_bounds(engine, profile):
    try:
        r = engine.score(profile)
    except GroupViolation:
        return
    for s in [r.deterrence, r.alignment_risk, *r.dimensions.values()]:
        assert s.base + sum(c.points for c in s.contributions) + s.adjustment == s.score
        assert 0 <= s.score <= 100
        assert list(s.contributions) == sorted(s.contributions, key=lambda c: (-c.points, c.rule))
        for c in s.contributions:
            assert c.matched, c.rule


@pytest.mark.parametrize("evaluator, cross_check", [
    ("durable", True), ("durable", False), ("reference", True)])
@pytest.mark.parametrize("with_group", [False, True])
def test_score_iter_gives_what_score_gives_one_by_one_across_chunks(
        tmp_path, with_group, evaluator, cross_check):
    """The chunked path (with the cross-check, the traces made from the reference's fired
    set before durable_rules runs over the chunk) changes no result and keeps every
    profile in place, errors included, with or without the cross-check."""
    from engine.api import CHUNK
    from engine.bench.synthetic import random_profiles

    rules = write_rules(tmp_path, [
        {"id": "treaty", "group": "g", "when": TREATY, "points": {"deterrence": 1}},
    ], groups={"g": {"required": True}})
    generated = list(random_profiles(CHUNK + 44, seed=7))
    options = {"evaluator": evaluator, "cross_check": cross_check}
    with Engine.load(rules, **options) if with_group else Engine.load(**options) as e:
        outputs = list(e.score_iter(generated))
        assert len(outputs) == len(generated)
        kinds = set()
        for profile, out in zip(generated, outputs, strict=True):
            try:
                expected = e.score(profile).model_dump()
            except GroupViolation as exc:
                assert isinstance(out, GroupViolation) and str(out) == str(exc)
                kinds.add("error")
            else:
                assert out.model_dump() == expected
                kinds.add("result")
    assert kinds == ({"error", "result"} if with_group else {"result"})


def test_results_read_back_from_their_json_and_publish_a_schema(engine):
    from engine.results import BatchResult
    from engine.results import ProfileResult

    r = engine.score(engine.find_profile("india@2022").profile)
    data = r.model_dump(mode="json")
    again = ProfileResult.model_validate(data)
    assert again.model_dump(mode="json") == data
    assert again.alignment_risk.contributions[0].matched[0].field == \
        r.alignment_risk.contributions[0].matched[0].field
    schema = BatchResult.json_schema()
    assert set(schema["required"]) == {"ruleset", "results", "errors"}
    assert {"Match", "Contribution", "ScoreResult", "ProfileResult"} <= set(schema["$defs"])
