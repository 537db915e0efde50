"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from .errors import GroupViolation
from .results import Contribution, ProfileResult, ScoreResult, SourceOut
from .rules import RuleSet, ScoreDef
from .trace import ScoreBounded, Trace

LOW, HIGH = 0, 100


_sort_key = attrgetter("points")  # descending: the largest effect first


def _result(target: ScoreDef, contributions: list[Contribution]) -> ScoreResult:
    # contributions arrive in rule-id order and the sort is stable (reversed too): equal
    # effects stay in id order, so the order of the rule files never shows through
    contributions.sort(key=_sort_key, reverse=True)
    raw = target.base
    for c in contributions:
        raw += c.points
    score = min(HIGH, max(LOW, raw))
    return ScoreResult(score, target.band(score), target.base, score - raw, tuple(contributions))


class Scorer:
    """Scores traces of one rule set; what each rule adds to a target is worked out once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._targets = tuple(ruleset.targets.values())
        self._dimensions = tuple(ruleset.dimensions)
        members: dict[str, set[str]] = {gid: set() for gid in ruleset.groups}
        for rule in ruleset.rules:
            if rule.group is not None:
                members[rule.group].add(rule.id)
        self._group_checks = tuple((gid, frozenset(members[gid]), g.exclusive, g.required)
                                   for gid, g in sorted(ruleset.groups.items())
                                   if g.exclusive or g.required)
        # per rule, for every target it feeds: (target, the contribution's fields before
        # its matched facts, its source); only the matched facts differ between profiles
        self._parts: dict[str, tuple[tuple[str, tuple[Any, ...], SourceOut], ...]] = {}
        for rule in ruleset.rules:
            source = SourceOut(rule.source.id, rule.source.section)
            self._parts[rule.id] = tuple(
                (target, (rule.id, rule.title, points, rule.dimension, rule.rationale), source)
                for target, points in rule.points
            )

    def check_groups(self, trace: Trace) -> None:
        """Raise :class:`GroupViolation` for the first group, by id, whose firing breaks its kind."""
        fired = {event.rule.id for event in trace.fired}
        for gid, members, exclusive, required in self._group_checks:
            hits = members & fired
            if exclusive and len(hits) > 1:
                raise GroupViolation(trace.profile.key, gid, sorted(hits), "exclusive")
            if required and not hits:
                raise GroupViolation(trace.profile.key, gid, [], "required")

    def score(self, trace: Trace) -> ProfileResult:
        self.check_groups(trace)
        contributions: dict[str, list[Contribution]] = {t.id: [] for t in self._targets}
        parts = self._parts
        for event in trace.fired:
            matched = event.matches  # one tuple, shared by every target the rule feeds
            for target, head, source in parts[event.rule.id]:
                contributions[target].append(Contribution(*head, matched, source))
        results = {t.id: _result(t, contributions[t.id]) for t in self._targets}
        profile = trace.profile
        return ProfileResult(
            profile.key, profile.country, profile.name, profile.as_of,
            results["deterrence"], results["alignment_risk"],
            {d: results[d] for d in self._dimensions},
        )

    def bounding(self, result: ProfileResult) -> tuple[ScoreBounded, ...]:
        """The trace events of the bounding to 0..100, read back from the result: only
        explanations ask for them, so plain scoring never builds them."""
        events = []
        for target in self._targets:
            s = result.target(target.id)
            events.append(ScoreBounded(target.id, s.score - s.adjustment, s.score))
        return tuple(events)
