"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .errors import GroupViolation
from .results import ProfileResult, SourceOut
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


_points = itemgetter("points")
_sort_key = _points  # descending: the largest effect first


def _result(target: ScoreDef, contributions: list[dict]) -> tuple[dict, ScoreBounded]:
    # largest effect first, then by rule id: contributions arrive in rule-id order and
    # the sort is stable (also reversed), so file order never shows through
    contributions.sort(key=_sort_key, reverse=True)
    raw = target.base + sum(map(_points, contributions))
    score = min(HIGH, max(LOW, raw))
    result = {
        "score": score,
        "band": target.band(score),
        "base": target.base,
        "adjustment": score - raw,
        "contributions": contributions,
    }
    return result, ScoreBounded(target.id, raw, score)


class Scorer:
    """Scores traces of one rule set; each rule's share of a contribution is built once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._targets = tuple(ruleset.targets.values())
        # (target, the contribution without its matched facts) for every target a rule feeds;
        # the SourceOut is a ready model that validation takes as it is
        self._parts: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {}
        for rule in ruleset.rules:
            source = SourceOut(id=rule.source.id, section=rule.source.section)
            self._parts[rule.id] = tuple(
                (target, {"rule": rule.id, "title": rule.title, "points": points,
                          "dimension": rule.dimension, "rationale": rule.rationale,
                          "source": source})
                for target, points in rule.points
            )

    def score(self, trace: Trace) -> tuple[ProfileResult, Trace]:
        """The profile's result, and its trace completed with the bounding events."""
        ruleset = self.ruleset
        check_groups(ruleset, trace)
        contributions: dict[str, list[dict]] = {t.id: [] for t in self._targets}
        parts = self._parts
        for event in trace.fired:
            matched = event.matches
            for target, part in parts[event.rule.id]:
                contributions[target].append({**part, "matched": matched})
        results: dict[str, dict] = {}
        bounded: list[ScoreBounded] = []
        for target in self._targets:
            results[target.id], event = _result(target, contributions[target.id])
            bounded.append(event)
        profile = trace.profile
        # one validation of the whole result: pydantic-core builds the nested models at once,
        # far faster than constructing each contribution in Python
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
