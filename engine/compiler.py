"""Compiling a :class:`~engine.rules.RuleSet` into durable_rules ruleset data.

The output is plain data for ``durable.engine.Host.set_rulesets`` (no
``durable.lang`` globals). What the compiler does about durable_rules' traps
(see ``docs/durable-rules.md``):

* no ``$in`` and no expression-level ``$not`` in durable_rules: rules are
  compiled from the negation normal form, ``in`` becomes ``$or`` of equalities
  and ``not in`` an ``$and`` of ``$neq``;
* a lone ``$nex`` matches the session's own state object and loops: every
  rule is guarded by the discriminator ``kind == "profile"``;
* deleting the first session of a ruleset segfaults when no action fired in
  it: a sentinel rule fires on every profile;
* dots in a key are read as a path: the fact is flat, ``section__field``.

Numbers never carry an exponent (durable_rules rejects ``1e-05``): rule values
are checked against the profile model's ranges and two-decimal precision.
"""

from __future__ import annotations

from typing import Any

from .conditions import All, AnyOf, Cmp, Condition
from .rules import RuleSet
from .schema import fact_key

SENTINEL = "_sentinel"
DISCRIMINATOR = ("kind", "profile")

_ORDERING = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}


def compile_condition(nnf: Condition) -> dict[str, Any]:
    if isinstance(nnf, All):
        return {"$and": [compile_condition(c) for c in nnf.items]}
    if isinstance(nnf, AnyOf):
        return {"$or": [compile_condition(c) for c in nnf.items]}
    if not isinstance(nnf, Cmp):
        raise TypeError("compile_condition needs the negation normal form")
    key = fact_key(nnf.field)
    if nnf.op == "eq":
        return {key: nnf.value}
    if nnf.op in _ORDERING:
        return {_ORDERING[nnf.op]: {key: nnf.value}}
    if nnf.op == "in":
        alternatives = [{key: v} for v in nnf.value]
        return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}
    if nnf.op == "not_in":
        excluded = [{"$neq": {key: v}} for v in nnf.value]
        return excluded[0] if len(excluded) == 1 else {"$and": excluded}
    if nnf.op == "present":
        return {"$ex": {key: 1}}
    if nnf.op == "absent":
        return {"$nex": {key: 1}}
    raise ValueError(f"unknown operator {nnf.op!r}")


def guarded(expr: dict[str, Any] | None) -> dict[str, Any]:
    discriminator = {DISCRIMINATOR[0]: DISCRIMINATOR[1]}
    if expr is None:
        return {"all": [{"m": discriminator}]}
    return {"all": [{"m": {"$and": [discriminator, expr]}}]}


def compile_ruleset(ruleset: RuleSet) -> dict[str, dict[str, Any]]:
    """durable_rules definitions by rule id, without their ``run`` actions."""
    out = {SENTINEL: guarded(None)}
    for rule in ruleset.rules:
        out[rule.id] = guarded(compile_condition(rule.nnf))
    return out
