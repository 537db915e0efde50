"""Analyst workflow: what-if, compare, history, counterfactual, sensitivity."""

from __future__ import annotations

import json

import pytest

from engine import LoadErrors
from engine import bundled_dir
from engine.analysis.changes import apply_changes
from engine.analysis.changes import parse_assignment
from engine.analysis.compare import compare_profiles
from engine.analysis.compare import history
from engine.analysis.compare import whatif
from engine.analysis.counterfactual import parse_target
from engine.analysis.counterfactual import search
from engine.analysis.sensitivity import analyse
from engine.conditions import fields_of

from .helpers import run_cli


def profile(engine, key):
    return engine.find_profile(key).profile


def test_caatsa_waiver_lowers_sanction_exposure_and_names_the_rule_that_stopped(engine):
    c = whatif(engine, profile(engine, "india@2022"), {"sanctions.caatsa_status": "waived"})
    move = {m.target: m for m in c.moves}
    assert move["sanction_exposure"].delta < 0
    assert move["alignment_risk"].delta <= 0
    stopped = [engine.ruleset.rule(r.rule) for r in c.stopped]
    assert any(r.points_for("sanction_exposure") > 0 for r in stopped)
    assert [f.field for f in c.facts] == ["sanctions.caatsa_status"]


def test_whatif_cli(engine):
    result = run_cli("whatif", "india@2022", "--set",
                                       "sanctions.caatsa_status=waived")
    assert result.exit_code == 0, result.output
    assert "rules that stopped firing:" in result.output
    assert "sanctions.caatsa_status: threatened -> waived" in result.output


def test_whatif_values_are_validated_like_profile_fields(engine):
    p = profile(engine, "india@2022")
    with pytest.raises(LoadErrors, match="dependence.arms_russia_share"):
        apply_changes(p, {"dependence.arms_russia_share": 140})
    result = run_cli("whatif", "india@2022", "--set",
                                       "sanctions.caatsa_status=forgiven")
    assert result.exit_code == 2
    assert "field 'sanctions.caatsa_status'" in result.output
    assert "did you mean" in run_cli(
        "whatif", "india@2022", "--set", "sanctions.caatsa_statu=waived").output


def test_parse_assignment_reads_values_as_yaml():
    assert parse_assignment("threat.border_clashes=true") == ("threat.border_clashes", True)
    assert parse_assignment("dependence.arms_us_share=40") == ("dependence.arms_us_share", 40)
    assert parse_assignment("dependence.arms_us_share=unknown") == ("dependence.arms_us_share", None)


def test_whatif_changes_nothing_when_the_value_is_the_same(engine):
    p = profile(engine, "india@2022")
    current = p.sanctions.caatsa_status.value.value
    c = whatif(engine, p, {"sanctions.caatsa_status": current})
    assert c.started == [] and c.stopped == [] and all(m.delta == 0 for m in c.moves)


def test_sweden_history_shows_assurance_then_membership(engine):
    loaded, _ = engine.load_profiles()
    sweden = [lp.profile for lp in loaded if lp.profile.country == "sweden"]
    steps = history(engine, sweden)
    assert [(c.before, c.after) for c in steps] == [("sweden@2021", "sweden@2022"),
                                                    ("sweden@2022", "sweden@2024")]
    for step in steps:
        deterrence = next(m for m in step.moves if m.target == "deterrence")
        assert deterrence.after > deterrence.before
        tier_rules = [r for r in step.started
                      if "commitment.tier" in fields_of(engine.ruleset.rule(r.rule).when)]
        assert tier_rules, step
    tiers = [p.commitment.tier.value.value for p in sorted(sweden, key=lambda p: p.as_of)]
    assert tiers[1:] == ["interim-assurance", "collective-defence"]


def test_history_cli_and_unknown_country(engine):
    ok = run_cli("history", "sweden")
    assert ok.exit_code == 0 and "sweden@2021 -> sweden@2022 -> sweden@2024" in ok.output
    bad = run_cli("history", "swedn")
    assert bad.exit_code == 2 and "did you mean sweden?" in bad.output


def test_compare_names_the_rules_behind_each_move(engine):
    c = compare_profiles(engine, profile(engine, "finland@2021"), profile(engine, "finland@2023"))
    assert c.started and any(m.delta for m in c.moves)


@pytest.mark.parametrize("text,bound", [("alignment_risk<guarded", 20),
                                        ("alignment-risk<elevated", 40),
                                        ("deterrence>=strong", 60), ("deterrence>weak", 39),
                                        ("deterrence<=weak", 39), ("alignment_risk<35", 35)])
def test_targets_read_bands_at_their_edges(engine, text, bound):
    assert parse_target(text, engine.ruleset).bound == bound


def test_bad_target_is_an_input_error():
    result = run_cli("counterfactual", "india@2022", "--target", "risk<low")
    assert result.exit_code == 2 and "unknown score 'risk'" in result.output


def test_pakistan_counterfactual_sets_are_minimal_and_verified(engine):
    p = profile(engine, "pakistan@2022")
    r = search(engine, p, "alignment_risk<elevated", limit=50)
    assert not r.already_met and r.complete
    assert r.solutions
    size = len(r.solutions[0].changes)
    for s in r.solutions:
        assert s.verified and len(s.changes) == size
        # rescored independently, through the durable engine
        changed = apply_changes(p, {c.field: c.after for c in s.changes})
        assert engine.score(changed).alignment_risk.score < 40
    if size > 1:
        # no smaller set exists: the search at size - 1 finds nothing
        smaller = search(engine, p, "alignment_risk<elevated", max_changes=size - 1)
        assert smaller.solutions == [] and smaller.complete


def test_counterfactual_never_changes_fixed_facts(engine):
    from engine.fields import field_specs

    r = search(engine, profile(engine, "ukraine@2021"), "deterrence>=strong")
    specs = field_specs()
    assert r.solutions  # otherwise the check below would pass vacuously
    for s in r.solutions:
        assert all(specs[c.field].actionable for c in s.changes)


def test_sensitivity_is_reproducible_with_a_seed(engine):
    loaded, _ = engine.load_profiles()
    profiles = [lp.profile for lp in loaded]
    a = analyse(engine, profiles, draws=500, seed=11)
    b = analyse(engine, profiles, draws=500, seed=11)
    c = analyse(engine, profiles, draws=500, seed=12)
    assert a.model_dump_json() == b.model_dump_json()
    assert a.model_dump_json() != c.model_dump_json()
    for p in a.partners:
        for i in p.scores.values():
            assert 0 <= i.low <= i.median <= i.high <= 100
            assert abs(sum(i.bands.values()) - 1) < 1e-3


def test_zero_spread_reproduces_the_scores(engine):
    loaded, _ = engine.load_profiles()
    r = analyse(engine, [lp.profile for lp in loaded], draws=50, spread=0.0, fact_rate=0.0)
    by_key = {lp.profile.key: engine.score(lp.profile) for lp in loaded}
    for p in r.partners:
        for name, i in p.scores.items():
            assert i.low == i.high == i.score == by_key[p.profile].target(name).score
        assert p.rank_kept == 1.0


def test_sensitivity_cli_is_silent_on_a_pipe_and_reproducible():
    # two chunks of draws, so that progress would be reported if it were not a pipe
    args = ["sensitivity", "--draws", "2000", "--seed", "3", "--as-of", "2022", "--format", "json"]
    a = run_cli(*args)
    b = run_cli(*args)
    assert a.exit_code == 0, a.output
    assert a.stdout_bytes == b.stdout_bytes
    assert a.stderr == ""
    data = json.loads(a.stdout)
    assert data["draws"] == 2000 and data["fact_rate"] == 0.2
    assert {p["profile"] for p in data["partners"]} == {
        p.stem for p in bundled_dir("profiles").glob("*@2022.yaml")}


def test_provisional_facts_alone_move_scores_and_are_ranked_by_effect(engine):
    loaded, _ = engine.load_profiles()
    profiles = [lp.profile for lp in loaded if lp.profile.as_of.year == 2022]
    r = analyse(engine, profiles, draws=300, spread=0.0, fact_rate=0.3, seed=5)
    assert r.provisional_facts > 0
    # with the weights fixed, only the facts can widen an interval
    assert any(i.low < i.high for p in r.partners for i in p.scores.values())
    assert r.assumptions
    effects = [max(abs(a.deterrence_rank), abs(a.alignment_risk_rank)) for a in r.assumptions]
    assert effects == sorted(effects, reverse=True)
    # each listed assumption is reproduced by what-if: the fact changed alone
    top = r.assumptions[0]
    (profile,) = [p for p in profiles if p.key == top.profile]
    alternative = "unknown" if top.alternative is None else top.alternative
    moved = {m.target: m.delta for m in whatif(engine, profile, {top.field: alternative}).moves}
    assert (moved["deterrence"], moved["alignment_risk"]) == (top.deterrence, top.alignment_risk)
