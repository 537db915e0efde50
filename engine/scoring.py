"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from .errors import GroupViolation
from .results import Contribution, ProfileResult, ScoreResult, SourceOut
from .rules import RuleSet, ScoreDef
from .trace import RuleFired, ScoreBounded, Trace

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


def _contribution(event: RuleFired, points: int) -> Contribution:
    rule = event.rule
    return Contribution(
        rule=rule.id,
        title=rule.title,
        points=points,
        dimension=rule.dimension,
        rationale=rule.rationale,
        matched=list(event.matches),
        source=SourceOut(id=rule.source.id, section=rule.source.section),
    )


def _sort_key(c: Contribution) -> tuple[int, str]:
    # largest effect first, then by id, so that file order never shows through
    return (-c.points, c.rule)


def _score(target: ScoreDef, fired: tuple[RuleFired, ...]) -> tuple[ScoreResult, ScoreBounded]:
    contributions = [
        _contribution(e, e.rule.points_for(target.id))
        for e in fired
        if e.rule.points_for(target.id)
    ]
    contributions.sort(key=_sort_key)
    raw = target.base + sum(c.points for c in contributions)
    score = min(HIGH, max(LOW, raw))
    result = ScoreResult(
        score=score,
        band=target.band(score),
        base=target.base,
        adjustment=score - raw,
        contributions=contributions,
    )
    return result, ScoreBounded(target.id, raw, score)


def score(ruleset: RuleSet, trace: Trace) -> tuple[ProfileResult, Trace]:
    """The profile's result, and its trace completed with the bounding events."""
    check_groups(ruleset, trace)
    fired = trace.fired
    results: dict[str, ScoreResult] = {}
    bounded: list[ScoreBounded] = []
    for target in ruleset.targets.values():
        results[target.id], event = _score(target, fired)
        bounded.append(event)
    profile = trace.profile
    result = ProfileResult(
        profile=profile.key,
        country=profile.country,
        name=profile.name,
        as_of=profile.as_of,
        deterrence=results["deterrence"],
        alignment_risk=results["alignment_risk"],
        dimensions={d: results[d] for d in ruleset.dimensions},
    )
    return result, trace.with_events(tuple(bounded))
