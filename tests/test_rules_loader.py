"""The rule loader checks every rule against the profile model and the catalog, with lines."""

from __future__ import annotations

import pytest

from engine import LoadErrors
from engine import load_ruleset
from engine.conditions import AnyOf
from engine.conditions import Cmp

from .helpers import write_rules


def codes(rules_dir) -> list[tuple[str, int | None]]:
    with pytest.raises(LoadErrors) as info:
        load_ruleset(rules_dir)
    return [(e.code, e.line) for e in info.value.errors]


def one_rule(tmp_path, **rule):
    return write_rules(tmp_path, [{"id": "r", "points": {"deterrence": 1}, **rule}])


def test_bundled_rules_load(engine):
    assert len(engine.ruleset.rules) >= 10
    assert set(engine.ruleset.scores) == {"deterrence", "alignment_risk"}


def test_unknown_field_is_rejected_with_suggestion(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.teir", "equals": "none"})
    with pytest.raises(LoadErrors) as info:
        load_ruleset(d)
    (err,) = info.value.errors
    assert err.code == "unknown-field"
    assert "did you mean 'commitment.tier'" in err.message
    assert err.file.endswith("test.yaml") and err.line is not None


def test_unknown_operator_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.tier", "contains": "none"})
    assert [c for c, _ in codes(d)] == ["unknown-operator"]


def test_unknown_enum_value_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.tier", "equals": "alliance"})
    assert [c for c, _ in codes(d)] == ["unknown-enum-value"]


def test_in_values_are_checked_one_by_one(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.tier", "in": ["none", "treaty"]})
    assert [c for c, _ in codes(d)] == ["unknown-enum-value"]


def test_ordering_on_an_enum_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.tier", "gt": "none"})
    assert [c for c, _ in codes(d)] == ["bad-operator"]


def test_threshold_outside_the_field_range_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "dependence.arms_us_share", "gt": 150})
    assert [c for c, _ in codes(d)] == ["bad-value"]


def test_text_where_a_number_belongs_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "dependence.arms_us_share", "gt": "50"})
    assert [c for c, _ in codes(d)] == ["bad-value"]


def test_missing_source_is_rejected(tmp_path):
    d = tmp_path / "rules"
    write_rules(tmp_path, [{"id": "r", "points": {"deterrence": 1},
                            "when": {"field": "commitment.tier", "equals": "none"}}])
    text = (d / "test.yaml").read_text()
    start = text.index("  source:")
    end = text.index("\n  ", text.index("\n", text.index("section:", start))) + 1
    (d / "test.yaml").write_text(text[:start] + text[end:])
    assert "source" not in (d / "test.yaml").read_text()
    assert [c for c, _ in codes(d)] == ["missing-field"]


def test_unknown_source_and_section_are_rejected(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "a", "points": {"deterrence": 1}, "source": {"id": "nowhere", "section": "x"},
         "when": {"field": "commitment.tier", "equals": "none"}},
        {"id": "b", "points": {"deterrence": 1},
         "source": {"id": "partnerships-2022", "section": "epilogue"},
         "when": {"field": "commitment.tier", "equals": "none"}},
    ])
    assert sorted(c for c, _ in codes(d)) == ["unknown-section", "unknown-source"]


def test_duplicate_ids_are_rejected_with_both_places(tmp_path):
    cond = {"field": "commitment.tier", "equals": "none"}
    d = write_rules(tmp_path, [
        {"id": "same", "points": {"deterrence": 1}, "when": cond},
        {"id": "same", "points": {"deterrence": 2}, "when": cond},
    ])
    with pytest.raises(LoadErrors) as info:
        load_ruleset(d)
    (err,) = info.value.errors
    assert err.code == "duplicate-id"
    assert "already used in" in err.message and "line" in err.message


def test_all_problems_are_reported_together(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "a", "points": {"deterrence": 1}, "when": {"field": "nope", "equals": 1}},
        {"id": "b", "points": {"nowhere": 1}, "when": {"field": "commitment.tier", "equals": "none"}},
        {"id": "c", "points": {"deterrence": 1}, "group": "ghost",
         "when": {"field": "commitment.tier", "equals": "none"}},
    ])
    assert sorted(c for c, _ in codes(d)) == ["unknown-field", "unknown-group", "unknown-target"]


def test_a_rule_cannot_feed_another_dimension(tmp_path):
    d = one_rule(tmp_path, points={"dependence": 5},
                 when={"field": "commitment.tier", "equals": "none"})
    assert [c for c, _ in codes(d)] == ["foreign-dimension"]


def test_unknown_rule_key_is_rejected(tmp_path):
    d = one_rule(tmp_path, when={"field": "commitment.tier", "equals": "none"}, weight=3)
    assert [c for c, _ in codes(d)] == ["unknown-field"]


def test_conditions_normalise_negation_to_the_comparisons(tmp_path):
    d = one_rule(tmp_path, when={"not": {"all": [
        {"field": "commitment.tier", "equals": "none"},
        {"field": "dependence.arms_us_share", "gte": 50}]}})
    (rule,) = load_ruleset(d).rules
    assert rule.nnf == AnyOf((
        Cmp("commitment.tier", "absent"), Cmp("commitment.tier", "ne", "none"),
        Cmp("dependence.arms_us_share", "absent"), Cmp("dependence.arms_us_share", "lt", 50),
    ))


def test_digest_ignores_rule_order_but_not_meaning(tmp_path):
    cond = {"field": "commitment.tier", "equals": "none"}

    def rules_in(name, rules):
        (tmp_path / name).mkdir()
        return load_ruleset(write_rules(tmp_path / name, rules))

    x1 = {"id": "x", "points": {"deterrence": 1}, "when": cond}
    y2 = {"id": "y", "points": {"deterrence": 2}, "when": cond}
    y3 = {"id": "y", "points": {"deterrence": 3}, "when": cond}
    assert rules_in("a", [x1, y2]).digest == rules_in("b", [y2, x1]).digest
    assert rules_in("c", [x1, y3]).digest != rules_in("d", [x1, y2]).digest
