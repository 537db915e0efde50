"""durable_rules' fixed tables, and rule sets split to stay within them.

durable_rules turns each rule into a chain of alpha nodes and walks that network depth
first; past the size of one of its tables it hangs, crashes or answers wrongly
(docs/durable-rules.md, "Limits"). :class:`Network` models the network the compiled
rules make and bounds, for every possible profile, what each table must hold; a rule
over a limit alone is refused when the rules load, and rule sets that reach one
together are split (:func:`split_rulesets`) into as many durable_rules rulesets as
keep each within it.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .compiler import SENTINEL
from .compiler import compile_rule
from .compiler import guarded
from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .rules import Rule


def split_rulesets(definitions: dict[str, dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """Compiled definitions (:func:`compile_ruleset`) as several durable_rules rulesets,
    each within durable_rules' tables.

    Each has its own sentinel (the first-session trap is per ruleset); a profile's
    firings are the union of theirs.
    """
    rules = {k: v for k, v in definitions.items() if k != SENTINEL}
    return [{SENTINEL: definitions[SENTINEL], **{rid: rules[rid] for rid in shard}}
            for shard in partition(rules)]



#
# durable_rules 2.0.28 turns each rule's condition into a chain of alpha nodes, one test
# each, shared between rules while their tests agree ($and: a chain; $or: a "forward"
# node every branch links to, never shared). Matching a fact walks the network depth
# first with a stack of 64 entries. Each limit below was measured on this build
# (docs/durable-rules.md, "Limits"); what happens one past it is in the comment.

MAX_PENDING = 64  # matched nodes waiting on the stack; 65 -> error 303, then heap corruption
MAX_TESTS_UNDER_NODE = 511  # hash set of 512 slots; full, assertions loop; 513: create loops
MAX_BRANCHES_UNDER_NODE = 127  # list of 128 without an end mark; 129 -> error 107
MAX_RULES_AT_NODE = 255  # list of 256 read past its end: a wrong firing, SIGSEGV or error 108
MAX_GROUPS = 15  # $and and $or in one rule, the guard's included; 16 -> error 113

_COMPARISONS = {"$lt": "lt", "$lte": "le", "$gt": "gt", "$gte": "ge", "$neq": "ne", "$ex": "ex",
                "$nex": "nex"}


class _Node:
    __slots__ = ("tests", "children", "hashed", "listed", "forwards", "nex", "by_field",
                 "most", "dirty", "pending", "peak", "rules")

    def __init__(self) -> None:
        self.tests: dict[tuple[str, str, str], _Node] = {}  # (key, op, value as JSON) -> child
        self.children: list[_Node] = []
        self.hashed = 0  # children in the hash set (every test but $nex)
        self.listed = 0  # children in the list ($nex tests and $or forward nodes)
        self.forwards = 0
        self.nex: set[str] = set()
        self.by_field: dict[str, list[tuple[str, Any]]] = {}
        self.most: dict[str, int] = {}  # per key: hash-set tests one value can pass together
        self.dirty: set[str] = set()
        self.pending = 0  # children one visit can push onto the stack
        self.peak = 0  # the stack's height, at most, while this node's subtree is walked
        self.rules = 0  # rules whose condition ends here


def _most_at_once(tests: list[tuple[str, Any]]) -> int:
    """The most of these tests (on one key) that a single value passes."""
    always = sum(1 for op, _ in tests if op == "ex")
    tests = [(op, v) for op, v in tests if op != "ex"]
    if not tests:
        return always
    values = [v for _, v in tests]
    eq = Counter(v for op, v in tests if op == "eq")
    ne = Counter(v for op, v in tests if op == "ne")
    ne_total = sum(ne.values())
    if not any(op in ("lt", "le", "gt", "ge") for op, _ in tests):
        # (in)equalities only, as text, enums and booleans always are
        best = max([ne_total] + [eq[v] + ne_total - ne[v] for v in set(eq) | set(ne)])
        return always + best
    by_op = {op: sorted(v for o, v in tests if o == op) for op in ("lt", "le", "gt", "ge")}
    points = sorted(set(values))
    candidates = [points[0] - 1, points[-1] + 1, *points]
    candidates += [(a + b) / 2 for a, b in pairwise(points)]
    best = 0
    for x in candidates:
        n = eq[x] + ne_total - ne[x]
        n += len(by_op["lt"]) - bisect_right(by_op["lt"], x)  # x < c
        n += len(by_op["le"]) - bisect_left(by_op["le"], x)  # x <= c
        n += bisect_left(by_op["gt"], x)  # x > c
        n += bisect_right(by_op["ge"], x)  # x >= c
        best = max(best, n)
    return always + best


@dataclass(frozen=True)
class LimitProblem:
    code: str
    limit: str  # the table, in words
    maximum: int
    found: int
    detail: str


class Network:
    """The alpha network durable_rules builds for some rules, and its tables' fill.

    ``peak`` is an upper bound on the matching stack's height for any fact: each node
    pushes at most ``pending`` children (per key, the most tests one value passes; every
    $or forward; a $nex when its key is absent), and the first child walked may have all
    its siblings still waiting below it.
    """

    def __init__(self) -> None:
        self.root = _Node()

    @property
    def peak(self) -> int:
        return self.root.peak

    def add(self, definition: dict[str, Any]) -> list[_Node]:
        """Build one compiled rule into the network; the nodes it touched."""
        touched: list[_Node] = [self.root]
        (match,) = definition["all"]
        end = self._alpha(match["m"], self.root, touched)
        end.rules += 1
        self._settle(touched)
        return touched

    def _alpha(self, expr: dict[str, Any], parent: _Node, touched: list[_Node]) -> _Node:
        ((key, body),) = expr.items()
        if key == "$and":
            for term in body:
                parent = self._alpha(term, parent, touched)
            return parent
        if key == "$or":
            forward = _Node()
            for term in body:
                end = self._alpha(term, parent, touched)
                end.children.append(forward)
                end.listed += 1
                end.forwards += 1
            touched.append(forward)
            return forward
        if key in _COMPARISONS:
            ((field, value),) = body.items()
            op = _COMPARISONS[key]
        else:
            field, value, op = key, body, "eq"
        test = (field, op, json.dumps(value))
        child = parent.tests.get(test)
        if child is None:
            child = parent.tests[test] = _Node()
            parent.children.append(child)
            if op == "nex":
                parent.listed += 1
                parent.nex.add(field)
            else:
                parent.hashed += 1
                parent.by_field.setdefault(field, []).append((op, value))
                parent.dirty.add(field)
        touched.append(child)
        return child

    def _settle(self, touched: list[_Node]) -> None:
        """Recompute the stack bound where this rule changed the network.

        A node's bound depends on its subtree only, and every node whose subtree changed
        was touched (a test node has one parent; a forward node belongs to one rule), so
        the touched nodes, children before parents, are all that needs recomputing.
        """
        # touched lists a forward node after its parents but before the tests it leads to:
        # a depth-first walk over the touched nodes puts children first
        members = {id(n) for n in touched}
        done: set[int] = set()
        stack: list[tuple[_Node, bool]] = [(self.root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                self._bound(node)
                continue
            if id(node) in done:
                continue
            done.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if id(c) in members)

    @staticmethod
    def _bound(node: _Node) -> None:
        for field in node.dirty:
            node.most[field] = _most_at_once(node.by_field[field])
        node.dirty.clear()
        keys = set(node.most) | node.nex
        node.pending = node.forwards + sum(
            max(1 if k in node.nex else 0, node.most.get(k, 0)) for k in keys)
        if node.children:
            node.peak = max(node.pending, node.pending - 1 + max(c.peak for c in node.children))
        else:
            node.peak = 0

    def problems(self, nodes: Iterable[_Node]) -> list[LimitProblem]:
        """The tables these nodes (and the whole network's stack) overflow."""
        out = []
        if self.peak > MAX_PENDING:
            out.append(LimitProblem(
                "durable-firing", "tests passed at once", MAX_PENDING, self.peak,
                "durable_rules holds the tests a profile passes in a stack of 64 entries and "
                "overflows it (error 303, then heap corruption) when more pass at once; "
                "here that many tests or 'any' branches can hold together"))
        nodes = list(nodes)
        worst = max(nodes, key=lambda n: n.hashed)
        if worst.hashed > MAX_TESTS_UNDER_NODE:
            out.append(LimitProblem(
                "durable-alternatives", "values of an 'in' or branches of an 'any' at one "
                "point of the condition", MAX_TESTS_UNDER_NODE, worst.hashed,
                "durable_rules files the tests that follow one point of a condition (the "
                "values of an 'in', the branches of an 'any') in a table of 512 slots and "
                "never returns once it is full"))
        worst = max(nodes, key=lambda n: n.listed)
        if worst.listed > MAX_BRANCHES_UNDER_NODE:
            out.append(LimitProblem(
                "durable-branches", "'any' branches and absence tests after one test",
                MAX_BRANCHES_UNDER_NODE, worst.listed,
                "durable_rules lists them in a table of 128 entries (error 107 past it)"))
        worst = max(nodes, key=lambda n: n.rules)
        if worst.rules > MAX_RULES_AT_NODE:
            out.append(LimitProblem(
                "durable-same-condition", "rules ending at one test", MAX_RULES_AT_NODE,
                worst.rules,
                "durable_rules lists them in a table of 256 entries and reads past it when "
                "full: a wrong firing, a crash or error 108"))
        return out


def count_groups(expr: Any) -> int:
    """The $and and $or objects in a compiled condition (iteratively: nesting may be deep)."""
    n, stack = 0, [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, body in node.items():
                if key in ("$and", "$or"):
                    n += 1
                    stack.extend(body)
    return n


def rule_groups(nnf: Condition) -> int:
    """:func:`count_groups` of the rule's compiled form, from its normal form, without compiling."""
    n, stack = 1, [(nnf, True)]  # the guard's $and, which a top-level conjunction joins
    while stack:
        node, top = stack.pop()
        if isinstance(node, (All, AnyOf)):
            n += 0 if top and isinstance(node, All) else 1
            stack.extend((c, False) for c in node.items)
        elif not isinstance(node, Cmp):
            raise TypeError("rule_groups needs the normal form")
        elif node.op in ("in", "not_in") and len(node.value) > 1:
            n += 0 if top and node.op == "not_in" else 1
    return n


def rule_limits(rule: Rule) -> list[LimitProblem]:
    """The durable_rules tables this rule overflows on its own: it could never run."""
    groups = rule_groups(rule.nnf)
    if groups > MAX_GROUPS:
        return [LimitProblem(
            "durable-nesting", "all/any groups below a top-level 'all' (in the normal form, "
            "where an 'in' list or a negated comparison is an 'any' and a 'not in' list an "
            "'all')", MAX_GROUPS - 1, groups - 1,
            "durable_rules refuses a rule with more (error 113)")]
    net = Network()
    nodes = net.add(guarded(None)) + net.add(compile_rule(rule))
    return net.problems(nodes)


def partition(definitions: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Rule ids in groups, in order, each group a ruleset within every table.

    Next fit: a rule goes into the current ruleset unless it would overflow a table
    there, and then starts the next. A rule that overflows a table on its own is refused
    when rules load (:func:`rule_limits`), so every rule fits into an empty ruleset.
    """
    shards: list[list[str]] = []
    current: list[str] = []
    net = _fresh()
    for rule_id, definition in definitions.items():
        touched = net.add(definition)
        if not net.problems(touched):
            current.append(rule_id)
            continue
        if not current:
            raise ValueError(f"rule '{rule_id}' overflows durable_rules' tables on its own")
        shards.append(current)
        current = [rule_id]
        net = _fresh()
        if net.problems(net.add(definition)):
            raise ValueError(f"rule '{rule_id}' overflows durable_rules' tables on its own")
    if current or not shards:
        shards.append(current)
    return shards


def _fresh() -> Network:
    net = Network()
    net.add(guarded(None))
    return net
