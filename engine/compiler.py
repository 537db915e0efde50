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
  it (the ``Host`` path deletes a session per profile; the C core path none): a
  sentinel rule fires on every profile, and its firing shows that the profile
  was evaluated;
* dots in a key are read as a path: the fact is flat, its keys short
  (``fields.durable_key``: ``f`` and the field's number);
* string lengths are kept in 16 bits, so a text of 65,536 bytes or more compares
  as its length modulo 65,536: text reaches durable_rules as its SHA-256 digest,
  in rules and facts alike (text supports only equality, which digests keep);
* the network durable_rules builds has fixed tables (a 64-entry matching stack,
  512 hash slots under a node, ...) that it overflows into hangs, crashes and
  wrong answers: :class:`Network` models that network, :func:`rule_limits` finds a
  rule that overflows it alone (refused when rules load) and :func:`partition`
  splits a rule set into as many durable_rules rulesets as keep each within them.

Numbers never carry an exponent (durable_rules rejects ``1e-05``): rule values
are checked against the profile model's ranges and two-decimal precision.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .fields import durable_key
from .fields import field_specs
from .rules import Rule
from .rules import RuleSet

SENTINEL = "_sentinel"
DISCRIMINATOR = ("kind", "profile")

_ORDERING = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}


def text_token(value: str) -> str:
    """What durable_rules compares in place of a text: its digest, 64 characters long."""
    # surrogatepass: a YAML escape can put a lone surrogate in a text, which still has a digest
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def durable_value(path: str, value: Any) -> Any:
    return text_token(value) if field_specs()[path].kind == "text" else value


def compile_condition(nnf: Condition) -> dict[str, Any]:
    if isinstance(nnf, All):
        return {"$and": [compile_condition(c) for c in nnf.items]}
    if isinstance(nnf, AnyOf):
        return {"$or": [compile_condition(c) for c in nnf.items]}
    if not isinstance(nnf, Cmp):
        raise TypeError("compile_condition needs the negation normal form")
    key = durable_key(nnf.field)
    if nnf.op == "present":
        return {"$ex": {key: 1}}
    if nnf.op == "absent":
        return {"$nex": {key: 1}}
    if nnf.op == "in":
        alternatives = [{key: durable_value(nnf.field, v)} for v in nnf.value]
        return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}
    if nnf.op == "not_in":
        excluded = [{"$neq": {key: durable_value(nnf.field, v)}} for v in nnf.value]
        return excluded[0] if len(excluded) == 1 else {"$and": excluded}
    if nnf.op == "eq":
        return {key: durable_value(nnf.field, nnf.value)}
    if nnf.op in _ORDERING:
        return {_ORDERING[nnf.op]: {key: durable_value(nnf.field, nnf.value)}}
    raise ValueError(f"unknown operator {nnf.op!r}")


def guarded(expr: dict[str, Any] | None) -> dict[str, Any]:
    discriminator = {DISCRIMINATOR[0]: DISCRIMINATOR[1]}
    if expr is None:
        return {"all": [{"m": discriminator}]}
    # the rule's own conjunction joins the guard's: each $and costs one of the 15 groups
    # durable_rules allows in a rule
    terms = expr["$and"] if set(expr) == {"$and"} else [expr]
    return {"all": [{"m": {"$and": [discriminator, *terms]}}]}


def compile_rule(rule: Rule) -> dict[str, Any]:
    return guarded(compile_condition(rule.nnf))


def compile_ruleset(ruleset: RuleSet) -> dict[str, dict[str, Any]]:
    """durable_rules definitions by rule id, without their ``run`` actions."""
    out = {SENTINEL: guarded(None)}
    for rule in ruleset.rules:
        out[rule.id] = compile_rule(rule)
    return out
