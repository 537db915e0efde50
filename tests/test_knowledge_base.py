"""The bundled knowledge base as an analyst relies on it: coverage, completeness, scores
that discriminate, documentation that matches the rules."""

from __future__ import annotations

import re

import pytest

from engine import bundled_dir
from engine.analysis.completeness import completeness

# The partners "all partners" must hold at the 2022 edition, by ISO code: every NATO ally,
# every other treaty ally (the Rio Treaty parties in force in 2022 included), every Major
# Non-NATO Ally, the Compact states, and the regions the documents analyse.
NATO = "ALB BEL BGR CAN HRV CZE DNK EST FRA DEU GRC HUN ISL ITA LVA LTU LUX MNE NLD MKD NOR " \
       "POL PRT ROU SVK SVN ESP TUR GBR"
TREATY = "JPN KOR AUS NZL PHL THA ARG BHS BRA CHL COL CRI DOM SLV GTM HTI HND PAN PRY PER " \
         "TTO URY"
MNNA = "BHR EGY ISR JOR KWT MAR PAK QAT TUN TWN"
COMPACT = "FSM MHL PLW"
REGION = "IND IDN MYS SGP VNM SAU ARE DJI KGZ UZB IRQ UKR GEO SWE FIN"
EXPECTED_2022 = set(" ".join([NATO, TREATY, MNNA, COMPACT, REGION]).split())
EXPECTED_2024 = set("FIN SWE UKR SAU IND PAK PHL POL ISR TUR VNM".split())


@pytest.fixture(scope="module")
def loaded(engine):
    profiles, errors = engine.load_profiles()
    assert errors == []
    return profiles


def codes(loaded, year: int) -> set[str]:
    return {lp.profile.iso3 for lp in loaded if lp.profile.as_of.year == year}


def test_every_ally_and_partner_has_a_2022_profile(loaded):
    assert EXPECTED_2022 - codes(loaded, 2022) == set()
    assert all(lp.profile.as_of.isoformat() == "2022-07-01"
               for lp in loaded if lp.profile.as_of.year == 2022)


def test_the_2024_edition_holds_the_partners_whose_situation_moved(loaded):
    assert EXPECTED_2024 - codes(loaded, 2024) == set()


def test_every_profile_names_its_iso_code_once_per_year(loaded):
    seen = {}
    for lp in loaded:
        p = lp.profile
        assert p.iso3, p.key
        assert (p.iso3, p.as_of.year) not in seen, (p.key, seen.get((p.iso3, p.as_of.year)))
        seen[(p.iso3, p.as_of.year)] = p.key


def test_every_2022_profile_knows_nine_tenths_of_what_the_rules_read(engine, loaded):
    report = completeness(engine.ruleset, [lp for lp in loaded if lp.profile.as_of.year == 2022])
    below = [(p.profile, p.share) for p in report.profiles if p.share < 0.9]
    assert below == []


def test_every_unknown_fact_says_why(engine, loaded):
    report = completeness(engine.ruleset, loaded)
    silent = [(p.profile, u.field) for p in report.profiles for u in p.unexplained]
    assert silent == []


def test_headline_scores_are_never_pinned_at_a_bound(engine, loaded):
    results, errors = engine.score_many(loaded)
    assert errors == []
    for name in ("deterrence", "alignment_risk"):
        pinned = [r.profile for r in results if r.target(name).score in (0, 100)]
        assert len(pinned) <= len(results) // 10, (name, pinned)
    # the points are a budget that fits: nothing is ever bounded
    for r in results:
        for name in ("deterrence", "alignment_risk", *r.dimensions):
            s = r.target(name)
            assert s.raw == s.score and s.adjustment == 0, (r.profile, name)


def test_headline_scores_discriminate(engine, loaded):
    results, _ = engine.score_many(loaded)
    for name in ("deterrence", "alignment_risk"):
        distinct = {r.target(name).score for r in results}
        assert len(distinct) >= 25, (name, sorted(distinct))


def test_the_rules_readme_lists_every_rule_with_its_points(engine):
    text = (bundled_dir("rules") / "README.md").read_text()
    abbrev = {"deterrence": "det", "alignment_risk": "risk", "guarantee_strength": "gs",
              "dependence": "dep", "sanction_exposure": "sx", "threat_environment": "thr",
              "alignment_behaviour": "beh", "empowerment": "emp"}
    for rule in engine.ruleset.rules:
        row = re.search(rf"^\| `{re.escape(rule.id)}` \| ([^|]+) \|", text, re.M)
        assert row, rule.id
        points = ", ".join(f"{abbrev[t]} {p:+d}" for t, p in rule.points)
        assert row.group(1).strip() == points, rule.id


def test_the_bases_in_the_model_are_the_floors_the_readme_states(engine):
    text = (bundled_dir("rules") / "README.md").read_text()
    for target in engine.ruleset.targets.values():
        assert re.search(rf"^\| `{target.id}` \| {target.base} \|", text, re.M), target.id
