"""A symbolic profile for the z3 solver: each field a pair of variables, known and value.

A rule's normal-form condition becomes a z3 formula over them with the meaning both
evaluators give it (a comparison on an unknown field is false, ``!=`` included), so
that what the checker proves about every valid profile holds for every real one.
"""

from __future__ import annotations

import operator
from typing import Any

from ..conditions import All
from ..conditions import AnyOf
from ..conditions import Cmp
from ..conditions import Condition
from ..fields import FieldSpec
from ..fields import field_specs
from ..rules import Rule
from ..rules import RuleSet
from ..rules import ScoreDef

_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
            "gt": operator.gt, "ge": operator.ge}


class Symbolic:
    """One symbolic profile: for each field, whether it is known and its value."""

    def __init__(self, z3: Any, tag: str, texts: dict[str, int]) -> None:
        self.z3 = z3
        self.specs = field_specs()
        self.texts = texts
        self.known: dict[str, Any] = {}
        self.value: dict[str, Any] = {}
        self.bounds: dict[str, list[Any]] = {}
        for path, spec in self.specs.items():
            k = z3.Bool(f"{tag}:{path}?")
            bounds = []
            if spec.kind == "bool":
                v = z3.Bool(f"{tag}:{path}")
            else:
                v = z3.Int(f"{tag}:{path}")
                lo, hi = self._bounds(spec)
                if lo is not None:
                    bounds.append(v >= lo)
                if hi is not None:
                    bounds.append(v <= hi)
            if spec.required:
                bounds.append(k)
            self.known[path], self.value[path], self.bounds[path] = k, v, bounds
        self.domain = [c for bounds in self.bounds.values() for c in bounds]

    @staticmethod
    def _bounds(spec: FieldSpec) -> tuple[int | None, int | None]:
        if spec.kind == "enum":
            return 0, len(spec.values) - 1
        scale = 100 if spec.kind == "number" else 1
        lo = None if spec.ge is None else round(spec.ge * scale)
        hi = None if spec.le is None else round(spec.le * scale)
        return lo, hi

    def const(self, spec: FieldSpec, value: Any) -> Any:
        if spec.kind == "enum":
            return spec.values.index(value)
        if spec.kind == "number":
            return round(value * 100)  # two decimals at most: exact
        if spec.kind == "text":
            return self.texts.setdefault(value, len(self.texts))
        return value

    def cond(self, c: Condition) -> Any:
        z3 = self.z3
        if isinstance(c, All):
            return z3.And(*[self.cond(x) for x in c.items])
        if isinstance(c, AnyOf):
            return z3.Or(*[self.cond(x) for x in c.items])
        assert isinstance(c, Cmp)
        spec = self.specs[c.field]
        known, v = self.known[c.field], self.value[c.field]
        if c.op == "present":
            return known
        if c.op == "absent":
            return z3.Not(known)
        if c.op in ("in", "not_in"):
            eqs = [v == self.const(spec, x) for x in c.value]
            test = z3.Or(*eqs) if c.op == "in" else z3.And(*[z3.Not(e) for e in eqs])
            return z3.And(known, test)
        k = self.const(spec, c.value)
        return z3.And(known, _COMPARE[c.op](v, k))

    def fires(self, rule: Rule) -> Any:
        return self.cond(rule.nnf)

    def valid(self, ruleset: RuleSet) -> Any:
        """The profile is scorable: every exclusive and required group is respected."""
        z3 = self.z3
        parts = list(self.domain)
        for check in ruleset.group_checks:
            members = [self.fires(ruleset.rule(rid)) for rid in sorted(check.members)]
            if check.exclusive:
                parts.append(z3.AtMost(*members, 1))
            if check.required:
                parts.append(z3.Or(*members))
        return z3.And(*parts)

    def raw(self, ruleset: RuleSet, target: ScoreDef) -> Any:
        """The target's base plus the points of the rules this profile fires."""
        z3 = self.z3
        raw = z3.IntVal(target.base)
        for r in ruleset.rules:
            pts = r.points_for(target.id)
            if pts:
                raw = raw + z3.If(self.fires(r), pts, 0)
        return raw

    def score(self, ruleset: RuleSet, target: ScoreDef) -> Any:
        raw = self.raw(ruleset, target)
        return self.z3.If(raw > 100, 100, self.z3.If(raw < 0, 0, raw))

    def witness(self, model: Any, paths: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path in self.specs:
            if path not in paths:
                continue
            known = model.eval(self.known[path], model_completion=True)
            if not self.z3.is_true(known):
                out[path] = None
                continue
            out[path] = self.decode(path, model.eval(self.value[path], model_completion=True))
        return out

    def decode(self, path: str, val: Any) -> Any:
        spec = self.specs[path]
        if spec.kind == "bool":
            return self.z3.is_true(val)
        n = val.as_long()
        if spec.kind == "enum":
            return spec.values[n]
        if spec.kind == "number":
            return n / 100 if n % 100 else n // 100
        if spec.kind == "text":
            names = {i: t for t, i in self.texts.items()}
            return names.get(n, "<other text>")
        return n
