"""The reference evaluator: the rules' normal-form conditions as plain Python, generated
and compiled once per rule set.

It gives every condition the meaning durable_rules gives it (a comparison on an unknown
field is false, ``!=`` included) and is about twenty times faster: the engine runs it
beside durable_rules on every profile and refuses to score on any disagreement, and the
sweeps (sensitivity, counterfactuals, the benchmark's reference figure) run it alone.
No text from a rule file reaches the generated code: values are bound as constants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from itertools import repeat
from typing import Any

from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .fields import field_specs
from .rules import RuleSet

FlatFact = dict[str, Any]  # fields.flatten: known values by dotted path (not profile.Fact)

_MISSING = object()


class _Codegen:
    """One Python function testing every rule, built once per rule set.

    The generated source holds only names standing for indices into constant tuples
    (field keys, values, rule ids, truth tables) and Python operators: no text from a
    rule file ever becomes code, so rules stay data. Each field is read from the fact
    once and each comparison is inline, without a function call per condition, which is
    what makes the reference evaluator fast enough for sweeps.

    Most rules are one equality or membership test on an enumerated field (a third of
    them on ``commitment.tier`` alone). Those are not tested one by one: for each such
    field a truth table, built here by applying the comparisons to every value the rules
    name, maps the fact's value to the ids of the rules that hold for it, so one dict
    lookup decides them all. A known value the rules never name, and the unknown marker
    itself, have their own entries, which keeps ``!=`` and ``not in`` false on an
    unknown field.
    """

    def __init__(self, layout: tuple[str, ...] = ()) -> None:
        # a row's fields in order: every field the rules read, so that a{i} is the row's i-th
        self.keys: list[str] = list(layout)
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
            return f"({x} == {self._value(_as_field_holds(nnf))})"
        if op == "in":
            return f"({x} in {self._value(_as_field_holds(nnf))})"
        if op == "not_in":
            return f"({x} is not M and {x} not in {self._value(_as_field_holds(nnf))})"
        symbol = {"ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"({x} is not M and {x} {symbol} {self._value(_as_field_holds(nnf))})"

    def _split(self, rules: tuple[Any, ...], entry: Callable[[list[int]], Any]
               ) -> tuple[list[_TruthTable], list[int]]:
        """Truth tables for the rules a table can decide, and the indices of the others.

        Each table maps a value of its field (M: unknown) to ``entry`` of the indices of
        the table's rules that hold for that value, and comes with the entry for a known
        value none of them names, for which only != / not in / present can hold. The
        table of an enumerated or true/false field lists every value a profile can hold
        there, so it is read by subscript (``complete``).
        """
        tabled: dict[str, list[int]] = {}
        inline: list[int] = []
        for i, rule in enumerate(rules):
            (tabled.setdefault(rule.nnf.field, []) if _tabulable(rule.nnf) else inline).append(i)
        tables = []
        for field, members in tabled.items():
            cmps = [(i, rules[i].nnf) for i in members]
            named = {_MISSING} | {c.value for _, c in cmps if c.op in ("eq", "ne")}
            named |= {v for _, c in cmps if c.op in ("in", "not_in") for v in c.value}
            table = {v: entry([i for i, c in cmps if _holds(c, v)]) for v in named}
            other = entry([i for i, c in cmps if c.op in ("ne", "not_in", "present")])
            # keyed by the field's own value objects, which flatten puts in the fact: a
            # lookup that finds its key by identity skips comparing the strings
            domain = _domain(field)
            table = {**{v: table.get(v, other) for v in domain}, **table}
            tables.append(_TruthTable(self._key(field), table, other, bool(domain)))
        return tables, inline

    def _make(self, params: str, body: list[str], tables: list[_TruthTable],
              args: tuple[Any, ...]) -> Any:
        # the constants are bound once as the closure's own variables (k0 = K[0], ...):
        # read from a cell, not looked up in a tuple at every comparison
        lines = [f"def make(K, V, M, T, {params}):"]
        lines += [f"    k{i} = K[{i}]" for i in range(len(self.keys))]
        lines += [f"    v{i} = V[{i}]" for i in range(len(self.values))]
        lines += [f"    T{t}, D{t} = T[{t}]" for t in range(len(tables))]
        lines += body
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines), "<latticework reference evaluator>", "exec"), namespace)
        return namespace["make"](tuple(self.keys), tuple(self.values), _MISSING,
                                 tuple((t.table, t.other) for t in tables), *args)

    def _guarded(self, name: str, params: str, head: list[str], body: list[str],
                 tables: list[_TruthTable], args: tuple[Any, ...]) -> Any:
        """The function ``name`` from ``body`` (its lines after the ``def``), after
        ``head`` (the constants it reads), with a safe twin compiled on first need.

        ``T[a]`` on an exact dict is a specialised instruction, about a hundred
        instructions cheaper than ``T.get(a, D)``'s call, so the complete tables are
        subscripted. A value outside its field's values (no validated profile holds one,
        but any fact may be given) is not listed: the KeyError hands the fact to the
        twin, which reads every table with ``.get`` and its entry for unlisted values.
        The twin is compiled only when a fact first needs it: compiled with the
        function, it made every engine load build the evaluator with 41M instructions
        rather than 28M.
        """
        def lookup(t: int, table: _TruthTable, fast: bool) -> str:
            x = "a" + table.key[1:]
            return f"T{t}[{x}]" if fast and table.complete else f"T{t}.get({x}, D{t})"

        def text(fast: bool) -> list[str]:
            return [re.sub(r"@(\d+)", lambda m: lookup(int(m[1]), tables[int(m[1])], fast), line)
                    for line in body]

        def safe() -> Any:
            return self._make(params, [*head, f"    def {name}(F):", *text(fast=False),
                                       f"    return {name}"], tables, args)

        if not any(t.complete for t in tables):
            return safe()
        lines = [*head, f"    def {name}(F):",
                 "        try:", *("    " + line for line in text(fast=True)),
                 "        except KeyError:",
                 "            return S(F)",
                 f"    return {name}"]
        return self._make(f"{params}, S", lines, tables, (*args, _OnFirstCall(safe)))

    def _reads(self, form: str) -> list[str]:
        """a{i}: the fact's value of field k{i}, read once per call, M when unknown.

        A row holds the values in the order of ``keys`` already: one unpacking
        instruction binds them all, where a dict costs a ``get`` call per field (17k of
        the 55k instructions ``points`` takes on a dict)."""
        if form == "row":
            return ["        " + "".join(f"a{i}, " for i in range(len(self.keys))) + "= F"]
        return ["        g = F.get", *(f"        a{i} = g(k{i}, M)" for i in range(len(self.keys)))]

    def function(self, rules: tuple[Any, ...], form: str = "dict"
                 ) -> Callable[[Any], frozenset[str]]:
        """The ids of the rules that hold for a fact: a FlatFact, or with ``form="row"``
        a row of the values of ``keys`` (the layout this object was made with)."""
        ids = tuple(r.id for r in rules)
        tables, inline = self._split(rules, lambda members: tuple(ids[i] for i in members))
        tests = [(i, self.expr(rules[i].nnf)) for i in inline]
        body = self._reads(form)
        # @t: table t's entry for its field's value, written out by _guarded
        body.append("        out = [" + "".join(f"*@{t}, " for t in range(len(tables))) + "]")
        for i, test in tests:
            body += [f"        if {test}:", f"            out.append(r{i})"]
        body.append("        return frozenset(out)")
        head = [f"    r{i} = R[{i}]" for i in inline]
        return self._guarded("fired", "R", head, body, tables, (ids,))

    def points_function(self, rules: tuple[Any, ...], form: str = "dict"
                        ) -> Callable[[Any], dict[str, int]]:
        """Every target's points summed over the rules that hold, without naming them
        (a fact in the ``form`` of :meth:`function`).

        The targets' sums are packed into integers, a field of bits per target, so that
        adding the points of a whole truth-table entry, or of a rule, is one integer
        addition. A field is as wide as its target's range of partial sums (every sum of
        some tables' entries and some rules' points lies in it) and starts at that
        range's foot (the bias), so each partial sum stays in its own field, negative
        points included. The targets are packed into as few integers as keep every one
        under CPython's one-digit ints (``_DIGIT_BITS``), grouped so that few tables or
        rules feed two of them (``_groups``).
        """
        targets = sorted({t for r in rules for t, _ in r.points})
        points = [dict(r.points) for r in rules]
        tables, inline = self._split(rules, tuple)  # each entry: the indices of its rules
        lo = dict.fromkeys(targets, 0)
        hi = dict.fromkeys(targets, 0)
        feeds: list[set[str]] = []  # per table, then per inline rule: the targets it moves
        for table in tables:
            entries = [*table.table.values(), table.other]
            feeds.append(set())
            for t in targets:
                sums = [sum(points[i].get(t, 0) for i in members) for members in entries]
                lo[t] += min(0, *sums)
                hi[t] += max(0, *sums)
                if any(sums):
                    feeds[-1].add(t)
        for i in inline:
            for t, p in rules[i].points:
                lo[t] += min(0, p)
                hi[t] += max(0, p)
            feeds.append({t for t, p in rules[i].points if p})
        width = {t: max(1, (hi[t] - lo[t]).bit_length()) for t in targets}
        groups = _groups(targets, width, feeds)
        shift: dict[str, int] = {}
        for group in groups:
            at = 0
            for t in group:
                shift[t] = at
                at += width[t]

        def pack(group: list[str], members: tuple[int, ...]) -> int:
            return sum(points[i].get(t, 0) << shift[t] for i in members for t in group)

        packed_tables: list[_TruthTable] = []
        accumulators = []
        for g, group in enumerate(groups):
            terms = []
            for table in tables:
                by_value = {v: pack(group, members) for v, members in table.table.items()}
                other = pack(group, table.other)
                if other or any(by_value.values()):
                    terms.append(f" + @{len(packed_tables)}")
                    packed_tables.append(_TruthTable(table.key, by_value, other, table.complete))
            accumulators.append(f"        s{g} = b{g}" + "".join(terms))
        constants: list[int] = []
        head: list[str] = []
        tests: list[str] = []
        for i in inline:
            adds = []
            for g, group in enumerate(groups):
                p = pack(group, (i,))
                if p:
                    head.append(f"    p{len(constants)} = P[{len(constants)}]")
                    adds.append(f"            s{g} += p{len(constants)}")
                    constants.append(p)
            if adds:
                tests += [f"        if {self.expr(rules[i].nnf)}:", *adds]
        body = [*self._reads(form), *accumulators, *tests]  # read after expr has named every field
        head += [f"    b{g} = B[{g}]" for g in range(len(groups))]
        # target j's field: shift h{j}, mask w{j}, foot l{j}, all derived from the rules'
        # points and so bound as constants, like every value, never written into the code
        head += [line for j in range(len(targets))
                 for line in (f"    h{j} = X[{j}][0]", f"    w{j} = X[{j}][1]", f"    l{j} = X[{j}][2]")]
        group_of = {t: g for g, group in enumerate(groups) for t in group}
        unpack = "".join(f"(s{group_of[t]} >> h{j} & w{j}) + l{j}, " for j, t in enumerate(targets))
        body.append(f"        return dict(zip(N, ({unpack})))")
        bias = tuple(sum(-lo[t] << shift[t] for t in group) for group in groups)
        fields = tuple((shift[t], (1 << width[t]) - 1, lo[t]) for t in targets)
        args = (tuple(constants), bias, fields, tuple(targets))
        return self._guarded("points", "P, B, X, N", head, body, packed_tables, args)


# CPython adds two ints under 2**30 (one digit) on a fast path; a wider one is added digit
# by digit into a new object: the bundled rules' eight targets need 56 bits, and packed in
# one integer its additions were a quarter of ``points``
_DIGIT_BITS = 30


def _groups(targets: list[str], width: dict[str, int], feeds: list[set[str]]
            ) -> list[list[str]]:
    """The targets parted into integers of at most ``_DIGIT_BITS`` bits each: one if they
    fit, else the two halves that the fewest tables and rules feed both of (a term that
    feeds two integers is added to each). Beyond a dozen targets, or where no two
    halves fit, all go into one wide integer, which is slower but as exact."""
    if sum(width.values()) <= _DIGIT_BITS or not targets:
        return [targets] if targets else []
    best: tuple[int, list[str]] | None = None
    if len(targets) <= 12:
        rest = targets[1:]  # the first target's half is the "first": each parting once
        for n in range(len(rest) + 1):
            for chosen in combinations(rest, n):
                first = {targets[0], *chosen}
                if sum(width[t] for t in first) > _DIGIT_BITS or \
                        sum(width[t] for t in targets if t not in first) > _DIGIT_BITS:
                    continue
                split = sum(1 for f in feeds if f & first and f - first)
                if best is None or split < best[0]:
                    best = (split, [t for t in targets if t in first])
    if best is None:
        return [targets]
    first = set(best[1])
    return [best[1], [t for t in targets if t not in first]]


class _OnFirstCall:
    """A function built by ``build`` when it is first called, and kept."""

    __slots__ = ("_build", "_function")

    def __init__(self, build: Callable[[], Callable[[FlatFact], Any]]) -> None:
        self._build = build
        self._function: Callable[[FlatFact], Any] | None = None

    def __call__(self, fact: FlatFact) -> Any:
        if self._function is None:
            self._function = self._build()
        return self._function(fact)


@dataclass(frozen=True)
class _TruthTable:
    key: str  # k{i}: the field's key name in the generated code
    table: dict[Any, Any]
    other: Any  # the entry for a value the table does not list
    complete: bool  # lists every value a profile can hold in the field


def _as_field_holds(c: Cmp) -> Any:
    """The comparison's value (a frozenset of them for ``in``) as the field's values are
    held, so that the generated test takes the interpreter's fastest way.

    An enumerated value is the field's own string object, the one flatten puts in the
    fact: equal strings found by identity are not compared. A whole-number threshold on
    a number field is a float (pydantic makes 5 into 5.0), as a comparison of two floats
    is a specialised instruction where a float against an int is a generic call; only
    whole numbers a float holds exactly are turned, so every outcome stays the same.
    """
    spec = field_specs().get(c.field)
    own = {v: v for v in _domain(c.field)}

    def held(v: Any) -> Any:
        if spec is not None and spec.kind == "number" and type(v) is int and -2**53 <= v <= 2**53:
            return float(v)
        return own.get(v, v) if type(v) is str else v

    return frozenset(map(held, c.value)) if c.op in ("in", "not_in") else held(c.value)


def _domain(field: str) -> tuple[Any, ...]:
    # fields no profile has (a test's) list no values
    spec = field_specs().get(field)
    return () if spec is None else spec.domain


def _plain(v: Any) -> bool:
    """A value a dict lookup matches exactly as ``==`` would: a string, a bool, an int
    or a float other than NaN (which ``==`` never matches but a lookup can, by identity)."""
    return type(v) in (str, bool, int) or (type(v) is float and v == v)


def _tabulable(nnf: Condition) -> bool:
    if not isinstance(nnf, Cmp) or nnf.op not in ("eq", "ne", "in", "not_in", "present", "absent"):
        return False
    if nnf.op in ("eq", "ne"):
        return _plain(nnf.value)
    if nnf.op in ("in", "not_in"):
        return all(_plain(v) for v in nnf.value)
    return True


def _holds(c: Cmp, v: Any) -> bool:
    """The comparison on a fact whose field holds v (_MISSING: unknown)."""
    return c.holds({} if v is _MISSING else {c.field: v})


class ReferenceEvaluator:
    """The rules as generated Python, on a fact in either of two forms.

    * a FlatFact (``fields.flatten``): ``fired`` and ``points``;
    * a row: the fact's values in the order of ``fields`` (the rule set's
      ``fields_read``), a private marker for an unknown one, made by ``row`` and
      changed by ``replace``: ``fired_row`` and ``points_row``. Sweeps that evaluate
      prepared facts again and again use rows, which the generated code unpacks in
      one instruction.

    Each function is generated and compiled when first asked for, but ``fired`` (the
    engine's cross-check), which is built with the evaluator. All four are the generated
    functions themselves, not methods that call them: a method would add a Python frame
    to every call.
    """

    name = "reference"

    def __init__(self, ruleset: RuleSet) -> None:
        rules = self._rules = ruleset.rules
        self.fields = tuple(spec.path for spec in ruleset.fields_read)
        self._position = {path: i for i, path in enumerate(self.fields)}
        self.fired: Callable[[FlatFact], frozenset[str]] = _Codegen().function(rules)

    @cached_property
    def points(self) -> Callable[[FlatFact], dict[str, int]]:
        """Each target's points summed over the rules that fire, every target that any
        rule scores included (0 when none fires): the sum over ``fired(fact)`` of each
        rule's points, without building the fired set, for sweeps that need no names."""
        return _Codegen().points_function(self._rules)

    @cached_property
    def fired_row(self) -> Callable[[tuple[Any, ...]], frozenset[str]]:
        return self._row_function(_Codegen.function)

    @cached_property
    def points_row(self) -> Callable[[tuple[Any, ...]], dict[str, int]]:
        return self._row_function(_Codegen.points_function)

    def _row_function(self, make: Callable[..., Any]) -> Any:
        codegen = _Codegen(self.fields)
        function = make(codegen, self._rules, "row")
        if tuple(codegen.keys) != self.fields:  # a field the layout missed would shift them all
            raise AssertionError(f"the reference layout lacks {codegen.keys[len(self.fields):]}")
        return function

    def row(self, fact: FlatFact) -> tuple[Any, ...]:
        """The fact as a row: its value of each of ``fields``, the unknown marker where it
        has none."""
        return tuple(map(fact.get, self.fields, repeat(_MISSING)))

    def replace(self, row: tuple[Any, ...], changes: Iterable[tuple[str, Any]]
                ) -> tuple[Any, ...]:
        """The row with each (field, value) of ``changes`` set, None making a field unknown.
        A field no rule reads changes nothing a rule can see, and is left out."""
        out = list(row)
        position = self._position
        for path, value in changes:
            i = position.get(path)
            if i is not None:
                out[i] = _MISSING if value is None else value
        return tuple(out)

    def close(self) -> None:
        pass

