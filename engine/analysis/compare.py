"""Comparing results: what-if, two snapshots, a country's history.

Each comparison says how every score moved, which facts differ, and which
rules started or stopped firing: the rules are the explanation of each move.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from pydantic import BaseModel

from ..api import Engine
from ..fields import flatten
from ..fields import show_value
from ..profile import Profile
from ..results import ProfileResult
from ..results import SourceOut
from .changes import apply_changes


class FactChange(BaseModel):
    field: str
    before: Any
    after: Any


class RuleChange(BaseModel):
    rule: str
    title: str
    points: dict[str, int]
    source: SourceOut


class ScoreMove(BaseModel):
    target: str
    before: int
    after: int
    delta: int
    band_before: str
    band_after: str


class Comparison(BaseModel):
    before: str
    after: str
    facts: list[FactChange]
    moves: list[ScoreMove]
    started: list[RuleChange]
    stopped: list[RuleChange]


def _rule_change(engine: Engine, rule_id: str) -> RuleChange:
    rule = engine.ruleset.rule(rule_id)
    return RuleChange(rule=rule.id, title=rule.title, points=dict(rule.points),
                      source=SourceOut(id=rule.source.id, section=rule.source.section))


def compare_profiles(
    engine: Engine, a: Profile, b: Profile, label_a: str | None = None, label_b: str | None = None
) -> Comparison:
    ra, rb = engine.score(a), engine.score(b)
    fa, fb = flatten(a), flatten(b)
    facts = [FactChange(field=f, before=fa.get(f), after=fb.get(f))
             for f in sorted(set(fa) | set(fb)) if fa.get(f) != fb.get(f)]
    fired_a, fired_b = engine.fired(a), engine.fired(b)
    return Comparison(
        before=label_a or a.key,
        after=label_b or b.key,
        facts=facts,
        moves=_moves(engine, ra, rb),
        started=[_rule_change(engine, r) for r in sorted(fired_b - fired_a)],
        stopped=[_rule_change(engine, r) for r in sorted(fired_a - fired_b)],
    )


def _moves(engine: Engine, ra: ProfileResult, rb: ProfileResult) -> list[ScoreMove]:
    out = []
    for target in engine.ruleset.targets:
        sa, sb = ra.target(target), rb.target(target)
        out.append(ScoreMove(target=target, before=sa.score, after=sb.score,
                             delta=sb.score - sa.score, band_before=sa.band, band_after=sb.band))
    return out


def whatif(engine: Engine, profile: Profile, changes: Mapping[str, Any]) -> Comparison:
    changed = apply_changes(profile, changes)
    label = ", ".join(f"{k}={show_value(v)}" for k, v in changes.items())
    return compare_profiles(engine, profile, changed, profile.key, f"{profile.key} with {label}")


def history(engine: Engine, profiles: list[Profile]) -> list[Comparison]:
    """Consecutive snapshots of one country, oldest first."""
    ordered = sorted(profiles, key=lambda p: p.as_of)
    return [compare_profiles(engine, a, b) for a, b in pairwise(ordered)]


def comparison_text(c: Comparison) -> str:
    from ..render import join_lines

    lines = [f"{c.before} -> {c.after}"]
    if c.facts:
        lines.append("  facts that differ:")
        lines += [f"    {f.field}: {show_value(f.before)} -> {show_value(f.after)}" for f in c.facts]
    lines.append("  scores:")
    width = max(len(m.target) for m in c.moves)
    for m in c.moves:
        band = f"   {m.band_before} -> {m.band_after}" if m.band_before != m.band_after else ""
        lines.append(f"    {m.target:<{width}}  {m.before:>3} -> {m.after:>3}  ({m.delta:+d}){band}")
    for title, rules, sign in (("rules that started firing", c.started, "+"),
                               ("rules that stopped firing", c.stopped, "-")):
        if rules:
            lines.append(f"  {title}:")
            for r in rules:
                pts = ", ".join(f"{t} {p:+d}" for t, p in r.points.items())
                src = f"{r.source.id} § {r.source.section}" if r.source.section else r.source.id
                lines.append(f"    {sign} {r.rule}: {r.title} [{pts}] ({src})")
    if not (c.started or c.stopped):
        lines.append("  no rule started or stopped firing")
    return join_lines(lines)


def country_history(engine: Engine, country: str,
                    profiles_dir: Any = None) -> tuple[list[Profile], list[Comparison]]:
    """A country's snapshots, oldest first, and each move between consecutive ones."""
    from ..errors import UnknownProfileError
    from ..fields import suggest

    loaded, _ = engine.load_profiles(profiles_dir)
    mine = sorted((lp.profile for lp in loaded if lp.profile.country == country),
                  key=lambda p: p.as_of)
    if not mine:
        countries = sorted({lp.profile.country for lp in loaded})
        raise UnknownProfileError(country, suggest(country, countries))
    return mine, history(engine, mine)


def history_text(country: str, snapshots: list[Profile], moves: list[Comparison]) -> str:
    text = f"{country}: {' -> '.join(p.key for p in snapshots)}\n"
    if not moves:
        text += "only one snapshot: nothing to compare\n"
    return text + "\n".join(comparison_text(c) for c in moves)
