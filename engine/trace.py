"""Typed trace events of one profile's evaluation.

The evaluator decides which rules fire; :func:`trace` records that decision as
events, each with the facts that support it. Scoring consumes the events and
explanations only filter and render them: no view recomputes a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .conditions import SYMBOLS, Cmp, matched_leaves
from .errors import DurableEngineError
from .profile import Profile
from .results import Match
from .rules import Rule, RuleSet
from .schema import fact_of


@dataclass(frozen=True)
class RuleFired:
    rule: Rule
    matches: tuple[dict[str, Any], ...]  # the fields of results.Match


@dataclass(frozen=True)
class RuleNotFired:
    rule: Rule


@dataclass(frozen=True)
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

    @property
    def fired(self) -> tuple[RuleFired, ...]:
        return tuple(e for e in self.events if isinstance(e, RuleFired))

    @property
    def not_fired(self) -> tuple[RuleNotFired, ...]:
        return tuple(e for e in self.events if isinstance(e, RuleNotFired))

    def with_events(self, extra: tuple[Event, ...]) -> Trace:
        return Trace(self.profile, self.fact, self.evaluator, self.events + extra)

    def unmet(self, event: RuleNotFired) -> tuple[Match, ...]:
        """The comparisons of a rule that were false for this profile (for explanations)."""
        leaves = [lf for lf in _leaves(event.rule.nnf) if not lf.holds(self.fact)]
        return tuple(Match(**to_match(lf, self.profile, self.fact)) for lf in leaves)


def to_match(leaf: Cmp, profile: Profile, fact: dict[str, Any]) -> dict[str, Any]:
    known = fact_of(profile, leaf.field)
    threshold = list(leaf.value) if isinstance(leaf.value, tuple) else leaf.value
    confidence = known.confidence if known is not None else None
    return {
        "field": leaf.field,
        "op": SYMBOLS[leaf.op],
        "threshold": threshold,
        "value": fact.get(leaf.field),
        "source": known.source if known is not None else None,
        "confidence": confidence.value if isinstance(confidence, Enum) else confidence,
    }


def _leaves(cond) -> list[Cmp]:
    if isinstance(cond, Cmp):
        return [cond]
    return [leaf for c in cond.items for leaf in _leaves(c)]


def trace(
    ruleset: RuleSet,
    profile: Profile,
    fact: dict[str, Any],
    fired: frozenset[str],
    evaluator: str,
    full: bool = True,
) -> Trace:
    events: list[Event] = []
    for rule in ruleset.rules:
        if rule.id in fired:
            leaves = matched_leaves(rule.nnf, fact)
            if not leaves:
                raise DurableEngineError(
                    f"{profile.key}: the {evaluator} evaluator fired rule '{rule.id}' although "
                    "its condition does not hold"
                )
            events.append(RuleFired(rule, tuple(to_match(lf, profile, fact) for lf in leaves)))
        elif full:
            events.append(RuleNotFired(rule))
    return Trace(profile, fact, evaluator, tuple(events))
