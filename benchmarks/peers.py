"""latticework beside two other rule engines: the same rules, the same profiles, the same answers.

    .venv/bin/pip install -e '.[peers]'
    .venv/bin/python benchmarks/peers.py --profiles 3000 [--format json] [--clock cpu]

The bundled rules are translated, from their negation normal form, into CLIPS
rules (run through clipspy) and into rule-engine expressions. N seeded
synthetic profiles (the bench's generator and seed) are evaluated by every
engine; every fired set must equal latticework's, and the scores each peer's
firings give (base plus points, bounded to 0..100, groups checked) must equal
``Engine.score_iter``'s; so must the fired sets on the first two profiles with
each field set to each value a rule compares it with, or made unknown (the
generator seldom draws a threshold, where ``<`` and ``<=`` part). Only then
are the engines timed, in one process, in turn on the same slices of profiles,
medians over slices and rounds (elapsed time, or with ``--clock cpu`` the
process's CPU time, steadier on a shared machine):

* latticework end to end: ``Engine.score_iter`` through durable_rules, explained,
  with the reference cross-check, from ``Profile`` objects;
* latticework's reference evaluator: firing and points, from flattened facts;
* CLIPS and rule-engine: firing and points, from flattened facts (the conversion
  of a fact into each engine's input is timed with it).

Meaning kept in the translations (``engine/conditions.py``): an unknown field
is absent from the fact, and every comparison on it is false, ``not_equals`` and
``not in`` included; ``present``/``absent`` test whether it is known. In CLIPS
an unknown slot holds the symbol ``MISSING``, which no string, number or
TRUE/FALSE equals; numbers compare with ``=``/``<`` behind ``numberp``. In
rule-engine an unknown field is ``null``, and every test other than ``==`` and
``in`` (false on null already) checks ``!= null`` first.

The translators (:func:`clips_template`, :func:`clips_rule`,
:func:`rule_engine_text`) are pure text functions, importable without the
extra; only the runners import clipspy and rule_engine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from engine.api import CHUNK
from engine.api import Engine
from engine.bench.synthetic import random_profiles
from engine.conditions import All
from engine.conditions import AnyOf
from engine.conditions import Cmp
from engine.conditions import Condition
from engine.conditions import comparisons
from engine.errors import GroupViolation
from engine.errors import LatticeworkError
from engine.fields import FieldSpec
from engine.fields import field_specs
from engine.fields import flatten
from engine.rules import Rule
from engine.rules import RuleSet
from engine.scoring import HIGH
from engine.scoring import LOW

SEED = 20221  # engine.bench.run.SEED: the bench's profiles
ROUNDS = 3
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
TEMPLATE = "profile"
MISSING = "MISSING"  # CLIPS: the symbol an unknown slot holds
FIRED = "fired"  # CLIPS: the global every rule's action appends its id to
EXTRA = ("clipspy", "rule-engine")

Fact = dict[str, Any]


class PeerError(LatticeworkError):
    """A peer engine refused a translated rule."""

    exit_code = 1


class PeerDisagreement(PeerError):
    """A peer engine answered differently from latticework on a profile."""


# --- translation to CLIPS (pure text) ---------------------------------------------------------


def _quoted(text: str) -> str:
    # the escapes both CLIPS and rule-engine string literals read: backslash and double quote
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: Any, booleans: tuple[str, str], language: str) -> str:
    """A value as a literal of a language whose true and false are spelt ``booleans``."""
    if isinstance(value, bool):
        return booleans[0] if value else booleans[1]
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"no {language} literal for {value!r}")


def clips_literal(value: Any) -> str:
    return _literal(value, ("TRUE", "FALSE"), "CLIPS")


def clips_test(leaf: Cmp, spec: FieldSpec) -> str:
    """One comparison as a CLIPS expression on the variable bound to its slot."""
    v, op = "?" + spec.fact_key, leaf.op
    if op == "present":
        return f"(neq {v} {MISSING})"
    if op == "absent":
        return f"(eq {v} {MISSING})"
    values = leaf.value if op in ("in", "not_in") else (leaf.value,)
    lits = [clips_literal(x) for x in values]
    if spec.numeric:
        # = and < on the symbol MISSING are errors, not false: numberp guards them
        if op in ("in", "not_in"):
            any_of = _clips_or([f"(= {v} {lit})" for lit in lits])
            return f"(and (numberp {v}) {any_of if op == 'in' else f'(not {any_of})'})"
        symbol = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"(and (numberp {v}) ({symbol} {v} {lits[0]}))"
    # text, enum (strings) and bool (TRUE/FALSE): eq/neq compare type and value, so
    # MISSING equals none of them; neq with several values means "equals none of them"
    if op in ("eq", "in"):
        return _clips_or([f"(eq {v} {lit})" for lit in lits])
    if op in ("ne", "not_in"):
        return f"(and (neq {v} {MISSING}) (neq {v} {' '.join(lits)}))"
    raise ValueError(f"'{op}' does not apply to the {spec.kind} field {leaf.field}")


def _clips_or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"(or {' '.join(parts)})"


def clips_expression(nnf: Condition, specs: dict[str, FieldSpec]) -> str:
    if isinstance(nnf, Cmp):
        return clips_test(nnf, specs[nnf.field])
    if isinstance(nnf, (All, AnyOf)):
        joiner = "and" if isinstance(nnf, All) else "or"
        return f"({joiner} {' '.join(clips_expression(c, specs) for c in nnf.items)})"
    raise TypeError("the CLIPS translation needs the normal form")


def _fields_in_order(nnf: Condition) -> list[str]:
    if isinstance(nnf, Cmp):
        return [nnf.field]
    return list(dict.fromkeys(f for c in nnf.items for f in _fields_in_order(c)))


def clips_template(fields: Iterable[FieldSpec]) -> str:
    """The one fact template: a slot per field the rules read, MISSING when unknown."""
    slots = "".join(f"\n   (slot {spec.fact_key} (default {MISSING}))" for spec in fields)
    return f"(deftemplate {TEMPLATE}{slots})"


def clips_fired_global() -> str:
    """Where the rules' actions record their ids: one multifield read once per profile
    (a Python function called from each action costs twice the whole evaluation)."""
    return f"(defglobal ?*{FIRED}* = (create$))"


def clips_rule(rule: Rule, specs: dict[str, FieldSpec] | None = None) -> str:
    """A rule as a CLIPS defrule: one pattern on the profile fact.

    Every field the condition reads is bound to a variable in the pattern and the
    whole condition is a predicate constraint on the last one, so it is tested in
    the pattern network, and an ``any`` fires the rule once, not once per branch.
    """
    specs = specs or field_specs()
    fields = [specs[f] for f in _fields_in_order(rule.nnf)]
    binds = [f"({s.fact_key} ?{s.fact_key})" for s in fields[:-1]]
    last = fields[-1].fact_key
    binds.append(f"({last} ?{last}&:{clips_expression(rule.nnf, specs)})")
    return (f"(defrule {rule.id}\n   ({TEMPLATE} {' '.join(binds)})\n   =>\n"
            f"   (bind ?*{FIRED}* (create$ ?*{FIRED}* {rule.id})))")


# --- translation to rule-engine (pure text) ---------------------------------------------------


def rule_engine_literal(value: Any) -> str:
    return _literal(value, ("true", "false"), "rule-engine")


def rule_engine_test(leaf: Cmp, spec: FieldSpec) -> str:
    k, op = spec.fact_key, leaf.op
    if op == "present":
        return f"{k} != null"
    if op == "absent":
        return f"{k} == null"
    if op in ("in", "not_in"):
        items = "[" + ", ".join(rule_engine_literal(x) for x in leaf.value) + "]"
        # null in [...] is false; null not in [...] is true, hence the guard
        return f"{k} in {items}" if op == "in" else f"({k} != null and {k} not in {items})"
    lit = rule_engine_literal(leaf.value)
    if op == "eq":
        return f"{k} == {lit}"  # null == anything but null is false
    symbol = {"ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
    # null != x is true, and null < x an error: both only once the field is known
    return f"({k} != null and {k} {symbol} {lit})"


def rule_engine_text(rule: Rule | Condition, specs: dict[str, FieldSpec] | None = None) -> str:
    """A rule's condition as one rule-engine expression over the fact's flat keys."""
    specs = specs or field_specs()
    nnf = rule.nnf if isinstance(rule, Rule) else rule
    if isinstance(nnf, Cmp):
        return rule_engine_test(nnf, specs[nnf.field])
    if isinstance(nnf, (All, AnyOf)):
        joiner = " and " if isinstance(nnf, All) else " or "
        return "(" + joiner.join(rule_engine_text(c, specs) for c in nnf.items) + ")"
    raise TypeError("the rule-engine translation needs the normal form")


# --- the engines ------------------------------------------------------------------------------


def _keys(ruleset: RuleSet) -> tuple[tuple[str, str], ...]:
    return tuple((spec.path, spec.fact_key) for spec in ruleset.fields_read)


class ClipsPeer:
    name = "CLIPS (clipspy)"

    def __init__(self, ruleset: RuleSet) -> None:
        import clips

        self._keys = _keys(ruleset)
        self._env = env = clips.Environment()
        env.build(clips_fired_global())
        env.build(clips_template(ruleset.fields_read))
        for rule in ruleset.rules:
            try:
                env.build(clips_rule(rule))
            except clips.CLIPSError as exc:
                raise PeerError(f"CLIPS refused the translation of rule '{rule.id}': "
                                + " ".join(str(exc).split())) from None
        self._template = env.find_template(TEMPLATE)
        self._fired = env.find_global(FIRED)

    def fired(self, fact: Fact) -> frozenset[str]:
        # clipspy turns str into a STRING, bool into TRUE/FALSE, int and float into numbers
        asserted = self._template.assert_fact(
            **{key: fact[path] for path, key in self._keys if path in fact})
        self._env.run()
        asserted.retract()
        fired = frozenset(self._fired.value)  # Symbols: str subclasses, equal to the ids
        self._fired.value = ()
        return fired


class RuleEnginePeer:
    name = "rule-engine"

    def __init__(self, ruleset: RuleSet) -> None:
        import rule_engine

        self._keys = _keys(ruleset)
        self._rules = tuple((rule.id, self._compile(rule_engine, rule)) for rule in ruleset.rules)

    @staticmethod
    def _compile(rule_engine: Any, rule: Rule) -> Any:
        try:
            return rule_engine.Rule(rule_engine_text(rule))
        except rule_engine.EngineError as exc:
            raise PeerError(f"rule-engine refused the translation of rule '{rule.id}': "
                            f"{exc.message}") from None

    def fired(self, fact: Fact) -> frozenset[str]:
        # every key given, None (null) when unknown: a symbol missing from the thing costs
        # rule-engine an exception and a spelling suggestion scored against every key,
        # about 2 ms each time (16 profiles/s instead of hundreds)
        thing = {key: fact.get(path) for path, key in self._keys}
        return frozenset(rule_id for rule_id, rule in self._rules if rule.matches(thing))


class Points:
    """Base plus points, bounded, and the group checks: the scores a fired set gives,
    worked out apart from latticework's scorer so that the comparison means something."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.points = {r.id: r.points for r in ruleset.rules}
        self.bases = {t.id: t.base for t in ruleset.targets.values()}
        members: dict[str, set[str]] = {gid: set() for gid in ruleset.groups}
        for rule in ruleset.rules:
            if rule.group is not None:
                members[rule.group].add(rule.id)
        self.groups = [(gid, frozenset(members[gid]), g.exclusive, g.required)
                       for gid, g in sorted(ruleset.groups.items())]

    def totals(self, fired: frozenset[str]) -> dict[str, int]:
        totals: dict[str, int] = {}
        for rid in fired:
            for target, pts in self.points[rid]:
                totals[target] = totals.get(target, 0) + pts
        return totals

    def scores(self, fired: frozenset[str]) -> dict[str, int]:
        totals = self.totals(fired)
        return {t: min(HIGH, max(LOW, base + totals.get(t, 0))) for t, base in self.bases.items()}

    def violation(self, fired: frozenset[str]) -> tuple[str, str] | None:
        for gid, members, exclusive, required in self.groups:
            hits = members & fired
            if exclusive and len(hits) > 1:
                return gid, "exclusive"
            if required and not hits:
                return gid, "required"
        return None


# --- agreement --------------------------------------------------------------------------------


def check_agreement(engine: Engine, peers: list[Any], profiles: list[Any],
                    facts: list[Fact]) -> int:
    """Raise :class:`PeerDisagreement` at the first profile where a peer's firings or
    scores differ from latticework's, then at the first edited fact of
    :func:`boundary_facts` where its firings do. Returns how many edited facts agreed."""
    points = Points(engine.ruleset)
    results = list(engine.score_iter(profiles))
    for profile, fact, result in zip(profiles, facts, results, strict=True):
        expected = engine.fired(profile, fact)  # durable_rules, cross-checked by the reference
        for peer in peers:
            got = _same_firings(peer, fact, expected, f"profile {profile.key}")
            _check_scores(profile.key, peer.name, points, got, result)
    edited = 0
    for profile, fact, change in boundary_facts(engine.ruleset, profiles, facts):
        edited += 1
        expected = engine.fired(profile, fact)
        for peer in peers:
            _same_firings(peer, fact, expected, f"profile {profile.key} with {change}")
    return edited


def _same_firings(peer: Any, fact: Fact, expected: frozenset[str], where: str) -> frozenset[str]:
    """The peer's firings on the fact, or PeerDisagreement naming the first rule it differs on."""
    got = peer.fired(fact)
    if got != expected:
        rule = sorted(got ^ expected)[0]
        side = "fired only in" if rule in got else "did not fire in"
        raise PeerDisagreement(f"{where}: rule '{rule}' {side} {peer.name}; latticework fired "
                               f"{len(expected)} rules, {peer.name} {len(got)}")
    return got


def boundary_facts(ruleset: RuleSet, profiles: list[Any], facts: list[Fact],
                   bases: int = 2) -> Iterable[tuple[Any, Fact, str]]:
    """The first profiles with one field set to each value a rule compares it with, or
    made unknown: the generator draws a threshold itself too rarely to test ``<`` against
    ``<=``. Yields (profile, edited fact, the edit in words)."""
    edits: dict[tuple[str, Any], None] = {}
    for rule in ruleset.rules:
        for leaf in comparisons(rule.nnf):
            values = leaf.value if leaf.op in ("in", "not_in") else (leaf.value,)
            for value in values:
                # (field, None) makes the field unknown; True == 1 must not merge two edits
                edits[(leaf.field, (type(value), value) if value is not None else None)] = None
    for profile, fact in list(zip(profiles, facts, strict=True))[:bases]:
        for field, typed in edits:
            edited = dict(fact)
            if typed is None:
                edited.pop(field, None)
                yield profile, edited, f"{field} unknown"
            else:
                edited[field] = typed[1]
                yield profile, edited, f"{field} = {typed[1]!r}"


def _check_scores(key: str, peer: str, points: Points, fired: frozenset[str],
                  result: Any) -> None:
    violation = points.violation(fired)
    if isinstance(result, GroupViolation):
        if violation != (result.group, result.kind):
            raise PeerDisagreement(
                f"profile {key}: latticework refuses it ({result.kind} group '{result.group}', "
                f"rules {', '.join(result.rules) or 'none'}); with {peer}'s firings "
                + (f"the {violation[1]} group '{violation[0]}' breaks" if violation
                   else "no group breaks"))
        return
    if violation is not None:
        raise PeerDisagreement(
            f"profile {key}: with {peer}'s firings the {violation[1]} group '{violation[0]}' "
            "breaks; latticework scores the profile")
    for target, score in points.scores(fired).items():
        theirs = result.target(target)
        if theirs.score != score:
            counted = {c.rule for c in theirs.contributions}
            feeding = {rid for rid in fired if any(t == target for t, _ in points.points[rid])}
            differ = sorted(counted ^ feeding)
            raise PeerDisagreement(
                f"profile {key}: {target} is {theirs.score} in latticework and {score} from "
                f"{peer}'s firings"
                + (f"; rule '{differ[0]}' counts in only one of them" if differ else ""))


# --- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    key: str  # the key in peers_rates() and the JSON output
    label: str
    seconds: Callable[[slice], float]


def _firing_and_points(fired: Callable[[Fact], frozenset[str]], points: Points,
                       facts: list[Fact], clock: Callable[[], float]) -> Callable[[slice], float]:
    totals = points.totals

    def seconds(part: slice) -> float:
        chosen = facts[part]
        start = clock()
        for fact in chosen:
            totals(fired(fact))
        return clock() - start

    return seconds


def _end_to_end(engine: Engine, profiles: list[Any],
                clock: Callable[[], float]) -> Callable[[slice], float]:
    def seconds(part: slice) -> float:
        chosen = profiles[part]
        start = clock()
        for _ in engine.score_iter(chosen):
            pass
        return clock() - start

    return seconds


def measure(n: int, seed: int = SEED, rounds: int = ROUNDS, clock: str = "wall") -> dict[str, Any]:
    """Agreement on all n profiles, then every engine's profiles/s (median over slices).

    Raises :class:`PeerDisagreement` on the first disagreement, :class:`PeerError` when a
    peer refuses a translated rule, ImportError when the ``peers`` extra is not installed.
    """
    from engine.evaluator import ReferenceEvaluator

    timer = CLOCKS[clock]
    profiles = list(random_profiles(n, seed=seed))
    facts = [flatten(p) for p in profiles]
    with Engine.load() as engine:
        ruleset = engine.ruleset
        points = Points(ruleset)
        clips_peer, rule_engine_peer = ClipsPeer(ruleset), RuleEnginePeer(ruleset)
        edited = check_agreement(engine, [clips_peer, rule_engine_peer], profiles, facts)
        reference = ReferenceEvaluator(ruleset)
        contenders = [
            Contender("latticework", "latticework end to end (score_iter, durable_rules, explained)",
                      _end_to_end(engine, profiles, timer)),
            Contender("reference", "latticework reference evaluator (firing + points)",
                      _firing_and_points(reference.fired, points, facts, timer)),
            Contender("clips", f"{ClipsPeer.name} (firing + points)",
                      _firing_and_points(clips_peer.fired, points, facts, timer)),
            Contender("rule_engine", f"{RuleEnginePeer.name} (firing + points)",
                      _firing_and_points(rule_engine_peer.fired, points, facts, timer)),
        ]
        rates: dict[str, list[float]] = {c.key: [] for c in contenders}
        slices = [slice(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]
        turn = 0
        for _ in range(rounds):
            for part in slices:
                # the engines in turn on one slice, the first one rotating, so that
                # neither a drift of the machine nor a warm cache favours one of them
                for c in contenders[turn % len(contenders):] + contenders[:turn % len(contenders)]:
                    rates[c.key].append((part.stop - part.start) / c.seconds(part))
                turn += 1
        rules = len(ruleset.rules)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    base = medians["latticework"]
    return {
        "profiles": n,
        "seed": seed,
        "rounds": rounds,
        "clock": clock,
        "rules": rules,
        "agreement": f"fired sets and scores agree on all {n:,} profiles, "
                     f"fired sets on {edited} edited at the rules' thresholds",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "versions": {name: metadata.version(name) for name in EXTRA},
        "engines": [
            {"engine": c.key, "label": c.label, "profiles_per_s": round(medians[c.key]),
             "vs_latticework": round(medians[c.key] / base, 2)}
            for c in contenders
        ],
    }


def peers_rates(n: int, seed: int = SEED, rounds: int = ROUNDS,
                clock: str = "wall") -> dict[str, float]:
    """Engine -> profiles/s (latticework, reference, clips, rule_engine), measured in one run
    after the agreement check; for ``latticework bench`` when the extra is installed."""
    return {e["engine"]: e["profiles_per_s"] for e in measure(n, seed, rounds, clock)["engines"]}


def available() -> bool:
    """Whether the ``peers`` extra is installed."""
    try:
        for name in EXTRA:
            metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def table(figures: dict[str, Any]) -> str:
    lines = [f"latticework and its peers ({figures['machine']}), {figures['profiles']:,} generated "
             f"profiles, {figures['rules']} rules, medians over {figures['rounds']} rounds, "
             f"{figures['clock']} clock",
             f"({figures['agreement']}; "
             + ", ".join(f"{k} {v}" for k, v in figures["versions"].items()) + ")",
             "",
             "| engine | profiles/s | vs latticework end to end |",
             "|---|---:|---:|"]
    for e in figures["engines"]:
        lines.append(f"| {e['label']} | {e['profiles_per_s']:,} | {e['vs_latticework']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=3000, help="generated profiles (3000)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timing rounds ({ROUNDS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed ({SEED})")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall: elapsed time, as the bench measures; cpu: this process's "
                        "CPU time, steadier on a machine other work shares")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    if args.profiles < 1 or args.rounds < 1:
        parser.error("--profiles and --rounds must be at least 1")
    if not available():
        print("the peers extra is not installed: .venv/bin/pip install -e '.[peers]'",
              file=sys.stderr)
        return 2
    try:
        figures = measure(args.profiles, args.seed, args.rounds, args.clock)
    except PeerError as exc:
        print(f"{'disagreement' if isinstance(exc, PeerDisagreement) else 'error'}: {exc}",
              file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(json.dumps(figures, indent=2) + "\n" if args.format == "json"
                     else table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
