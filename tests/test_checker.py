"""`rules check` proves properties for every valid profile, and shows a witness when one fails."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from engine import Engine
from engine import GroupViolation
from engine import load_ruleset
from engine.analysis.checker import check_rules

from . import yaml_writer
from .helpers import minimal_profile
from .helpers import run_cli
from .helpers import write_rules

TIER = "commitment.tier"


def declare_monotone(rules_dir, target: str, decl: dict) -> None:
    path = rules_dir / "model.yaml"
    model = YAML(typ="safe", pure=True).load(path.read_text())
    table = "scores" if target in model["scores"] else "dimensions"
    model[table][target].setdefault("monotone", []).append(decl)
    yaml_writer.dump(model, path)


def codes(findings):
    return sorted(f.code for f in findings)


def test_bundled_rules_are_clean(engine):
    findings = check_rules(engine.ruleset)
    assert [f.text() for f in findings if f.severity == "error"] == []


def test_overlapping_exclusive_tiers_are_found_with_a_witness(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "treaty", "group": "tier", "when": {"field": TIER, "equals": "bilateral-treaty"},
         "points": {"deterrence": 40}},
        {"id": "any-alliance", "group": "tier",
         "when": {"field": TIER, "in": ["bilateral-treaty", "collective-defence"]},
         "points": {"deterrence": 45}},
    ], groups={"tier": {"exclusive": True}})
    findings = check_rules(load_ruleset(d))
    # 'treaty' implies 'any-alliance', so it is masked as well as overlapping
    assert codes(findings) == ["exclusive-overlap", "masked-rule"]
    (finding,) = [f for f in findings if f.code == "exclusive-overlap"]
    ((label, witness),) = finding.witnesses
    assert witness == {TIER: "bilateral-treaty"}
    # the witness really is a profile that breaks the group when scored
    with Engine.load(d) as e, pytest.raises(GroupViolation):
        e.score(minimal_profile(commitment={"tier": witness[TIER]}))


def test_dead_rule_is_found(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "impossible", "points": {"deterrence": 5}, "when": {"all": [
            {"field": "dependence.arms_us_share", "gt": 60},
            {"field": "dependence.arms_us_share", "lt": 40}]}},
    ])
    assert codes(check_rules(load_ruleset(d))) == ["dead-rule"]


def test_masked_rule_is_found(tmp_path):
    # 'narrow' implies 'broad', and the group allows one: 'narrow' can never score
    d = write_rules(tmp_path, [
        {"id": "broad", "group": "g", "points": {"deterrence": 5},
         "when": {"field": "threat.border_clashes", "equals": True}},
        {"id": "narrow", "group": "g", "points": {"deterrence": 9}, "when": {"all": [
            {"field": "threat.border_clashes", "equals": True},
            {"field": "threat.territorial_dispute", "equals": True}]}},
    ], groups={"g": {"exclusive": True}})
    assert codes(check_rules(load_ruleset(d))) == ["exclusive-overlap", "masked-rule"]


def test_required_gap_is_found_with_a_witness(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "treaty", "group": "tier", "when": {"field": TIER, "equals": "bilateral-treaty"},
         "points": {"deterrence": 40}},
    ], groups={"tier": {"exclusive": True, "required": True}})
    (gap,) = check_rules(load_ruleset(d))
    assert gap.code == "required-gap"
    assert gap.witnesses[0][1][TIER] != "bilateral-treaty"


def test_violated_monotone_declaration_prints_a_counterexample_pair(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "treaty", "group": "tier", "when": {"field": TIER, "equals": "bilateral-treaty"},
         "points": {"deterrence": 40}},
        {"id": "collective", "group": "tier",
         "when": {"field": TIER, "equals": "collective-defence"}, "points": {"deterrence": 30}},
    ], groups={"tier": {"exclusive": True}})
    declare_monotone(d, "deterrence", {
        "field": TIER, "direction": "increasing",
        "order": ["none", "bilateral-treaty", "collective-defence"]})
    (finding,) = check_rules(load_ruleset(d))
    assert finding.code == "monotone-violation"
    (_, a), (_, b) = finding.witnesses
    assert (a[TIER], b[TIER]) == ("bilateral-treaty", "collective-defence")
    base = load_ruleset(d).scores["deterrence"].base
    assert f"from {base + 40} to {base + 30}" in finding.message


def test_monotone_declaration_that_holds_is_proved(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "heavy", "points": {"alignment_risk": 10},
         "when": {"field": "dependence.arms_russia_share", "gte": 40}},
        {"id": "some", "points": {"alignment_risk": 5},
         "when": {"all": [{"field": "dependence.arms_russia_share", "gte": 10},
                          {"field": "dependence.arms_russia_share", "lt": 40}]}},
    ])
    declare_monotone(d, "alignment_risk", {"field": "dependence.arms_russia_share",
                                           "direction": "increasing"})
    assert check_rules(load_ruleset(d)) == []
    # and breaking it is caught: a rule that lowers risk for very high shares
    (tmp_path / "broken").mkdir()
    d2 = write_rules(tmp_path / "broken", [
        {"id": "heavy", "points": {"alignment_risk": 10},
         "when": {"field": "dependence.arms_russia_share", "gte": 40}},
        {"id": "saturated", "points": {"alignment_risk": -15},
         "when": {"field": "dependence.arms_russia_share", "gte": 90}},
    ])
    declare_monotone(d2, "alignment_risk", {"field": "dependence.arms_russia_share",
                                            "direction": "increasing"})
    # (the two rules also read one fact into one score: reported as double counting too)
    assert codes(check_rules(load_ruleset(d2))) == ["double-counting", "monotone-violation"]


def test_wrong_sign_against_declared_direction(tmp_path):
    d = write_rules(tmp_path, [
        {"id": "waiver", "points": {"deterrence": 5}, "direction": {"deterrence": "lowers"},
         "when": {"field": "sanctions.caatsa_status", "equals": "waived"}},
    ])
    assert codes(check_rules(load_ruleset(d))) == ["wrong-sign"]


def test_cli_reports_each_planted_problem_and_exits_non_zero(tmp_path):
    d = write_rules(tmp_path, [
        # a monotone violation: the collective guarantee is worth less than the treaty
        {"id": "treaty", "group": "tier", "when": {"field": TIER, "equals": "bilateral-treaty"},
         "points": {"deterrence": 40}},
        {"id": "collective", "group": "tier",
         "when": {"field": TIER, "equals": "collective-defence"}, "points": {"deterrence": 30}},
        # a contradiction: two tiers of presence that both fire on permanent forces
        {"id": "permanent", "group": "presence", "points": {"deterrence": 10},
         "when": {"field": "forces.presence", "equals": "permanent"}},
        {"id": "any-forces", "group": "presence", "points": {"deterrence": 5},
         "when": {"field": "forces.presence", "in": ["permanent", "rotational"]}},
        # a dead rule
        {"id": "impossible", "points": {"deterrence": 5}, "when": {"all": [
            {"field": "threat.border_clashes", "equals": True},
            {"field": "threat.border_clashes", "equals": False}]}},
    ], groups={"tier": {"exclusive": True}, "presence": {"exclusive": True}})
    declare_monotone(d, "deterrence", {"field": TIER, "direction": "increasing",
                                       "order": ["bilateral-treaty", "collective-defence"]})
    result = run_cli("rules", "check", "--rules", str(d))
    assert result.exit_code == 1
    out = result.output
    assert "rules 'any-forces' and 'permanent' of exclusive group 'presence'" in out
    assert "forces.presence: permanent" in out
    assert "rule 'impossible' can never fire" in out
    assert "[monotone-violation]" in out and "profile A:" in out
    assert "commitment.tier: bilateral-treaty" in out and "commitment.tier: collective-defence" in out
    assert "test.yaml, line" in out and "model.yaml, line" in out


def test_planted_problems_in_a_copy_of_the_bundled_rules(rules_copy):
    """The acceptance scenario: two commitment tiers that can both fire, a dead rule and a
    violated monotone declaration, planted in the real rule base."""
    y = YAML(typ="safe", pure=True)
    path = rules_copy / "guarantee.yaml"
    data = y.load(path.read_text())
    for rule in data["rules"]:
        if rule["id"] == "gs-tier-bilateral-treaty":
            rule["when"] = {"field": TIER, "in": ["bilateral-treaty", "ambiguous-commitment"]}
    data["rules"].append({
        "id": "gs-planted-dead", "title": "Dead", "points": {"deterrence": 5},
        "rationale": "Planted: a treaty that is at once caveated and not.",
        "support": "Planted: nothing supports it.",
        "source": {"id": "partnerships-2022", "section": "introduction"},
        "when": {"all": [{"field": "commitment.caveated", "equals": True},
                         {"field": "commitment.caveated", "equals": False}]}})
    data["rules"].append({
        "id": "gs-planted-tripwire-penalty", "title": "Permanent forces deter less",
        "points": {"deterrence": -40},
        "rationale": "Planted: contradicts the declared intent on US forces.",
        "support": "Planted: nothing supports it.",
        "source": {"id": "partnerships-2022", "section": "introduction"},
        "when": {"field": "forces.troops_permanent", "gte": 1000}})
    yaml_writer.dump(data, path)
    findings = check_rules(load_ruleset(rules_copy))
    by_code = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    overlap = [f for f in by_code["exclusive-overlap"] if "gs-tier-bilateral-treaty" in f.message]
    assert overlap and overlap[0].witnesses[0][1][TIER] == "ambiguous-commitment"
    assert any("gs-planted-dead" in f.message for f in by_code["dead-rule"])
    (mono,) = [f for f in by_code["monotone-violation"] if "forces.troops_permanent" in f.message]
    (_, a), (_, b) = mono.witnesses
    assert a["forces.troops_permanent"] < 1000 <= b["forces.troops_permanent"]
    # a penalty of 40 also lets deterrence leave its budget: the range proof says so
    (rng,) = [f for f in by_code["out-of-range"] if f.message.startswith("deterrence ")]
    assert "outside 0..100" in rng.message and rng.witnesses


def _copy_rule(rules_dir, file: str, rule_id: str, new_id: str) -> None:
    y = YAML(typ="safe", pure=True)
    path = rules_dir / file
    data = y.load(path.read_text())
    (rule,) = [r for r in data["rules"] if r["id"] == rule_id]
    data["rules"].append({**rule, "id": new_id})
    yaml_writer.dump(data, path)


def test_a_copied_rule_is_reported_as_double_counting(rules_copy):
    _copy_rule(rules_copy, "guarantee.yaml", "gs-integrated-command", "gs-combined-command")
    findings = [f for f in check_rules(load_ruleset(rules_copy)) if f.code == "double-counting"]
    (f,) = findings
    assert "'gs-combined-command' and 'gs-integrated-command'" in f.message
    assert "commitment.integrated_command" in f.message and "deterrence" in f.message
    assert f.witnesses[0][1]["commitment.integrated_command"] is True


def test_a_copy_reading_the_field_only_as_context_is_not_double_counting(rules_copy):
    y = YAML(typ="safe", pure=True)
    path = rules_copy / "guarantee.yaml"
    data = y.load(path.read_text())
    data["rules"].append({
        "id": "gs-command-under-treaty", "title": "Command under a treaty",
        "points": {"deterrence": 1},
        "rationale": "Planted: reads the command only to say where it applies.",
        "support": "Planted: nothing supports it.",
        "source": {"id": "partnerships-2022", "section": "introduction"},
        "context": {"commitment.integrated_command": "only where the command exists"},
        "when": {"all": [{"field": "commitment.integrated_command", "equals": True},
                         {"field": "commitment.conditional", "equals": True}]}})
    yaml_writer.dump(data, path)
    codes_found = {f.code for f in check_rules(load_ruleset(rules_copy))}
    assert "double-counting" not in codes_found


def test_indicators_join_fields_and_intended_overlaps_excuse_pairs(rules_copy):
    y = YAML(typ="safe", pure=True)
    path = rules_copy / "model.yaml"
    model = y.load(path.read_text())
    model["intended_overlaps"] = [o for o in model["intended_overlaps"]
                                  if o["rules"] != ["sx-caatsa-purchase", "sx-caatsa-imposed"]]
    yaml_writer.dump(model, path)
    findings = [f for f in check_rules(load_ruleset(rules_copy)) if f.code == "double-counting"]
    (f,) = findings
    assert "'sx-caatsa-imposed' and 'sx-caatsa-purchase'" in f.message
    assert "caatsa" in f.message  # the declared indicator, not a field of it
