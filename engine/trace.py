"""Typed trace events of one profile's evaluation.

The evaluator decides which rules fire; :class:`Tracer` records that decision as
events, each with the facts that support it. Scoring consumes the events and
explanations only filter and render them: no view recomputes a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any, Callable

from .conditions import SYMBOLS, All, AnyOf, Cmp, Condition, leaf_matcher
from .errors import DurableEngineError
from .profile import Profile
from .results import Match
from .rules import Rule, RuleSet


@dataclass(slots=True)
class RuleFired:
    rule: Rule
    matches: tuple[Match, ...]


@dataclass(slots=True)
class RuleNotFired:
    rule: Rule


@dataclass(slots=True)
class ScoreBounded:
    target: str
    raw: int
    score: int


Event = RuleFired | RuleNotFired | ScoreBounded


@dataclass(frozen=True)
class Trace:
    profile: Profile
    fact: dict[str, Any]
    evaluator: str
    events: tuple[Event, ...]

    @cached_property
    def fired(self) -> tuple[RuleFired, ...]:
        return tuple(e for e in self.events if type(e) is RuleFired)

    @property
    def not_fired(self) -> tuple[RuleNotFired, ...]:
        return tuple(e for e in self.events if isinstance(e, RuleNotFired))

    def with_events(self, extra: tuple[Event, ...]) -> Trace:
        return Trace(self.profile, self.fact, self.evaluator, self.events + extra)

    def unmet(self, event: RuleNotFired) -> tuple[Match, ...]:
        """The comparisons that kept a rule from firing for this profile (for explanations)."""
        leaves = unmet_leaves(event.rule.nnf, self.fact)
        return tuple(match_of(lf)(self.profile, self.fact) for lf in leaves)


def unmet_leaves(nnf: Condition, fact: dict[str, Any]) -> list[Cmp]:
    """The false comparisons that make a (normal-form) condition false, in rule order.

    Only the parts that failed count: a false comparison inside an ``any`` that holds
    (the "is unknown" half of a satisfied ``not``, say) did not keep the rule from firing.
    In an ``any`` that fails, an "is unknown" test on a field that another of its tests
    shows known says nothing more, and is left out.
    """
    if isinstance(nnf, Cmp):
        return [] if nnf.holds(fact) else [nnf]
    if isinstance(nnf, All):
        return [leaf for c in nnf.items for leaf in unmet_leaves(c, fact)]
    if not isinstance(nnf, AnyOf):
        raise TypeError("unmet_leaves needs the normal form")
    parts = [unmet_leaves(c, fact) for c in nnf.items]
    if not all(parts):  # one branch holds: the whole holds
        return []
    leaves = [leaf for part in parts for leaf in part]
    shown = {leaf.field for leaf in leaves if leaf.op != "absent"}
    return [leaf for leaf in leaves if leaf.op != "absent" or leaf.field not in shown]


Matcher = Callable[[Profile, dict[str, Any]], Match]


def match_of(leaf: Cmp) -> Matcher:
    """How a comparison reads as a :class:`Match`: the rule's test, the profile's value and
    where that value comes from. Everything the rule alone decides is bound here, once."""
    field, op, threshold = leaf.field, SYMBOLS[leaf.op], leaf.value
    if "." not in field:  # identity fields such as region carry no provenance
        return lambda profile, fact: Match(field, op, threshold, fact.get(field))
    provenance = attrgetter(field)  # section.name on the profile: the Fact, or None

    def match(profile: Profile, fact: dict[str, Any]) -> Match:
        known = provenance(profile)
        if known is None:
            return Match(field, op, threshold, None)
        confidence = known.confidence
        return Match(field, op, threshold, fact[field], known.source,
                     None if confidence is None else confidence.value)

    return match


class Tracer:
    """Builds the traces of one rule set; what the rules alone determine is worked out once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset.rules
        self._matchers = tuple(leaf_matcher(rule.nnf, match_of) for rule in ruleset.rules)
        self._index = {rule.id: i for i, rule in enumerate(ruleset.rules)}

    def trace(
        self,
        profile: Profile,
        fact: dict[str, Any],
        fired: frozenset[str],
        evaluator: str,
        full: bool = True,
    ) -> Trace:
        """The events of one evaluation, in rule order; ``full`` adds the rules that did not fire."""
        rules, matchers = self.rules, self._matchers
        events: list[Event] = []
        for i in range(len(rules)) if full else sorted(map(self._index.__getitem__, fired)):
            rule = rules[i]
            if full and rule.id not in fired:
                events.append(RuleNotFired(rule))
                continue
            leaves = matchers[i](fact)
            if not leaves:
                raise DurableEngineError(
                    f"{profile.key}: the {evaluator} evaluator fired rule '{rule.id}' "
                    "although its condition does not hold"
                )
            events.append(RuleFired(rule, tuple([match(profile, fact) for match in leaves])))
        return Trace(profile, fact, evaluator, tuple(events))
