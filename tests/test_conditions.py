"""The normal form keeps a condition's meaning, and ``not`` is the exact complement."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from engine.conditions import All
from engine.conditions import AnyOf
from engine.conditions import Cmp
from engine.conditions import Not
from engine.conditions import fields_of
from engine.conditions import holds
from engine.conditions import leaf_matcher
from engine.conditions import matched_leaves
from engine.conditions import normalize
from engine.reference import _MISSING as MISSING
from engine.reference import _Codegen
from engine.reference import _groups

FIELDS = {
    "a.num": st.sampled_from([0, 10, 40, 40.01, 100]),
    "a.tier": st.sampled_from(["x", "y", "z"]),
    "a.flag": st.booleans(),
}


@st.composite
def comparisons(draw):
    field = draw(st.sampled_from(sorted(FIELDS)))
    if field == "a.num":
        op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "in", "present", "absent"]))
    else:
        op = draw(st.sampled_from(["eq", "ne", "in", "present", "absent"]))
    if op in ("present", "absent"):
        return Cmp(field, op)
    if op == "in":
        return Cmp(field, "in", tuple(draw(st.lists(FIELDS[field], min_size=1, max_size=3))))
    return Cmp(field, op, draw(FIELDS[field]))


conditions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
        inner.map(Not),
    ),
    max_leaves=8,
)


@st.composite
def facts(draw):
    return {k: draw(v) for k, v in FIELDS.items() if draw(st.booleans())}


@given(conditions, facts())
def test_normal_form_keeps_the_meaning(cond, fact):
    assert holds(normalize(cond), fact) == holds(cond, fact)


@given(conditions, facts())
def test_not_is_the_exact_complement(cond, fact):
    assert holds(normalize(Not(cond)), fact) == (not holds(cond, fact))


@given(conditions, facts())
def test_generated_reference_code_agrees_with_the_definition(cond, fact):
    rule = SimpleNamespace(id="r", nnf=normalize(cond))
    fired = _Codegen().function((rule,))
    assert ("r" in fired(fact)) == holds(cond, fact)


@given(conditions, facts())
def test_a_true_condition_names_its_supporting_facts(cond, fact):
    nnf = normalize(cond)
    leaves = matched_leaves(nnf, fact)
    assert bool(leaves) == holds(nnf, fact)
    assert all(leaf.holds(fact) for leaf in leaves)


@given(conditions, facts())
def test_the_compiled_matcher_names_the_same_facts_as_the_definition(cond, fact):
    nnf = normalize(cond)
    assert leaf_matcher(nnf)(fact) == matched_leaves(nnf, fact)


def test_comparisons_on_unknown_fields_are_false_but_present_false_is_true():
    fact: dict = {}
    for op, value in [("eq", 1), ("ne", 1), ("lt", 1), ("ge", 1), ("in", (1,)), ("not_in", (1,))]:
        assert not Cmp("a.num", op, value).holds(fact)
    assert Cmp("a.num", "absent").holds(fact)
    assert holds(normalize(Not(Cmp("a.num", "eq", 1))), fact)


def points_entries(targets, magnitude):
    return st.lists(st.tuples(st.sampled_from(targets), st.integers(-magnitude, magnitude)),
                    max_size=2, unique_by=lambda e: e[0]).map(lambda es: tuple(sorted(es)))


# a few targets with small points fit in one integer; many with large points take two
# integers, or one wide one when no two halves fit (reference._groups)
few_small = points_entries(["t1", "t2", "t3"], 60)
many_large = points_entries([f"t{i}" for i in range(1, 8)], 5000)


@given(st.lists(st.tuples(conditions, few_small | many_large), min_size=1, max_size=8), facts())
def test_generated_code_agrees_for_rules_sharing_fields(specs, fact):
    # several rules on the same few fields: the generated code decides some of them
    # together, from one truth table per field, and packs their points into integers
    rules = tuple(SimpleNamespace(id=f"r{i}", nnf=normalize(cond), points=points)
                  for i, (cond, points) in enumerate(specs))
    expected = frozenset(r.id for r, (cond, _) in zip(rules, specs, strict=True) if holds(cond, fact))
    assert _Codegen().function(rules)(fact) == expected
    assert _Codegen().points_function(rules)(fact) == points_of(rules, expected)
    # and on the fact as a row: its value of each field the rules read, in a fixed order
    layout = tuple(sorted(set().union(*(fields_of(r.nnf) for r in rules))))
    row = tuple(fact.get(path, MISSING) for path in layout)
    assert _Codegen(layout).function(rules, "row")(row) == expected
    assert _Codegen(layout).points_function(rules, "row")(row) == points_of(rules, expected)


def test_targets_too_wide_for_two_integers_are_summed_in_one_wide_integer():
    # six targets of 15 bits each: no two halves fit 30 bits, so all share one integer
    rules = tuple(SimpleNamespace(id=f"r{i}", nnf=normalize(Cmp("a.num", "ge", i)),
                                  points=((f"t{i}", 10_000 if i % 2 else -10_000),))
                  for i in range(6))
    width = {f"t{i}": 15 for i in range(6)}
    assert _groups(sorted(width), width, [{t} for t in width]) == [sorted(width)]
    for value in (-1, 2.5, 5):
        fact = {"a.num": value}
        expected = frozenset(r.id for r in rules if holds(r.nnf, fact))
        assert _Codegen().points_function(rules)(fact) == points_of(rules, expected)


def points_of(rules, fired):
    """Every target's points summed over the fired rules, 0 for a target none of them scores."""
    totals = {target: 0 for r in rules for target, _ in r.points}
    for r in rules:
        if r.id in fired:
            for target, pts in r.points:
                totals[target] += pts
    return totals


def odd_values(spec):
    """What a fact may hold in a field once sweeps and what-ifs build facts by hand: the
    field's own values, a value it cannot hold, another kind of value, or nothing."""
    own = {
        "enum": st.sampled_from(spec.values),
        "bool": st.booleans(),
        "int": st.integers(-5, 105),
        "number": st.floats(-5, 105) | st.integers(-5, 105),
        "text": st.text(max_size=3),
    }[spec.kind]
    other = st.sampled_from([0, 1, 1.5, True, False, float("nan")])
    if spec.numeric:  # a string there is an error of the fact's maker: ordering raises
        return own | other
    return own | other | st.sampled_from(["no-such-value", ""])


@st.composite
def facts_of_the_bundled_fields(draw, ruleset):
    fact = {}
    for spec in ruleset.fields_read:
        if draw(st.booleans()):
            fact[spec.path] = draw(odd_values(spec))
    return fact


@given(st.data())
def test_the_bundled_rules_generated_code_agrees_with_the_definition_on_any_fact(engine, data):
    """The generated code subscripts the truth tables of enumerated and true/false fields,
    which list only the values such a field can hold; any other value (a string no
    enumeration names, a number in a true/false field, NaN) must take the safe path and
    decide every rule, and every target's points, as the definition does."""
    from engine.reference import ReferenceEvaluator

    ruleset = engine.ruleset
    fact = data.draw(facts_of_the_bundled_fields(ruleset))
    expected = frozenset(r.id for r in ruleset.rules if holds(r.nnf, fact))
    evaluator = ReferenceEvaluator(ruleset)
    assert evaluator.fired(fact) == expected
    assert evaluator.points(fact) == points_of(ruleset.rules, expected)
    row = evaluator.row(fact)
    assert evaluator.fired_row(row) == expected
    assert evaluator.points_row(row) == points_of(ruleset.rules, expected)


@given(st.data())
def test_a_replaced_row_is_the_fact_with_the_changes_made(engine, data):
    """Sweeps change a prepared row in place of copying the fact: the changed row must
    fire what the changed fact fires, a None making the field unknown, and a field no
    rule reads changing nothing."""
    from engine.reference import ReferenceEvaluator

    ruleset = engine.ruleset
    fact = data.draw(facts_of_the_bundled_fields(ruleset))
    changed = data.draw(facts_of_the_bundled_fields(ruleset))
    dropped = data.draw(st.lists(st.sampled_from(ruleset.fields_read), max_size=3))
    changes = [*changed.items(), *((spec.path, None) for spec in dropped),
               ("no.such-field", 1)]
    after = dict(fact)
    for path, value in changes:
        after[path] = value
        if value is None:
            del after[path]
    evaluator = ReferenceEvaluator(ruleset)
    assert evaluator.fired_row(evaluator.replace(evaluator.row(fact), changes)) == \
        evaluator.fired(after)
