"""The reference evaluator: the rules' normal-form conditions as plain Python, generated
and compiled once per rule set.

It gives every condition the meaning durable_rules gives it (a comparison on an unknown
field is false, ``!=`` included) and is about twenty times faster: the engine runs it
beside durable_rules on every profile and refuses to score on any disagreement, and the
sweeps (sensitivity, counterfactuals, the benchmark's reference figure) run it alone.
No text from a rule file reaches the generated code: values are bound as constants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .rules import RuleSet

FlatFact = dict[str, Any]  # fields.flatten: known values by dotted path (not profile.Fact)

_MISSING = object()


class _Codegen:
    """One Python function testing every rule, built once per rule set.

    The generated source holds only names standing for indices into constant tuples
    (field keys, values, rule ids) and Python operators: no text from a rule file ever
    becomes code, so rules stay data. Each field is read from the fact once and
    each comparison is inline, without a function call per condition, which is
    what makes the reference evaluator fast enough for sweeps.
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[Any] = []

    def _key(self, k: str) -> str:
        if k not in self.keys:
            self.keys.append(k)
        return f"k{self.keys.index(k)}"

    def _value(self, v: Any) -> str:
        self.values.append(v)
        return f"v{len(self.values) - 1}"

    def expr(self, nnf: Condition) -> str:
        if isinstance(nnf, (All, AnyOf)):
            joiner = " and " if isinstance(nnf, All) else " or "
            return "(" + joiner.join(self.expr(c) for c in nnf.items) + ")"
        assert isinstance(nnf, Cmp)
        # a{i}: the fact's value of field k{i}, read once per call, M when unknown
        x, op = "a" + self._key(nnf.field)[1:], nnf.op
        if op == "present":
            return f"({x} is not M)"
        if op == "absent":
            return f"({x} is M)"
        if op == "eq":
            return f"({x} == {self._value(nnf.value)})"
        if op == "in":
            return f"({x} in {self._value(frozenset(nnf.value))})"
        if op == "not_in":
            return f"({x} is not M and {x} not in {self._value(frozenset(nnf.value))})"
        symbol = {"ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"({x} is not M and {x} {symbol} {self._value(nnf.value)})"

    def function(self, rules: tuple[Any, ...]) -> Callable[[FlatFact], frozenset[str]]:
        tests = [self.expr(rule.nnf) for rule in rules]
        body = ["    def fired(F):", "        g = F.get"]
        body += [f"        a{i} = g(k{i}, M)" for i in range(len(self.keys))]
        body.append("        out = []")
        for i, test in enumerate(tests):
            body.append(f"        if {test}:")
            body.append(f"            out.append(r{i})")
        body.append("        return frozenset(out)")
        # the constants are bound once as the closure's own variables (k0 = K[0], ...):
        # read from a cell, not looked up in a tuple at every comparison
        lines = ["def make(K, V, R, M):"]
        lines += [f"    k{i} = K[{i}]" for i in range(len(self.keys))]
        lines += [f"    v{i} = V[{i}]" for i in range(len(self.values))]
        lines += [f"    r{i} = R[{i}]" for i in range(len(rules))]
        lines += body + ["    return fired"]
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines), "<latticework reference evaluator>", "exec"), namespace)
        return namespace["make"](tuple(self.keys), tuple(self.values),
                                 tuple(r.id for r in rules), _MISSING)


class ReferenceEvaluator:
    name = "reference"

    def __init__(self, ruleset: RuleSet) -> None:
        self._fired = _Codegen().function(ruleset.rules)

    def fired(self, fact: FlatFact) -> frozenset[str]:
        return self._fired(fact)

    def close(self) -> None:
        pass
