"""``rules check``: what can be proved about a rule base, for every valid profile.

The condition language (enums, bounded numbers, booleans, known/unknown,
and/or/not) is decidable, so the checks are exact, done by the z3 SMT solver
over a symbolic profile, not by sampling:

* dead rule: no profile fires it;
* exclusive overlap: one profile fires two rules of an exclusive group;
* required gap: a profile fires no rule of a required group;
* masked rule: the rule fires only on profiles that some group rejects;
* monotone violation: a declared intent (``monotone:`` in model.yaml) fails for
  some pair of profiles that differ in that one field;
* wrong sign: a rule's points contradict its declared ``direction``;
* out of range: some valid profile's raw score leaves 0..100, so bounding would
  bind and tie profiles at a bound (the weights are a budget that must fit);
* double counting: two rules that can fire together on a valid profile read the same
  fact (or facts ``model.yaml`` declares one indicator) and feed the same score,
  unless one reads it only as declared ``context`` or ``model.yaml`` declares the
  overlap intended, with a reason.

Every logical finding carries a witness: the profile (or pair) that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from itertools import combinations
from typing import Any

from ..conditions import fields_of
from ..fields import show_value
from ..rules import Monotone
from ..rules import Rule
from ..rules import RuleSet
from ..rules import ScoreDef
from .symbolic import Symbolic


@dataclass(frozen=True)
class Finding:
    code: str
    file: str
    line: int | None
    message: str
    witnesses: tuple[tuple[str, dict[str, Any]], ...] = field(default=())
    severity: str = "error"

    def text(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        lines = [f"{where}: {self.severity}: {self.message} [{self.code}]"]
        for label, profile in self.witnesses:
            lines.append(f"    {label}:")
            if not profile:
                lines.append("      (every field unknown but the required ones)")
            for key, value in profile.items():
                lines.append(f"      {key}: {show_value(value)}")
        return "\n".join(lines)


class Checker:
    def __init__(self, ruleset: RuleSet) -> None:
        import z3  # imported where used: the solver is large and only `rules check` needs it

        self.z3 = z3
        self.ruleset = ruleset
        self.texts: dict[str, int] = {}
        self.p = Symbolic(z3, "p", self.texts)
        self.valid_p = self.p.valid(ruleset)

    def solve(self, *constraints: Any) -> Any | None:
        s = self.z3.Solver()
        s.add(*constraints)
        return s.model() if s.check() == self.z3.sat else None

    def run(self) -> list[Finding]:
        findings = self.signs()
        findings += self.dead_and_masked()
        findings += self.groups()
        findings += self.monotone()
        findings += self.ranges()
        findings += self.double_counting()
        findings += self.durable_limits()
        return sorted(findings, key=lambda f: (f.file, f.line or 0, f.code, f.message))

    def extremes(self, target: ScoreDef) -> tuple[int, int, Any, Any]:
        """The lowest and highest raw score any valid profile reaches, with witnesses."""
        out = []
        for sense in ("minimize", "maximize"):
            opt = self.z3.Optimize()
            opt.add(self.valid_p)
            raw = self.p.raw(self.ruleset, target)
            getattr(opt, sense)(raw)
            assert opt.check() == self.z3.sat, "a rule set with a required gap has no valid profile"
            model = opt.model()
            out.append((model.eval(raw, model_completion=True).as_long(), model))
        (lo, m_lo), (hi, m_hi) = out
        return lo, hi, m_lo, m_hi

    def co_firing(self) -> tuple[int, Any]:
        """The most rules one profile fires together, with a witness.

        Over every profile that loads, valid or not: durable_rules matches a profile
        before the groups are checked, so its tables must hold whatever a profile fires.
        """
        z3 = self.z3
        opt = z3.Optimize()
        opt.add(*self.p.domain)
        count = z3.Sum([z3.If(self.p.fires(r), 1, 0) for r in self.ruleset.rules]) \
            if self.ruleset.rules else z3.IntVal(0)
        opt.maximize(count)
        assert opt.check() == z3.sat, "the profile model's domain is never empty"
        model = opt.model()
        return model.eval(count, model_completion=True).as_long(), model

    def durable_limits(self) -> list[Finding]:
        """Rules durable_rules could not run: each overflows one of its fixed tables alone.

        The loader refuses them; this holds for rule sets built another way. Tables that
        only rules together overflow (the 64 matches of the stack among them) are kept by
        running the rules as several durable_rules rulesets (``durable_limits.split_rulesets``).
        """
        from ..durable_limits import rule_limits

        return [Finding(p.code, r.file, r.line,
                        f"rule '{r.id}' cannot run in durable_rules: {p.detail}; at most "
                        f"{p.maximum} {p.limit}, found {p.found}")
                for r in self.ruleset.rules for p in rule_limits(r)]

    def ranges(self) -> list[Finding]:
        """Every target's raw score stays within 0..100 on every valid profile."""
        out = []
        for target in self.ruleset.targets.values():
            lo, hi, m_lo, m_hi = self.extremes(target)
            if lo >= 0 and hi <= 100:
                continue
            paths = set().union(*(fields_of(r.when) for r in self.ruleset.rules
                                   if r.points_for(target.id)))
            witnesses = []
            if lo < 0:
                witnesses.append((f"a profile at raw {lo}", self.p.witness(m_lo, paths)))
            if hi > 100:
                witnesses.append((f"a profile at raw {hi}", self.p.witness(m_hi, paths)))
            out.append(Finding(
                "out-of-range", self.ruleset.directory + "/model.yaml", None,
                f"{target.id} ranges over {lo}..{hi} (base {target.base}) on valid profiles, "
                "outside 0..100: bounding would tie profiles at a bound; rebalance the "
                "points or the base", tuple(witnesses)))
        return out

    def double_counting(self) -> list[Finding]:
        """Pairs of co-firing rules that score the same evidence into the same target."""
        indicator = {f: name for name, fields in self.ruleset.indicators.items() for f in fields}
        intended = {frozenset(pair) for pair in self.ruleset.intended_overlaps}

        def facts(rule: Rule) -> set[str]:
            return {indicator.get(f, f) for f in rule.evidence}

        out = []
        rules = self.ruleset.rules
        for a, b in combinations(rules, 2):
            if frozenset((a.id, b.id)) in intended:
                continue
            if a.group is not None and a.group == b.group and self.ruleset.groups[a.group].exclusive:
                continue
            shared_targets = {t for t, _ in a.points} & {t for t, _ in b.points}
            shared_facts = facts(a) & facts(b)
            if not shared_targets or not shared_facts:
                continue
            model = self.solve(self.valid_p, self.p.fires(a), self.p.fires(b))
            if model is None:
                continue
            paths = fields_of(a.when) | fields_of(b.when)
            out.append(Finding(
                "double-counting", b.file, b.line,
                f"rules '{a.id}' and '{b.id}' can fire together, both read "
                f"{', '.join(sorted(shared_facts))} as evidence and both feed "
                f"{', '.join(sorted(shared_targets))}: the fact is counted twice (declare the "
                "field as context in one rule, or the overlap as intended in model.yaml, "
                "with the reason)",
                (("witness profile", self.p.witness(model, paths)),)))
        return out

    def signs(self) -> list[Finding]:
        out = []
        for r in self.ruleset.rules:
            for target, direction in r.direction:
                pts = r.points_for(target)
                if pts == 0:
                    msg = f"rule '{r.id}' declares that it {direction} {target} but gives it no points"
                elif (pts > 0) != (direction == "raises"):
                    msg = (f"rule '{r.id}' declares that it {direction} {target} but its points "
                           f"are {pts:+d}")
                else:
                    continue
                out.append(Finding("wrong-sign", r.file, r.line, msg))
        return out

    def dead_and_masked(self) -> list[Finding]:
        out = []
        for r in self.ruleset.rules:
            fires = self.p.fires(r)
            if self.solve(*self.p.domain, fires) is None:
                out.append(Finding("dead-rule", r.file, r.line,
                                   f"rule '{r.id}' can never fire: no profile meets its condition"))
            elif self.solve(self.valid_p, fires) is None:
                out.append(Finding(
                    "masked-rule", r.file, r.line,
                    f"rule '{r.id}' fires only on profiles that break a group (an exclusive "
                    "group firing twice or a required group not at all), so it never scores"))
        return out

    def groups(self) -> list[Finding]:
        out = []
        rules_by_group: dict[str, list[Rule]] = {}
        for r in self.ruleset.rules:
            if r.group:
                rules_by_group.setdefault(r.group, []).append(r)
        for gid, group in sorted(self.ruleset.groups.items()):
            members = rules_by_group.get(gid, [])
            if group.exclusive:
                for a, b in combinations(members, 2):
                    model = self.solve(*self.p.domain, self.p.fires(a), self.p.fires(b))
                    if model is not None:
                        paths = fields_of(a.when) | fields_of(b.when)
                        out.append(Finding(
                            "exclusive-overlap", b.file, b.line,
                            f"rules '{a.id}' and '{b.id}' of exclusive group '{gid}' can fire "
                            "together",
                            (("witness profile", self.p.witness(model, paths)),)))
            if group.required and members:
                model = self.solve(*self.p.domain,
                                   self.z3.Not(self.z3.Or(*[self.p.fires(r) for r in members])))
                if model is not None:
                    paths = set().union(*(fields_of(r.when) for r in members))
                    out.append(Finding(
                        "required-gap", group.file, group.line,
                        f"required group '{gid}' has a gap: a valid profile fires none of "
                        f"{', '.join(r.id for r in members)}",
                        (("witness profile", self.p.witness(model, paths)),)))
        return out

    def monotone(self) -> list[Finding]:
        out = []
        for target in self.ruleset.targets.values():
            for decl in target.monotone:
                finding = self.prove(target, decl)
                if finding:
                    out.append(finding)
        return out

    def prove(self, target: ScoreDef, decl: Monotone) -> Finding | None:
        """Search a pair of valid profiles, equal but for ``decl.field``, that breaks it.

        Profile B is profile A with the field's variables replaced, so only rules that
        read the field can differ. Their raw points decide first (fast); bounding to
        0..100 preserves order, so a raw proof is a proof, and a raw counterexample is
        confirmed on the bounded scores before it is reported.
        """
        z3, p = self.z3, self.p
        f = decl.field
        spec = p.specs[f]
        qk, qv = z3.Bool(f"q:{f}?"), (z3.Bool if spec.kind == "bool" else z3.Int)(f"q:{f}")
        swap = [(p.known[f], qk), (p.value[f], qv)]

        def as_b(expr: Any) -> Any:
            return z3.substitute(expr, *swap)

        base = [self.valid_p, as_b(self.valid_p), *[as_b(c) for c in p.bounds[f]], p.known[f], qk]
        # B is "higher" than A in the declared order
        if decl.ranks is None:
            higher = z3.And(z3.Not(p.value[f]), qv) if spec.kind == "bool" else p.value[f] < qv
        else:
            pairs = [z3.And(p.value[f] == p.const(spec, lo), qv == p.const(spec, hi))
                     for i, j in combinations(range(len(decl.ranks)), 2)
                     for lo in decl.ranks[i] for hi in decl.ranks[j]]
            higher = z3.Or(*pairs)
        reading = [r for r in self.ruleset.rules if r.points_for(target.id) and f in fields_of(r.when)]
        delta = z3.IntVal(0)
        for r in reading:
            fa = p.fires(r)
            delta = delta + z3.If(as_b(fa), r.points_for(target.id), 0) \
                - z3.If(fa, r.points_for(target.id), 0)
        wrong_way = delta < 0 if decl.direction == "increasing" else delta > 0
        if self.solve(*base, higher, wrong_way) is None:
            return None
        sp = p.score(self.ruleset, target)
        sq = as_b(sp)
        broken = sq < sp if decl.direction == "increasing" else sq > sp
        model = self.solve(*base, higher, broken)
        if model is None:
            return None  # the raw points move the wrong way only where the bounds absorb it
        paths = {f}
        for r in self.ruleset.rules:
            if r.points_for(target.id):
                paths |= fields_of(r.when)
        a = p.witness(model, paths)
        b = {f: p.decode(f, model.eval(qv, model_completion=True))}
        score_a = model.eval(sp, model_completion=True).as_long()
        score_b = model.eval(sq, model_completion=True).as_long()
        return Finding(
            "monotone-violation", decl.file, decl.line,
            f"declared: {decl.describe()}; but {target.id} goes from {score_a} to {score_b} "
            f"when {f} goes from {show_value(a[f])} to {show_value(b[f])}",
            (("profile A", a), ("profile B, the same but", b)),
        )


def check_rules(ruleset: RuleSet) -> list[Finding]:
    return Checker(ruleset).run()


def firing_report(ruleset: RuleSet) -> str:
    """How many rules fire together at most (proved), against durable_rules' matching stack."""
    from ..compiler import compile_ruleset
    from ..durable_limits import MAX_PENDING
    from ..durable_limits import split_rulesets

    most, _ = Checker(ruleset).co_firing()
    try:
        n = len(split_rulesets(compile_ruleset(ruleset)))
    except ValueError:
        how = "some rule overflows its tables alone (see the errors above)"
    else:
        how = ("the rules run as one durable_rules ruleset within that limit" if n == 1 else
               f"the rules run as {n} durable_rules rulesets, each within that limit")
    return (f"at most {most} of the {len(ruleset.rules)} rules fire together on a profile; "
            f"durable_rules holds at most {MAX_PENDING} matched tests at once in one ruleset, "
            f"and {how}")


def coverage(ruleset: RuleSet, fired_sets: list[frozenset[str]]) -> list[tuple[str, int]]:
    """How many of the given profiles fired each rule, in rule order."""
    counts = {r.id: 0 for r in ruleset.rules}
    for fired in fired_sets:
        for rid in fired:
            counts[rid] += 1
    return list(counts.items())


def check_text(ruleset: RuleSet, findings: list[Finding]) -> str:
    """The findings, the co-firing bound and a closing count, as ``rules check`` prints them."""
    lines = [f.text() for f in findings]
    lines.append(firing_report(ruleset))
    declared = sum(len(t.monotone) for t in ruleset.targets.values())
    errors = sum(f.severity == "error" for f in findings)
    lines.append(f"{len(ruleset.rules)} rules, {len(ruleset.groups)} groups, {declared} monotone "
                 f"declarations checked: {errors} error{'s' if errors != 1 else ''}")
    return "\n".join(lines) + "\n"


def profile_coverage(engine: Any, loaded: list[Any]) -> list[tuple[str, int]]:
    """How many of the loaded profiles fire each rule, in rule order."""
    return coverage(engine.ruleset, [engine.fired(lp.profile) for lp in loaded])


def coverage_text(counts: list[tuple[str, int]], n_profiles: int) -> str:
    from tabulate import tabulate

    never = [rid for rid, n in counts if n == 0]
    text = tabulate([[rid, n] for rid, n in counts],
                    ["rule", f"profiles fired (of {n_profiles})"], tablefmt="simple")
    text += f"\n{len(counts) - len(never)} of {len(counts)} rules fire on some profile"
    return text + (f"; never fired: {', '.join(never)}" if never else "") + "\n"
