"""The condition language of rules, and its one normal form.

A condition in a rule file is a comparison or a combination::

    {field: commitment.tier, equals: bilateral-treaty}
    {field: dependence.arms_russia_share, gte: 40}
    {field: sanctions.caatsa_status, in: [threatened, imposed]}
    {field: dependence.arms_china_share, present: false}
    {all: [...]}   {any: [...]}   {not: {...}}

Meaning, with unknown (absent) fields made explicit:

* a comparison (``equals``, ``not_equals``, ``lt`` ... ``in``) on an unknown
  field is false: ``not_equals`` asks "known and different";
* ``present: true`` holds when the field is known, ``present: false`` when not;
* ``not`` is the exact complement: ``not {equals: x}`` holds when the field is
  unknown or differs.

Every consumer (the durable_rules compiler, the reference evaluator, the
explanation) works on the negation normal form built here, in which ``not``
has been pushed down to the comparisons, because durable_rules has no
expression-level negation and no ``in``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Operators as written in rule files -> internal names.
OPERATORS = {
    "equals": "eq",
    "not_equals": "ne",
    "lt": "lt",
    "lte": "le",
    "gt": "gt",
    "gte": "ge",
    "in": "in",
    "present": "present",
}
ORDERING = {"lt", "le", "gt", "ge"}

# How each normal-form operator reads in explanations.
SYMBOLS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
    "in": "in",
    "not_in": "not in",
    "present": "is known",
    "absent": "is unknown",
}

_NEGATED = {
    "eq": "ne",
    "ne": "eq",
    "lt": "ge",
    "le": "gt",
    "gt": "le",
    "ge": "lt",
    "in": "not_in",
    "not_in": "in",
}


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str  # eq ne lt le gt ge in not_in present absent
    value: Any = None  # a tuple for in / not_in; None for present / absent

    # the field name interned, as the profile fields' paths are: facts are dicts keyed by
    # those paths, and a key found by identity is not compared (the rule cache's unpickled
    # names are fresh strings, hence __setstate__)
    def __post_init__(self) -> None:
        object.__setattr__(self, "field", sys.intern(self.field))

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, field=sys.intern(state["field"]))

    def holds(self, fact: dict[str, Any]) -> bool:
        return _TESTS[self.op](self.field, self.value)(fact)


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Cmp | All | AnyOf | Not


_MISSING = object()

# Each operator as a test built for one field and one value, so that a comparison
# pays for the dispatch on its operator once, not at every call.
_TESTS: dict[str, Callable[[str, Any], Callable[[dict[str, Any]], bool]]] = {
    "eq": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x == v,
    "ne": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x != v,
    "lt": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x < v,
    "le": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x <= v,
    "gt": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x > v,
    "ge": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x >= v,
    "in": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x in v,
    "not_in": lambda k, v: lambda f: (x := f.get(k, _MISSING)) is not _MISSING and x not in v,
    "present": lambda k, v: lambda f: k in f,
    "absent": lambda k, v: lambda f: k not in f,
}


def normalize(cond: Condition) -> Condition:
    """Negation normal form: no ``Not``, nested ``All``/``AnyOf`` flattened."""
    return _nnf(cond, negate=False)


def _nnf(cond: Condition, negate: bool) -> Condition:
    if isinstance(cond, Not):
        return _nnf(cond.item, not negate)
    if isinstance(cond, (All, AnyOf)):
        items = tuple(_nnf(c, negate) for c in cond.items)
        conj = isinstance(cond, All) != negate  # De Morgan swaps all and any
        return _flat(All if conj else AnyOf, items)
    if not negate:
        return cond
    if cond.op == "present":
        return Cmp(cond.field, "absent")
    if cond.op == "absent":
        return Cmp(cond.field, "present")
    return AnyOf((Cmp(cond.field, "absent"), Cmp(cond.field, _NEGATED[cond.op], cond.value)))


def _flat(kind: type[All] | type[AnyOf], items: tuple[Condition, ...]) -> Condition:
    out: list[Condition] = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return out[0] if len(out) == 1 else kind(tuple(out))


def holds(cond: Condition, fact: dict[str, Any]) -> bool:
    """Direct evaluation of a condition (normal form or not); slow: the tests check the
    evaluators and the trace against it."""
    if isinstance(cond, Cmp):
        return cond.holds(fact)
    if isinstance(cond, All):
        return all(holds(c, fact) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(c, fact) for c in cond.items)
    return not holds(cond.item, fact)


def matched_leaves(nnf: Condition, fact: dict[str, Any]) -> list[Cmp]:
    """The comparisons that make a (normal-form) condition true for ``fact``.

    Under ``any`` every true branch counts: the explanation names all the facts
    that support the firing, not an arbitrary one.
    """
    if isinstance(nnf, Cmp):
        return [nnf] if nnf.holds(fact) else []
    if isinstance(nnf, All):
        parts = [matched_leaves(c, fact) for c in nnf.items]
        return [leaf for part in parts for leaf in part] if all(parts) else []
    if isinstance(nnf, AnyOf):
        return [leaf for c in nnf.items for leaf in matched_leaves(c, fact)]
    raise TypeError("matched_leaves needs the normal form")


def leaf_matcher(
    nnf: Condition, payload: Callable[[Cmp], Any] = lambda leaf: leaf
) -> Callable[[dict[str, Any]], list[Any]]:
    """:func:`matched_leaves` for one condition, built once: a closure per node.

    Explanations run it on every fired rule of every profile, so the tree is
    walked when the rule set loads, not per profile. Each matched comparison is
    reported as ``payload(leaf)``, worked out here once (the leaf itself by default).
    """
    if isinstance(nnf, Cmp):
        test, found = _TESTS[nnf.op](nnf.field, nnf.value), [payload(nnf)]
        return lambda fact: found if test(fact) else []
    if not isinstance(nnf, (All, AnyOf)):
        raise TypeError("leaf_matcher needs the normal form")
    parts = tuple(leaf_matcher(c, payload) for c in nnf.items)
    if isinstance(nnf, AnyOf):
        return lambda fact: [leaf for part in parts for leaf in part(fact)]

    def every(fact: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for part in parts:
            found = part(fact)
            if not found:
                return []
            out += found
        return out

    return every


def comparisons(cond: Condition) -> list[Cmp]:
    """Every comparison in a condition, in order, those under ``not`` included."""
    if isinstance(cond, Cmp):
        return [cond]
    if isinstance(cond, Not):
        return comparisons(cond.item)
    return [leaf for c in cond.items for leaf in comparisons(c)]


def fields_of(cond: Condition) -> set[str]:
    return {c.field for c in comparisons(cond)}


def to_data(cond: Condition) -> Any:
    """The rule-file form of a condition (canonical; used for digests and display)."""
    if isinstance(cond, All):
        return {"all": [to_data(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"any": [to_data(c) for c in cond.items]}
    if isinstance(cond, Not):
        return {"not": to_data(cond.item)}
    if cond.op in ("present", "absent"):
        return {"field": cond.field, "present": cond.op == "present"}
    if cond.op == "not_in":
        return {"not": {"field": cond.field, "in": list(cond.value)}}
    name = next(k for k, v in OPERATORS.items() if v == cond.op)
    value = list(cond.value) if cond.op == "in" else cond.value
    return {"field": cond.field, name: value}
