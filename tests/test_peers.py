"""The translations of benchmarks/peers.py: rules into CLIPS and rule-engine text.

The peers themselves are an optional extra, so the benchmark script checks their
answers against latticework's on every run; here the text they are given is
held to the normal form's meaning (an unknown field fails every comparison),
with neither peer installed.
"""

from __future__ import annotations

import pytest

from engine.conditions import Cmp
from engine.fields import FieldSpec

from .helpers import load_benchmark

peers = load_benchmark("peers")


@pytest.fixture(scope="module")
def rules(reference_engine):
    return {r.id: r for r in reference_engine.ruleset.rules}


def test_an_enum_membership_rule_in_clips(rules):
    assert peers.clips_rule(rules["aln-anchor-alliance"]) == (
        "(defrule aln-anchor-alliance\n"
        "   (profile (commitment__tier ?commitment__tier&:(or"
        ' (eq ?commitment__tier "collective-defence")'
        ' (eq ?commitment__tier "bilateral-treaty")'
        ' (eq ?commitment__tier "free-association"))))\n'
        "   =>\n"
        "   (bind ?*fired* (create$ ?*fired* aln-anchor-alliance)))"
    )


def test_a_rule_over_an_unknown_or_false_flag_in_clips(rules):
    # "not joined": unknown, or known and not true; an unknown slot holds MISSING
    assert peers.clips_rule(rules["sx-russian-energy-buyer"]) == (
        "(defrule sx-russian-energy-buyer\n"
        "   (profile (dependence__russian_energy ?dependence__russian_energy)"
        " (sanctions__joined_russia_sanctions ?sanctions__joined_russia_sanctions&:(and"
        ' (eq ?dependence__russian_energy "high")'
        " (or (eq ?sanctions__joined_russia_sanctions MISSING)"
        " (and (neq ?sanctions__joined_russia_sanctions MISSING)"
        " (neq ?sanctions__joined_russia_sanctions TRUE))))))\n"
        "   =>\n"
        "   (bind ?*fired* (create$ ?*fired* sx-russian-energy-buyer)))"
    )


def test_bundled_rules_in_rule_engine(rules):
    assert peers.rule_engine_text(rules["aln-anchor-alliance"]) == (
        'commitment__tier in ["collective-defence", "bilateral-treaty", "free-association"]')
    assert peers.rule_engine_text(rules["sx-russian-energy-buyer"]) == (
        '(dependence__russian_energy == "high" and (sanctions__joined_russia_sanctions == null'
        " or (sanctions__joined_russia_sanctions != null"
        " and sanctions__joined_russia_sanctions != true)))")
    assert peers.rule_engine_text(rules["dep-chinese-arms-some"]) == (
        "((dependence__arms_china_share != null and dependence__arms_china_share >= 10)"
        " and (dependence__arms_china_share != null and dependence__arms_china_share < 40))")


def test_the_template_gives_every_read_field_a_missing_default(reference_engine):
    fields = reference_engine.ruleset.fields_read
    text = peers.clips_template(fields)
    assert text.startswith("(deftemplate profile\n   (slot ")
    assert text.count("(default MISSING))") == len(fields)
    assert "(slot commitment__tier (default MISSING))" in text


NUMBER = FieldSpec("forces.troops", "number")
TEXT = FieldSpec("identity.note", "text")


@pytest.mark.parametrize("leaf, spec, clips, rule_engine", [
    (Cmp("forces.troops", "eq", 2.5), NUMBER,
     "(and (numberp ?forces__troops) (= ?forces__troops 2.5))", "forces__troops == 2.5"),
    (Cmp("forces.troops", "ne", 3), NUMBER,
     "(and (numberp ?forces__troops) (<> ?forces__troops 3))",
     "(forces__troops != null and forces__troops != 3)"),
    (Cmp("forces.troops", "le", 3), NUMBER,
     "(and (numberp ?forces__troops) (<= ?forces__troops 3))",
     "(forces__troops != null and forces__troops <= 3)"),
    (Cmp("forces.troops", "in", (1, 2)), NUMBER,
     "(and (numberp ?forces__troops) (or (= ?forces__troops 1) (= ?forces__troops 2)))",
     "forces__troops in [1, 2]"),
    (Cmp("forces.troops", "not_in", (1,)), NUMBER,
     "(and (numberp ?forces__troops) (not (= ?forces__troops 1)))",
     "(forces__troops != null and forces__troops not in [1])"),
    (Cmp("identity.note", "not_in", ("a", "b")), TEXT,
     '(and (neq ?identity__note MISSING) (neq ?identity__note "a" "b"))',
     '(identity__note != null and identity__note not in ["a", "b"])'),
    (Cmp("identity.note", "eq", 'say "hi" \\'), TEXT,
     '(eq ?identity__note "say \\"hi\\" \\\\")', 'identity__note == "say \\"hi\\" \\\\"'),
    (Cmp("identity.note", "present"), TEXT,
     "(neq ?identity__note MISSING)", "identity__note != null"),
    (Cmp("identity.note", "absent"), TEXT,
     "(eq ?identity__note MISSING)", "identity__note == null"),
], ids=lambda x: x.op if isinstance(x, Cmp) else None)
def test_every_operator_is_false_on_an_unknown_field(leaf, spec, clips, rule_engine):
    assert peers.clips_test(leaf, spec) == clips
    assert peers.rule_engine_test(leaf, spec) == rule_engine


def test_ordering_a_text_field_is_refused():
    with pytest.raises(ValueError, match="'lt' does not apply to the text field identity.note"):
        peers.clips_test(Cmp("identity.note", "lt", "b"), TEXT)


def test_points_give_latticework_scores_and_group_verdicts(reference_engine):
    points = peers.Points(reference_engine.ruleset)
    loaded, _ = reference_engine.load_profiles()
    for lp in loaded[:20]:
        result = reference_engine.score(lp.profile)
        fired = reference_engine.fired(lp.profile)
        assert points.violation(fired) is None
        assert points.scores(fired) == {
            t: result.target(t).score for t in reference_engine.ruleset.targets}
    tier = {r.id for r in reference_engine.ruleset.rules if r.group == "commitment-tier"}
    assert points.violation(frozenset()) == ("commitment-tier", "required")
    assert points.violation(frozenset(sorted(tier)[:2])) == ("commitment-tier", "exclusive")


def test_bench_text_shows_each_peer_against_latticework():
    from engine.bench.run import text

    figures = {"machine": "m", "profiles": 100, "profiles_per_s": 1, "single_profiles_per_s": 1,
               "durable_core_profiles_per_s": 1, "durable_share_of_core": 0.5,
               "raw_durable_profiles_per_s": 1, "durable_share_of_raw": 1.0,
               "single_share_of_raw": 1.0, "reference_profiles_per_s": 1,
               "reference_end_to_end_profiles_per_s": 1, "rss_profiles": 100,
               "peak_rss_mb": 40.0, "peak_rss_mb_10x": 41.0, "sensitivity_partners": 3,
               "sensitivity_draws_per_s": 1,
               "peers": {"latticework": 2000.0, "clips": 1000.0}}
    shown = text(figures)
    assert "  clips" in shown and "1,000 profiles/s (0.50x)" in shown
    assert "not measured" in text({**figures, "peers": None})
