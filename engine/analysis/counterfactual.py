"""Counterfactuals: the smallest sets of changes that move a partner to a target.

``deterrence>=strong`` or ``alignment_risk<guarded`` (a band, read at its
edge) or ``alignment_risk<40`` (a number). The search changes only actionable
fields (the model declares geography and history fixed) and only fields some
rule feeding the target reads. Scores move only where a rule's comparison
flips, so each numeric field is tried at the thresholds its rules use (and
one hundredth either side): the search is exact over those
candidates, by increasing number of changes, stopping at the first size that
reaches the target: every set reported is of the smallest size there is. The fast path
runs the reference evaluator; every reported set is then verified by
rescoring the changed profile through the engine. Making a fact unknown is
not an action, so it is never proposed.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..api import Engine
from ..conditions import Condition
from ..conditions import comparisons
from ..conditions import fields_of
from ..errors import ErrorCode
from ..errors import InputError
from ..fields import FieldSpec
from ..fields import field_specs
from ..fields import flatten
from ..fields import show_value
from ..profile import Profile
from ..reference import ReferenceEvaluator
from ..rules import RuleSet
from ..rules import ScoreDef
from .changes import apply_changes

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_TARGET = re.compile(r"^\s*([a-z_-]+)\s*(<=|>=|<|>)\s*([a-z0-9-]+)\s*$")


@dataclass(frozen=True)
class Goal:
    score: str
    op: str
    bound: int
    text: str

    def met(self, value: int) -> bool:
        return OPS[self.op](value, self.bound)


def parse_target(text: str, ruleset: RuleSet) -> Goal:
    m = _TARGET.match(text)
    if not m:
        raise InputError(f"target '{text}': expected SCORE OP BAND or SCORE OP NUMBER, "
                         "e.g. 'alignment_risk<guarded' or 'deterrence>=60'", ErrorCode.BAD_TARGET)
    name, op, bound = m.group(1).replace("-", "_"), m.group(2), m.group(3)
    target = ruleset.targets.get(name)
    if target is None:
        raise InputError(f"target '{text}': unknown score '{name}'; expected one of "
                         + ", ".join(ruleset.targets), ErrorCode.BAD_TARGET)
    if bound.isdigit():
        return Goal(name, op, int(bound), text)
    if bound not in target.bands:
        raise InputError(f"target '{text}': {name} has no band '{bound}'; its bands are "
                         + ", ".join(target.bands), ErrorCode.BAD_TARGET)
    low, high = target.band_range(bound)
    # a band names a range: "< guarded" is below its floor, "> guarded" above its ceiling
    edge = {"<": low, ">=": low, ">": high, "<=": high}[op]
    return Goal(name, op, edge, text)


class Change(BaseModel):
    field: str
    before: Any
    after: Any


class Solution(BaseModel):
    changes: list[Change]
    score: int
    band: str
    verified: bool


class CounterfactualResult(BaseModel):
    profile: str
    measure: str
    target: str
    score: int
    band: str
    already_met: bool
    solutions: list[Solution]
    searched: int
    max_changes: int
    complete: bool


def _thresholds(cond: Condition, path: str) -> set[float]:
    out: set[float] = set()
    for c in comparisons(cond):
        if c.field == path and c.op in ("eq", "ne", "lt", "le", "gt", "ge"):
            out.add(c.value)
        elif c.field == path and c.op in ("in", "not_in"):
            out.update(c.value)
    return out


def candidates(spec: FieldSpec, current: Any, ruleset: RuleSet) -> list[Any]:
    """The values worth trying for one field.

    Making a fact unknown is not an action anyone can take, so it is never proposed.
    """
    out: list[Any] = []
    if spec.kind == "enum":
        out = list(spec.values)
    elif spec.kind == "bool":
        out = [False, True]
    elif spec.numeric:
        step = 0.01 if spec.kind == "number" else 1
        points: set[float] = set()
        for rule in ruleset.rules:
            for t in _thresholds(rule.nnf, spec.path):
                points |= {t, round(t - step, 2), round(t + step, 2)}
        lo = spec.ge if spec.ge is not None else float("-inf")
        hi = spec.le if spec.le is not None else float("inf")
        out = sorted(v for v in points if lo <= v <= hi)
        if spec.kind == "int":
            out = [int(v) for v in out]
    return [v for v in out if v != current]


class _FastScorer:
    def __init__(self, ruleset: RuleSet, target: ScoreDef) -> None:
        self.reference = ReferenceEvaluator(ruleset)
        self.base = target.base
        self.points = {r.id: r.points_for(target.id) for r in ruleset.rules}
        self.ruleset = ruleset

    def raw(self, row: tuple[Any, ...]) -> int | None:
        """The unbounded score of a fact given as the reference's row, or None for a
        profile the groups reject."""
        fired = self.reference.fired_row(row)
        if self.ruleset.group_violation(fired) is not None:
            return None
        return self.base + sum(self.points[r] for r in fired)


def _distance(target: Goal, raw: int) -> int:
    """How many points the raw score must move for the target to be met."""
    if target.op == "<":
        return max(0, raw - target.bound + 1)
    if target.op == "<=":
        return max(0, raw - target.bound)
    if target.op == ">":
        return max(0, target.bound + 1 - raw)
    return max(0, target.bound - raw)


def search(
    engine: Engine,
    profile: Profile,
    target_text: str,
    max_changes: int = 4,
    limit: int = 10,
    budget: int = 500_000,
    progress: Callable[[int], None] | None = None,
) -> CounterfactualResult:
    """The smallest sets of changes to actionable facts that reach the target.

    ``progress`` is called once per set size searched (at most ``max_changes`` times)."""
    ruleset = engine.ruleset
    target = parse_target(target_text, ruleset)
    tdef = ruleset.targets[target.score]
    current = engine.score(profile).target(target.score)
    fact = flatten(profile)
    specs = field_specs()
    relevant: set[str] = set()
    for rule in ruleset.rules:
        if rule.points_for(target.score):
            relevant |= fields_of(rule.when)
    fields = [p for p in specs if p in relevant and specs[p].actionable and specs[p].kind != "text"]
    options = {p: candidates(specs[p], fact.get(p), ruleset) for p in fields}
    scorer = _FastScorer(ruleset, tdef)
    # Changing a set of fields can move the score by at most the points of the rules that
    # read one of them: sets whose reach is too short are skipped without being tried.
    reach = {p: {r.id: abs(r.points_for(target.score)) for r in ruleset.rules
                 if r.points_for(target.score) and p in fields_of(r.when)} for p in fields}
    # the fact as the reference's row: a trial copies it and sets a few places, cheaper
    # than copying a dict, and the generated code reads a row in one instruction
    row = scorer.reference.row(fact)
    raw_now = scorer.raw(row)
    if raw_now is None:
        raw_now = current.score - current.adjustment
    needed = _distance(target, raw_now)

    def within_reach(combo: tuple[str, ...]) -> bool:
        touched: dict[str, int] = {}
        for p in combo:
            touched.update(reach[p])
        return sum(touched.values()) >= needed

    reached: list[frozenset[str]] = []
    found: list[tuple[tuple[tuple[str, Any], ...], int]] = []
    searched = 0
    complete = True
    if not target.met(current.score):
        for size in range(1, max_changes + 1):
            for combo in itertools.combinations(fields, size):
                names = frozenset(combo)
                if any(r <= names for r in reached):
                    continue  # a subset already reaches the target: not minimal
                if not within_reach(combo):
                    continue
                hit = False
                for values in itertools.product(*(options[p] for p in combo)):
                    searched += 1
                    if searched > budget:
                        complete = False
                        break
                    raw = scorer.raw(scorer.reference.replace(
                        row, zip(combo, values, strict=True)))
                    s = None if raw is None else min(100, max(0, raw))
                    if s is not None and target.met(s):
                        found.append((tuple(zip(combo, values, strict=True)), s))
                        hit = True
                if hit:
                    reached.append(names)
                if not complete:
                    break
            if progress:
                progress(1)
            if found or not complete:
                break  # the smallest sets are found: larger ones are not asked for
    # closest to the present first: fewest changes, then the smallest move of the score
    found.sort(key=lambda f: (len(f[0]), abs(f[1] - current.score), f[0].__repr__()))
    solutions = []
    for changes, _ in found[:limit]:
        changed = apply_changes(profile, dict(changes), origin="counterfactual")
        verified = engine.score(changed).target(target.score)
        solutions.append(Solution(
            changes=[Change(field=p, before=fact.get(p), after=v) for p, v in changes],
            score=verified.score, band=verified.band, verified=target.met(verified.score)))
    return CounterfactualResult(
        profile=profile.key, measure=target.score, target=target.text, score=current.score, band=current.band,
        already_met=target.met(current.score), solutions=solutions, searched=searched,
        max_changes=max_changes, complete=complete)


def result_text(r: CounterfactualResult) -> str:
    from ..render import join_lines

    lines = [f"{r.profile}: {r.measure} is {r.score} ({r.band}); target {r.target}"]
    if r.already_met:
        lines.append("the target is already met")
        return join_lines(lines)
    if not r.solutions:
        lines.append(f"no set of up to {r.max_changes} changes to actionable facts reaches it")
    for i, s in enumerate(r.solutions, 1):
        mark = "verified" if s.verified else "NOT VERIFIED"
        lines.append(f"{i}. {len(s.changes)} change{'s' if len(s.changes) != 1 else ''} -> "
                     f"{s.score} ({s.band}), {mark} by rescoring")
        for c in s.changes:
            lines.append(f"     {c.field}: {show_value(c.before)} -> {show_value(c.after)}")
    if not r.complete:
        scope = "cut short by the search budget: the sets shown may not be the smallest"
    elif r.solutions:
        scope = "exhaustive: no smaller set of changes reaches the target"
    else:
        scope = f"exhaustive up to {r.max_changes} changes"
    lines.append(f"{r.searched} candidate change sets evaluated ({scope})")
    return join_lines(lines)
