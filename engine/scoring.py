"""From a trace to scores: base plus the points of the rules that fired.

Every score and dimension is bounded to 0..100, and the bounding is shown, not
hidden: ``score == base + sum(points) + adjustment``. Bands are 20 points wide.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .errors import GroupViolation
from .results import Contribution
from .results import ProfileResult
from .results import ScoreResult
from .results import SourceOut
from .rules import RuleSet
from .rules import ScoreDef
from .trace import RuleFired
from .trace import ScoreBounded
from .trace import Trace

LOW, HIGH = 0, 100

# what a fired rule's event adds up to for a scorer: the scorer, the rule's checked group,
# its contributions
_Made = tuple["Scorer", "str | None", tuple[tuple[int, tuple[int, Contribution]], ...]]


def _sort_key(points: int, rule_id: str) -> tuple[int, str]:
    # largest effect first, then by id, so that the order of the rule files never shows through
    return (-points, rule_id)


def _result(target: ScoreDef, ranked: list[tuple[int, Contribution]]) -> ScoreResult:
    """A target's score from its contributions, each with its rank in the target's order,
    and their points added to the base."""
    ranked.sort()  # ranks are distinct within a target: contributions are never compared
    # one plain loop sums the points and lists the contributions: it reads a slot in one
    # specialised instruction, where sum(map(attrgetter)) and tuple(map(itemgetter)) made
    # a generic call per contribution (1.3k and 1.4k instructions more a target)
    raw = target.base
    listed = []
    for _, contribution in ranked:
        raw += contribution.points
        listed.append(contribution)
    contributions = tuple(listed)
    score = HIGH if raw > HIGH else LOW if raw < LOW else raw
    bands = target.band_by_score
    band = bands[score] if 0 <= score < len(bands) else target.band(score)
    return ScoreResult(score, band, target.base, score - raw, contributions, raw)


class Scorer:
    """Scores traces of one rule set; what each rule adds to a target is worked out once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._targets = tuple(ruleset.targets.values())
        self._dimensions = tuple(ruleset.dimensions)
        self._ruleset = ruleset
        checks = ruleset.group_checks
        # a rule belongs to one group at most: a profile's firings are tallied per checked
        # group, and only a tally that breaks a group sends it through the full check
        self._group_of = {rid: c.id for c in checks for rid in c.members}
        self._exclusive = frozenset(c.id for c in checks if c.exclusive)
        self._required = frozenset(c.id for c in checks if c.required)
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
        self._parts: dict[str, tuple[tuple[str, int, tuple[str, str, int, str, str], SourceOut,
                                          str], ...]] = {}
        for rule in ruleset.rules:
            source = SourceOut(rule.source.id, rule.source.section)
            self._parts[rule.id] = tuple(
                (target, rank[rule.id, target],
                 (rule.id, rule.title, points, rule.dimension, rule.rationale), source,
                 rule.support)
                for target, points in rule.points
            )
        self._slot = {t.id: i for i, t in enumerate(self._targets)}
        self._headline = (self._slot["deterrence"], self._slot["alignment_risk"])
        # the dimensions' results picked from the targets' in C (a comprehension was a
        # frame per profile); itemgetter gives a tuple only for two items or more, so it
        # is padded, and zip stops at the names
        self._dimension_names = tuple(self._dimensions)
        self._dimension_results = itemgetter(*(self._slot[d] for d in self._dimensions), 0, 0)

    def _contributions(self, event: RuleFired) -> _Made:
        """This scorer, the event's checked group (or None), and (target slot, (rank,
        contribution)) for every target its rule feeds; kept with the event.

        The tracer shares a fired rule's event between the profiles that match it alike,
        so its contributions are shared too. Kept on the event, they are one slot read
        away; kept in a dict by the event's identity and checked against the event on
        every read, they cost a tenth of scoring's instructions more."""
        matched = event.matches  # one tuple, shared by every target the rule feeds
        rule_id = event.rule.id
        entries = tuple((self._slot[target], (rank, Contribution(*head, matched, source, support)))
                        for target, rank, head, source, support in self._parts[rule_id])
        made = event.scored = (self, self._group_of.get(rule_id), entries)
        return made

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
        violation = self._ruleset.group_violation(
            frozenset(event.rule.id for event in trace.fired))
        if violation is not None:
            gid, hits, kind = violation
            raise GroupViolation(trace.profile.key, gid, hits, kind)

    def score(self, trace: Trace) -> ProfileResult:
        targets = self._targets
        ranked: list[list[tuple[int, Contribution]]] = [[] for _ in targets]
        exclusive = self._exclusive
        tally: dict[str, int] = {}
        broken = False
        for event in trace.fired:
            hit = event.scored
            if hit is None or hit[0] is not self:
                hit = self._contributions(event)
            _, gid, entries = hit
            if gid is not None:
                n = tally[gid] = tally.get(gid, 0) + 1
                broken = broken or (n > 1 and gid in exclusive)
            for slot, entry in entries:
                ranked[slot].append(entry)
        # the groups' tally, as check_groups takes it: only a broken one is looked at again
        if broken or not self._required <= tally.keys():
            self.check_groups(trace)
        results = list(map(_result, targets, ranked))
        profile = trace.profile
        deterrence, alignment_risk = self._headline
        return ProfileResult(
            profile.key, profile.country, profile.name, profile.as_of,
            results[deterrence], results[alignment_risk],
            dict(zip(self._dimension_names, self._dimension_results(results), strict=False)),
        )

    def bounding(self, result: ProfileResult) -> tuple[ScoreBounded, ...]:
        """The trace events of the bounding to 0..100, read back from the result: only
        explanations ask for them, so plain scoring never builds them."""
        events = []
        for target in self._targets:
            s = result.target(target.id)
            events.append(ScoreBounded(target.id, s.score - s.adjustment, s.score))
        return tuple(events)
