"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .errors import GroupViolation
from .results import Contribution, ProfileResult, ScoreResult, SourceOut
from .rules import RuleSet, ScoreDef
from .trace import ScoreBounded, Trace

LOW, HIGH = 0, 100


def _sort_key(points: int, rule_id: str) -> tuple[int, str]:
    # largest effect first, then by id, so that the order of the rule files never shows through
    return (-points, rule_id)


def _result(target: ScoreDef, ranked: list[tuple[int, Contribution]], raw: int) -> ScoreResult:
    """A target's score from its contributions, each with its rank in the target's order,
    and their points added to the base."""
    ranked.sort()  # ranks are distinct within a target: contributions are never compared
    score = min(HIGH, max(LOW, raw))
    return ScoreResult(score, target.band(score), target.base, score - raw,
                       tuple([c for _, c in ranked]), raw)


class Scorer:
    """Scores traces of one rule set; what each rule adds to a target is worked out once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._targets = tuple(ruleset.targets.values())
        self._dimensions = tuple(ruleset.dimensions)
        members: dict[str, set[str]] = {gid: set() for gid in ruleset.groups}
        for rule in ruleset.rules:
            if rule.group is not None:
                members[rule.group].add(rule.id)
        self._group_checks = tuple((gid, frozenset(members[gid]), g.exclusive, g.required)
                                   for gid, g in sorted(ruleset.groups.items())
                                   if g.exclusive or g.required)
        # a rule belongs to one group at most: a profile's firings are tallied per checked
        # group, and only a tally that breaks a group sends it through the full check
        checked = {gid for gid, *_ in self._group_checks}
        self._group_of = {rule.id: rule.group for rule in ruleset.rules if rule.group in checked}
        self._exclusive = frozenset(gid for gid, _, exclusive, _ in self._group_checks
                                    if exclusive)
        self._required = frozenset(gid for gid, _, _, required in self._group_checks
                                   if required)
        # every contribution's place in its target's order, fixed by the rules alone, so
        # that scoring sorts plain integers
        entries: dict[str, list[tuple[Any, str]]] = {t: [] for t in ruleset.targets}
        for rule in ruleset.rules:
            for target, points in rule.points:
                entries[target].append((_sort_key(points, rule.id), rule.id))
        rank = {(rule_id, target): i
                for target, listed in entries.items()
                for i, (_, rule_id) in enumerate(sorted(listed, key=itemgetter(0)))}
        # per rule, for every target it feeds: (target, rank, the contribution's fields before
        # its matched facts, its source); only the matched facts differ between profiles
        self._parts: dict[str, tuple[tuple[str, int, tuple[Any, ...], SourceOut, str], ...]] = {}
        for rule in ruleset.rules:
            source = SourceOut(rule.source.id, rule.source.section)
            self._parts[rule.id] = tuple(
                (target, rank[rule.id, target],
                 (rule.id, rule.title, points, rule.dimension, rule.rationale), source,
                 rule.support)
                for target, points in rule.points
            )

    def check_groups(self, trace: Trace) -> None:
        """Raise :class:`GroupViolation` for the first group, by id, whose firing breaks its kind."""
        group_of = self._group_of
        tally: dict[str, int] = {}
        for event in trace.fired:
            gid = group_of.get(event.rule.id)
            if gid is not None:
                tally[gid] = tally.get(gid, 0) + 1
        if self._required <= tally.keys() and not any(
                n > 1 and gid in self._exclusive for gid, n in tally.items()):
            return
        fired = {event.rule.id for event in trace.fired}
        for gid, members, exclusive, required in self._group_checks:
            hits = members & fired
            if exclusive and len(hits) > 1:
                raise GroupViolation(trace.profile.key, gid, sorted(hits), "exclusive")
            if required and not hits:
                raise GroupViolation(trace.profile.key, gid, [], "required")

    def score(self, trace: Trace) -> ProfileResult:
        self.check_groups(trace)
        ranked: dict[str, list[tuple[int, Contribution]]] = {t.id: [] for t in self._targets}
        raw = {t.id: t.base for t in self._targets}
        parts = self._parts
        for event in trace.fired:
            matched = event.matches  # one tuple, shared by every target the rule feeds
            for target, rank, head, source, support in parts[event.rule.id]:
                ranked[target].append((rank, Contribution(*head, matched, source, support)))
                raw[target] += head[2]  # the points
        results = {t.id: _result(t, ranked[t.id], raw[t.id]) for t in self._targets}
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
