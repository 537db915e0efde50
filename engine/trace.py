"""Typed trace events of one profile's evaluation.

The evaluator decides which rules fire; :class:`Tracer` records that decision as
events, each with the facts that support it. Scoring consumes the events and
explanations only filter and render them: no view recomputes a decision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any

from .conditions import SYMBOLS
from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .conditions import leaf_matcher
from .errors import DurableEngineError
from .profile import Profile
from .results import Match
from .rules import Rule
from .rules import RuleSet


@dataclass(slots=True)
class RuleFired:
    rule: Rule
    matches: tuple[Match, ...]
    # what a scorer made of this event (its contributions), kept with it: the tracer
    # shares an event between the profiles that match alike, so a scorer works it out
    # once; it holds the scorer, so that another scorer never takes it for its own
    scored: Any = dataclasses.field(default=None, compare=False, repr=False)


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


def _conjunctive(nnf: Condition) -> bool:
    return isinstance(nnf, Cmp) or (isinstance(nnf, All)
                                    and all(isinstance(c, Cmp) for c in nnf.items))


def _one_leaf(leaves: list[tuple[int, str, str | None, str, Cmp]] | None
              ) -> tuple[str, str | None, str, int] | None:
    """A plain condition's only comparison as the short path reads it: (field, section,
    name, leaf number); None for a condition of more than one, or not plain."""
    if leaves is None or len(leaves) != 1:
        return None
    no, field, section, name, _ = leaves[0]
    return field, section, name, no


_new_trace = object.__new__

# Entries kept in a tracer's cache of fired-rule events before it starts afresh: enough
# for the values a rule base's fields commonly take, a few megabytes at most.
CACHE_LIMIT = 8192


class Tracer:
    """Builds the traces of one rule set; what the rules alone determine is worked out once.

    Most profiles match a fired rule on the same values from the same sources, so the
    event of a fired rule (its matches) is kept under what it was built from, its
    matched comparisons and each one's value, the value's type (``1``, ``1.0`` and
    ``True`` are equal keys but print apart), source and confidence, and shared
    between the traces that build it alike. What an event says is never changed once
    built; a scorer only keeps its reading of it in ``scored``.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset.rules
        self._index = {rule.id: i for i, rule in enumerate(ruleset.rules)}
        self._not_fired = tuple(RuleNotFired(rule) for rule in ruleset.rules)
        leaves: list[tuple[int, str, str | None, str, Cmp]] = []

        def leaf(cmp: Cmp) -> tuple[int, str, str | None, str, Cmp]:
            # (number, field, its section or None for identity fields, its name, the test)
            section, dot, name = cmp.field.partition(".")
            leaves.append((len(leaves), cmp.field, section if dot else None, name, cmp))
            return leaves[-1]

        matchers, plain = [], []
        for rule in ruleset.rules:
            first = len(leaves)
            matchers.append(leaf_matcher(rule.nnf, leaf))
            # a comparison, or a conjunction of comparisons, that holds matches all its
            # leaves, in order
            plain.append(leaves[first:] if _conjunctive(rule.nnf) else None)
        self._matchers = tuple(matchers)
        self._plain = tuple(plain)
        self._untested = (None,) * len(plain)
        # most rules are one comparison (76 of the 99 bundled): once checked, such a rule's
        # event is keyed by its number and its one field's value and provenance, read
        # without the loop over leaves (a fifth of a trace's instructions)
        self._single = tuple(_one_leaf(leaves) for leaves in plain)
        self._match = tuple(match_of(lf[4]) for lf in leaves)
        self._cache: dict[tuple[Any, ...], RuleFired] = {}

    def trace(
        self,
        profile: Profile,
        fact: dict[str, Any],
        fired: frozenset[str],
        evaluator: str,
        full: bool = True,
        checked: bool = False,
    ) -> Trace:
        """The events of one evaluation, in rule order; ``full`` adds the rules that did not fire.

        ``checked``: the reference evaluator found the same rules fired, so the conditions
        that are plain conjunctions hold and are not tested again.
        """
        rules, matchers, cache, match = self.rules, self._matchers, self._cache, self._match
        plain = self._plain if checked else self._untested
        single = self._single if checked else self._untested
        sections = profile.__dict__  # as flatten reads them: the models' instance dicts
        events: list[Event] = []
        for i in range(len(rules)) if full else sorted(map(self._index.__getitem__, fired)):
            rule = rules[i]
            if full and rule.id not in fired:
                events.append(self._not_fired[i])
                continue
            one = single[i]
            if one is not None:
                # keyed as below, less the leaf's number, which the rule's number implies
                field, section, name, no = one
                k: tuple[Any, ...]
                if section is None:
                    value = fact.get(field)
                    k = (i, type(value), value, None, None)
                else:
                    known = sections[section].__dict__[name]
                    if known is None:
                        k = (i, None, None, None, None)
                    else:
                        value = fact[field]
                        k = (i, type(value), value, known.source, known.confidence)
                event = cache.get(k)
                if event is None:
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    event = cache[k] = RuleFired(rule, (match[no](profile, fact),))
                events.append(event)
                continue
            leaves = plain[i] or matchers[i](fact)
            if not leaves:
                raise DurableEngineError(
                    f"{profile.key}: the {evaluator} evaluator fired rule '{rule.id}' "
                    "although its condition does not hold"
                )
            key: list[Any] = [i]
            for no, field, section, name, _ in leaves:
                if section is None:
                    value = fact.get(field)
                    key += (no, type(value), value, None, None)
                    continue
                known = sections[section].__dict__[name]
                if known is None:
                    key += (no, None, None, None, None)
                else:
                    value = fact[field]
                    key += (no, type(value), value, known.source, known.confidence)
            k = tuple(key)
            event = cache.get(k)
            if event is None:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                event = cache[k] = RuleFired(
                    rule, tuple([match[lf[0]](profile, fact) for lf in leaves]))
            events.append(event)
        if full:
            return Trace(profile, fact, evaluator, tuple(events))
        # every event is a fired rule's: the cached ``fired`` is the events themselves
        # (scoring reads it for every profile, and filtering cost 4 % of a score). Made
        # as a frozen dataclass is, its fields in its instance dict, in one update: its
        # __init__ sets each through object.__setattr__
        out = _new_trace(Trace)
        out.__dict__.update(profile=profile, fact=fact, evaluator=evaluator,
                            events=(made := tuple(events)), fired=made)
        return out
