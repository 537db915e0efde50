"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from .errors import GroupViolation
from .results import ProfileResult
from .rules import RuleSet, ScoreDef
from .trace import ScoreBounded, Trace

LOW, HIGH = 0, 100


def check_groups(ruleset: RuleSet, trace: Trace) -> None:
    fired_by_group: dict[str, list[str]] = {g: [] for g in ruleset.groups}
    for event in trace.fired:
        if event.rule.group is not None:
            fired_by_group[event.rule.group].append(event.rule.id)
    for gid, group in sorted(ruleset.groups.items()):
        members = fired_by_group[gid]
        if group.exclusive and len(members) > 1:
            raise GroupViolation(trace.profile.key, gid, members, "exclusive")
        if group.required and not members:
            raise GroupViolation(trace.profile.key, gid, [], "required")


def _sort_key(c: dict) -> tuple[int, str]:
    # largest effect first, then by id, so that file order never shows through
    return (-c["points"], c["rule"])


def _result(target: ScoreDef, contributions: list[dict]) -> tuple[dict, ScoreBounded]:
    contributions.sort(key=_sort_key)
    raw = target.base + sum(c["points"] for c in contributions)
    score = min(HIGH, max(LOW, raw))
    result = {
        "score": score,
        "band": target.band(score),
        "base": target.base,
        "adjustment": score - raw,
        "contributions": contributions,
    }
    return result, ScoreBounded(target.id, raw, score)


def score(ruleset: RuleSet, trace: Trace) -> tuple[ProfileResult, Trace]:
    """The profile's result, and its trace completed with the bounding events."""
    check_groups(ruleset, trace)
    contributions: dict[str, list[dict]] = {t: [] for t in ruleset.targets}
    for event in trace.fired:
        rule = event.rule
        source = {"id": rule.source.id, "section": rule.source.section}
        for target, points in rule.points:
            contributions[target].append({
                "rule": rule.id, "title": rule.title, "points": points,
                "dimension": rule.dimension, "rationale": rule.rationale,
                "matched": event.matches, "source": source,
            })
    results: dict[str, dict] = {}
    bounded: list[ScoreBounded] = []
    for target in ruleset.targets.values():
        results[target.id], event = _result(target, contributions[target.id])
        bounded.append(event)
    profile = trace.profile
    # one validation of the whole result: pydantic-core builds the nested models at once,
    # far faster than constructing each contribution and match in Python
    result = ProfileResult.model_validate({
        "profile": profile.key,
        "country": profile.country,
        "name": profile.name,
        "as_of": profile.as_of,
        "deterrence": results["deterrence"],
        "alignment_risk": results["alignment_risk"],
        "dimensions": {d: results[d] for d in ruleset.dimensions},
    })
    return result, trace.with_events(tuple(bounded))
