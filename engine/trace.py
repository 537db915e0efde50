"""Typed trace events of one profile's evaluation.

The evaluator decides which rules fire; :class:`Tracer` records that decision as
events, each with the facts that support it. Scoring consumes the events and
explanations only filter and render them: no view recomputes a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from pydantic import TypeAdapter

from .conditions import SYMBOLS, Cmp, leaf_matcher
from .errors import DurableEngineError
from .profile import Profile
from .results import Match
from .rules import Rule, RuleSet


@dataclass(frozen=True)
class RuleFired:
    rule: Rule
    matches: tuple[Match, ...]


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

    @cached_property
    def fired(self) -> tuple[RuleFired, ...]:
        return tuple(e for e in self.events if type(e) is RuleFired)

    @property
    def not_fired(self) -> tuple[RuleNotFired, ...]:
        return tuple(e for e in self.events if isinstance(e, RuleNotFired))

    def with_events(self, extra: tuple[Event, ...]) -> Trace:
        return Trace(self.profile, self.fact, self.evaluator, self.events + extra)

    def unmet(self, event: RuleNotFired) -> tuple[Match, ...]:
        """The comparisons of a rule that were false for this profile (for explanations)."""
        leaves = [lf for lf in _leaves(event.rule.nnf) if not lf.holds(self.fact)]
        return tuple(Match(**_match(_Leaf.of(lf), self.profile, self.fact)) for lf in leaves)


class _Leaf(NamedTuple):
    """What a comparison contributes to a match, worked out from the rule alone."""

    field: str
    section: str | None  # None for identity fields such as region, which carry no provenance
    name: str
    op: str
    threshold: Any

    @classmethod
    def of(cls, leaf: Cmp) -> _Leaf:
        section, _, name = leaf.field.rpartition(".")
        threshold = list(leaf.value) if isinstance(leaf.value, tuple) else leaf.value
        return cls(leaf.field, section or None, name, SYMBOLS[leaf.op], threshold)


def _match(leaf: _Leaf, profile: Profile, fact: dict[str, Any]) -> dict[str, Any]:
    """The fields of a :class:`Match`: the rule's test, the profile's value and its provenance."""
    known = getattr(getattr(profile, leaf.section), leaf.name) if leaf.section else None
    if known is None:
        source = confidence = None
    else:
        source, confidence = known.source, known.confidence
    return {
        "field": leaf.field,
        "op": leaf.op,
        "threshold": leaf.threshold,
        "value": fact.get(leaf.field),
        "source": source,
        "confidence": None if confidence is None else confidence.value,
    }


def _leaves(cond) -> list[Cmp]:
    if isinstance(cond, Cmp):
        return [cond]
    return [leaf for c in cond.items for leaf in _leaves(c)]


# One validation for all the matches of a profile: pydantic-core builds the Match
# objects in a single call, and every target a rule feeds shares them.
_MATCHES = TypeAdapter(list[Match])


class Tracer:
    """Builds the traces of one rule set; what the rules alone determine is worked out once."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset.rules
        self._matchers = tuple(leaf_matcher(rule.nnf, _Leaf.of) for rule in ruleset.rules)
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
        order = range(len(rules)) if full else sorted(self._index[r] for r in fired)
        events: list[Any] = []
        firings: list[tuple[int, Rule, int]] = []  # (event index, rule, first match)
        matches: list[dict[str, Any]] = []
        for i in order:
            rule = rules[i]
            if rule.id not in fired:
                events.append(RuleNotFired(rule))
                continue
            leaves = matchers[i](fact)
            if not leaves:
                raise DurableEngineError(
                    f"{profile.key}: the {evaluator} evaluator fired rule '{rule.id}' "
                    "although its condition does not hold"
                )
            firings.append((len(events), rule, len(matches)))
            events.append(None)
            matches += [_match(leaf, profile, fact) for leaf in leaves]
        built = _MATCHES.validate_python(matches)
        ends = [start for _, _, start in firings[1:]] + [len(built)]
        for (at, rule, start), end in zip(firings, ends):
            events[at] = RuleFired(rule, tuple(built[start:end]))
        return Trace(profile, fact, evaluator, tuple(events))
