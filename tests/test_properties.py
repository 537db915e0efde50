"""Properties of the engine and the bundled rule base, for generated profiles.

Each property is a plain function; it is checked with hypothesis on the real
engine and, to show it can fail, on a deliberately broken one.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from enum import Enum
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from engine import Engine
from engine import GroupViolation
from engine import LoadError
from engine import LoadErrors
from engine import Profile
from engine import bundled_dir
from engine import fields
from engine.analysis.changes import apply_changes
from engine.bench.synthetic import random_profiles
from engine.fields import field_specs
from engine.fields import flatten
from engine.reference import ReferenceEvaluator
from engine.rule_loader import load_ruleset
from engine.rules import Monotone

from . import yaml_writer
from .helpers import write_rules
from .strategies import profiles

EXAMPLES = int(os.environ.get("LATTICEWORK_EXAMPLES", "200"))


def scored(engine: Engine, profile: Profile):
    try:
        return engine.score(profile)
    except GroupViolation as exc:
        assert exc.kind != "exclusive", str(exc)  # exclusive groups never fire two rules
        return None


# --- the properties ------------------------------------------------------------------------


def prop_in_bounds_and_banded(engine: Engine, profile: Profile) -> None:
    r = scored(engine, profile)
    if r is None:
        return
    for name, s in [("deterrence", r.deterrence), ("alignment_risk", r.alignment_risk),
                    *r.dimensions.items()]:
        assert 0 <= s.score <= 100, (name, s.score)
        assert s.band == engine.ruleset.targets[name].bands[min(s.score // 20, 4)], name


def prop_adds_up(engine: Engine, profile: Profile) -> None:
    r = scored(engine, profile)
    if r is None:
        return
    for s in [r.deterrence, r.alignment_risk, *r.dimensions.values()]:
        assert s.base + sum(c.points for c in s.contributions) + s.adjustment == s.score


def prop_evaluators_agree(engine: Engine, profile: Profile) -> None:
    fact = flatten(profile)
    assert engine.evaluator.fired(fact) == ReferenceEvaluator(engine.ruleset).fired(fact)


def prop_exclusive_groups_fire_at_most_once(engine: Engine, profile: Profile) -> None:
    fired = ReferenceEvaluator(engine.ruleset).fired(flatten(profile))
    for gid, group in engine.ruleset.groups.items():
        if group.exclusive:
            members = [r.id for r in engine.ruleset.rules if r.group == gid and r.id in fired]
            assert len(members) <= 1, (gid, members)


def prop_same_result_for_reordered_rules(engine: Engine, other: Engine, profile: Profile) -> None:
    a, b = scored(engine, profile), scored(other, profile)
    assert (a.model_dump_json() if a else None) == (b.model_dump_json() if b else None)


def monotone_pairs(decl: Monotone):
    if decl.ranks is None:
        return None
    return [(lo, hi) for i, r in enumerate(decl.ranks) for hi_rank in decl.ranks[i + 1:]
            for lo in r for hi in hi_rank]


def prop_monotone(engine: Engine, decl: Monotone, profile: Profile, lo, hi) -> None:
    low = scored(engine, apply_changes(profile, {decl.field: lo}))
    high = scored(engine, apply_changes(profile, {decl.field: hi}))
    if low is None or high is None:
        return  # a profile the groups reject has no score to compare
    a, b = low.target(decl.target).score, high.target(decl.target).score
    if decl.direction == "increasing":
        assert b >= a, (decl.describe(), lo, a, hi, b)
    else:
        assert b <= a, (decl.describe(), lo, a, hi, b)


# --- on the real engine --------------------------------------------------------------------

run = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@run
@given(profiles())
def test_scores_are_in_bounds_and_banded(engine, profile):
    prop_in_bounds_and_banded(engine, profile)


@run
@given(profiles())
def test_scores_add_up(engine, profile):
    prop_adds_up(engine, profile)


@run
@given(profiles())
def test_exclusive_groups_never_fire_two_rules(engine, profile):
    prop_exclusive_groups_fire_at_most_once(engine, profile)


@run
@given(profiles())
def test_scoring_is_deterministic(engine, profile):
    prop_same_result_for_reordered_rules(engine, engine, profile)


def reordered_copy(src: Path, dest: Path, seed: int) -> Path:
    """The same rules, each file's rules shuffled and the files renamed to load in another order."""
    rng = random.Random(seed)
    shutil.copytree(src, dest)
    y = YAML(typ="safe", pure=True)
    for path in sorted(dest.glob("*.yaml")):
        if path.name in ("model.yaml", "sources.yaml", "calibration.yaml"):
            continue
        data = y.load(path.read_text())
        rng.shuffle(data["rules"])
        path.unlink()
        yaml_writer.dump(data, dest / f"{rng.randint(0, 999):03d}-{path.name}")
    return dest


@pytest.fixture(scope="module")
def reordered_engine(tmp_path_factory):
    d = reordered_copy(bundled_dir("rules"), tmp_path_factory.mktemp("r") / "rules", seed=3)
    with Engine.load(d) as e:
        yield e


def test_rule_order_does_not_change_the_digest(engine, reordered_engine):
    assert [r.id for r in reordered_engine.ruleset.rules] == [r.id for r in engine.ruleset.rules]
    assert reordered_engine.ruleset.digest == engine.ruleset.digest


@run
@given(profiles())
def test_rule_file_and_rule_order_do_not_change_results(engine, reordered_engine, profile):
    prop_same_result_for_reordered_rules(engine, reordered_engine, profile)


@run
@given(profiles())
def test_durable_and_reference_agree(engine, profile):
    prop_evaluators_agree(engine, profile)


def declarations():
    ruleset = load_ruleset(bundled_dir("rules"))
    return [d for t in ruleset.targets.values() for d in t.monotone]


@pytest.mark.parametrize("decl", declarations(), ids=lambda d: f"{d.target}:{d.field}")
def test_declared_monotone_fields_hold(reference_engine, decl):
    from engine.fields import field_specs

    from .strategies import value_strategy

    spec = field_specs()[decl.field]
    pairs = monotone_pairs(decl)
    if pairs is not None:
        pair = st.sampled_from(pairs)
    else:
        pair = st.tuples(value_strategy(spec), value_strategy(spec)).map(sorted).map(tuple)

    @settings(max_examples=max(20, EXAMPLES // 4), deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(profiles(), pair)
    def check(profile, lo_hi):
        prop_monotone(reference_engine, decl, profile, *lo_hi)

    check()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
def test_any_text_as_a_profile_loads_or_fails_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    from engine import load_profile

    try:
        load_profile(path)
    except (LoadError, LoadErrors):
        pass


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    (d / "rules").mkdir()
    for name in ("model.yaml", "sources.yaml"):
        shutil.copy(bundled_dir("rules") / name, d / "rules" / name)
    return d


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(yaml_values)
def test_any_yaml_document_as_a_profile_or_rule_file_loads_or_fails_cleanly(fuzz_dir, data):
    from engine import load_profile

    d = fuzz_dir
    rules = d / "rules"
    yaml_writer.dump(data, rules / "fuzz.yaml")
    yaml_writer.dump(data, d / "p.yaml")
    for load in (lambda: load_profile(d / "p.yaml"), lambda: load_ruleset(rules)):
        try:
            load()
        except (LoadError, LoadErrors):
            pass


# --- each property fails on a broken engine ------------------------------------------------


def fails(prop, *args) -> bool:
    # no shrinking: the point is that a counterexample exists, not the smallest one
    @settings(max_examples=500, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(profiles())
    def check(profile):
        prop(*args, profile)

    try:
        check()
    except AssertionError:
        return True
    return False


def test_bounds_property_catches_unbounded_scores(tmp_path, monkeypatch):
    import engine.scoring as scoring

    d = write_rules(tmp_path, [{"id": "huge", "points": {"deterrence": 100},
                                "when": {"field": "commitment.tier", "present": True}},
                               {"id": "more", "points": {"deterrence": 50},
                                "when": {"field": "commitment.tier", "present": True}}])
    monkeypatch.setattr(scoring, "HIGH", 1_000)
    with Engine.load(d) as broken:
        assert fails(prop_in_bounds_and_banded, broken)


def test_adds_up_property_catches_a_hidden_adjustment(tmp_path, monkeypatch):
    import engine.scoring as scoring

    original = scoring._result

    def hide_adjustment(target, contributions):
        return dataclasses.replace(original(target, contributions), adjustment=0)

    d = write_rules(tmp_path, [{"id": "huge", "points": {"deterrence": 100},
                                "when": {"field": "commitment.tier", "present": True}},
                               {"id": "more", "points": {"deterrence": 50},
                                "when": {"field": "commitment.tier", "present": True}}])
    monkeypatch.setattr(scoring, "_result", hide_adjustment)
    with Engine.load(d) as broken:
        assert fails(prop_adds_up, broken)


def test_agreement_property_catches_a_miscompiled_operator(engine, monkeypatch):
    import engine.compiler as compiler

    monkeypatch.setitem(compiler._ORDERING, "ge", "$lt")  # ">=" compiled as "<"
    # a fresh copy of the rule set: each one compiles its rules once and keeps them
    with Engine(dataclasses.replace(engine.ruleset), cross_check=False) as broken:
        assert fails(prop_evaluators_agree, broken)


def test_exclusive_property_catches_overlapping_tiers(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "treaty", "group": "tier", "points": {"deterrence": 40},
         "when": {"field": "commitment.tier", "equals": "bilateral-treaty"}},
        {"id": "alliance", "group": "tier", "points": {"deterrence": 45},
         "when": {"field": "commitment.tier", "in": ["bilateral-treaty", "collective-defence"]}},
    ], groups={"tier": {"exclusive": True}})
    with Engine.load(d) as broken:
        assert fails(prop_exclusive_groups_fire_at_most_once, broken)


def test_order_property_catches_order_dependent_results(tmp_path, monkeypatch):
    import engine.rule_loader as rules_module
    import engine.scoring as scoring

    # both defences off: rules kept in file order, contributions in firing order
    monkeypatch.setattr(rules_module, "_rule_order", lambda r: 0)
    monkeypatch.setattr(scoring, "_sort_key", lambda points, rule_id: 0)
    shuffled = reordered_copy(bundled_dir("rules"), tmp_path / "rules", seed=5)
    with Engine.load() as a, Engine.load(shuffled) as b:
        assert fails(prop_same_result_for_reordered_rules, a, b)


def test_monotone_property_catches_a_reversed_rule(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "heavy", "points": {"alignment_risk": 10},
         "when": {"field": "dependence.arms_russia_share", "gte": 40}},
        {"id": "saturated", "points": {"alignment_risk": -15},
         "when": {"field": "dependence.arms_russia_share", "gte": 90}},
    ])
    decl = Monotone("alignment_risk", "dependence.arms_russia_share", "increasing", None, None,
                    "x", None)
    with Engine.load(d) as broken:
        assert fails(lambda e, p: prop_monotone(e, decl, p, 50, 95), broken)


@settings(max_examples=EXAMPLES, deadline=None)
@given(profiles())
def test_flatten_reads_every_known_fact_at_its_path(profile):
    # flatten is a loop over the field tables, then a function written out for the
    # profile's fields (engine.fields): both must read what a plain walk over the field
    # specs reads, value types and order included, under the specs' own interned paths
    specs = field_specs()
    want = {}
    for path in specs:
        section, dot, name = path.partition(".")
        held = getattr(getattr(profile, section), name) if dot else getattr(profile, path)
        if held is None:
            continue
        value = held.value if dot else held
        want[path] = value.value if isinstance(value, Enum) else value
    for way in (fields._flatten_by_loop, fields._flattener()):
        got = way(profile)
        assert list(got.items()) == list(want.items())
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
        assert all(key is specs[key].path for key in got)


def test_flatten_turns_to_the_written_out_function_after_enough_profiles(monkeypatch):
    monkeypatch.setattr(fields, "_looped", 0)
    monkeypatch.setattr(fields, "_flatten", fields._flatten_by_loop)
    profile = next(iter(random_profiles(1, seed=3)))
    made = [flatten(profile) for _ in range(fields.COMPILE_AFTER)]
    assert fields._flatten is fields._flatten_by_loop
    made += [flatten(profile) for _ in range(2)]
    assert fields._flatten is fields._flattener()
    assert all(m == made[0] for m in made)
