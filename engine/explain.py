"""Rendering results and traces as text, Markdown, JSON, CSV and tables.

Renderers only select and format what scoring and the trace already decided;
none of them recomputes a score or a firing. Each returns a string ending in a
newline, so the CLI can write it whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from typing import Any, Iterable

from .results import BatchResult, Contribution, Match, ProfileResult, ScoreResult
from .rules import Rule, RuleSet
from .schema import show_value
from .trace import RuleFired, RuleNotFired, Trace

WIDTH = 88

TITLES = {"deterrence": "Deterrence", "alignment_risk": "Alignment risk"}


def describe_match(m: Match) -> str:
    """One matched fact in words: the profile's value, the rule's test, how firm the fact is."""
    if m.op == "is unknown":
        text = f"{m.field} is unknown"
    elif m.op == "is known":
        text = f"{m.field} = {show_value(m.value)} (known)"
    elif m.op == "=":
        text = f"{m.field} = {show_value(m.value)}"
    else:
        text = f"{m.field} = {show_value(m.value)} (rule: {m.op} {show_value(m.threshold)})"
    provenance = [p for p in (m.confidence, m.source) if p]
    if provenance:
        text += f"  [{'; '.join(provenance)}]"
    elif m.op != "is unknown":
        text += "  [no source given]"
    return text


def _source(c: Contribution) -> str:
    return f"{c.source.id} § {c.source.section}" if c.source.section else c.source.id


def _points(n: int) -> str:
    return f"{n:+d}"


def _wrap(text: str, indent: str, lead: str = "") -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent + lead, subsequent_indent=indent + " " * len(lead),
        break_on_hyphens=False,
    )


def _score_text(title: str, s: ScoreResult, detail: bool = True) -> list[str]:
    lines = [f"{title}: {s.score} ({s.band})"]
    lines.append(f"  base {s.base}")
    for c in s.contributions:
        lines.append(f"  {_points(c.points):>4}  {c.rule}: {c.title}")
        if detail:
            for m in c.matched:
                lines.extend(_wrap(describe_match(m), " " * 8, "fact: "))
            lines.extend(_wrap(c.rationale, " " * 8))
            lines.append(" " * 8 + f"source: {_source(c)}")
            if c.support:
                lines.extend(_wrap(c.support, " " * 10, "which says: "))
    if s.adjustment:
        lines.append(f"  {_points(s.adjustment):>4}  adjustment: bounded to 0..100")
    total = " + ".join([str(s.base), *(f"({c.points})" for c in s.contributions)])
    if s.adjustment:
        total += f" + ({s.adjustment})"
    lines.append(f"  = {total} = {s.score}")
    return lines


def result_text(r: ProfileResult, ruleset: RuleSet) -> str:
    lines = [
        f"{r.name} ({r.profile}, as of {r.as_of.isoformat()})",
        f"rule set {ruleset.digest}, {len(ruleset.rules)} rules",
        "",
    ]
    for name in ("deterrence", "alignment_risk"):
        lines.extend(_score_text(TITLES[name], r.target(name)))
        lines.append("")
    lines.append("Dimensions")
    for name, s in r.dimensions.items():
        title = ruleset.dimensions[name].title
        lines.append("")
        lines.extend(_score_text(title, s, detail=False))
    return "\n".join(lines).rstrip() + "\n"


def result_markdown(r: ProfileResult, ruleset: RuleSet) -> str:
    out = [f"# {r.name} ({r.profile})", "", f"As of {r.as_of.isoformat()}; "
           f"rule set `{ruleset.digest}` ({len(ruleset.rules)} rules).", ""]
    out += ["| score | value | band |", "|---|---:|---|"]
    for name in ("deterrence", "alignment_risk"):
        s = r.target(name)
        out.append(f"| {TITLES[name]} | {s.score} | {s.band} |")
    for name, s in r.dimensions.items():
        out.append(f"| {ruleset.dimensions[name].title} | {s.score} | {s.band} |")
    for name in ("deterrence", "alignment_risk"):
        s = r.target(name)
        out += ["", f"## {TITLES[name]}: {s.score} ({s.band})", "",
                "| points | rule | facts matched | source |", "|---:|---|---|---|",
                f"| {s.base} | base | | |"]
        for c in s.contributions:
            facts = "<br>".join(_md(describe_match(m)) for m in c.matched)
            out.append(f"| {_points(c.points)} | **{c.rule}**: {_md(c.title)}<br>{_md(c.rationale)} "
                       f"| {facts} | {_source(c)} |")
        if s.adjustment:
            out.append(f"| {_points(s.adjustment)} | adjustment (bounded to 0..100) | | |")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def result_json(r: ProfileResult) -> str:
    return json.dumps(r.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def batch_json(b: BatchResult) -> str:
    return json.dumps(b.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def batch_rows(b: BatchResult, ruleset: RuleSet) -> tuple[list[str], list[list[Any]]]:
    dims = list(ruleset.dimensions)
    # each column named once, so that csv.DictReader and pandas keep both bands
    headers = ["#", "profile", "name", "deterrence", "deterrence_band", "alignment_risk",
               "alignment_risk_band", *dims]
    rows = []
    for i, r in enumerate(b.results, 1):
        rows.append([
            i, r.profile, r.name, r.deterrence.score, r.deterrence.band,
            r.alignment_risk.score, r.alignment_risk.band, *(r.dimensions[d].score for d in dims),
        ])
    return headers, rows


def batch_table(b: BatchResult, ruleset: RuleSet, fmt: str) -> str:
    from tabulate import tabulate  # imported where used: the CLI starts faster without it

    headers, rows = batch_rows(b, ruleset)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buf.getvalue()
    style = "github" if fmt == "markdown" else "simple"
    short = [h.replace("_", " ") for h in headers]
    head = f"Ranking {b.selection.describe()}\n\n" if b.selection else ""
    return head + tabulate(rows, short, tablefmt=style, disable_numparse=True) + "\n"


def errors_text(errors: Iterable[Any], verb: str = "scored") -> str:
    errors = list(errors)
    n = len(errors)
    lines = [f"{n} profile{'s' if n != 1 else ''} could not be {verb}:"]
    lines += [f"- {e.source}: {e.message}" for e in errors]
    return "\n".join(lines) + "\n"


def trace_text(t: Trace, result: ProfileResult, show_all: bool) -> str:
    """The evaluation, rule by rule: what fired on which facts and, with --all, what did not."""
    lines = [f"{result.name} ({result.profile}): {len(t.fired)} of "
             f"{len(t.fired) + len(t.not_fired)} rules fired ({t.evaluator} evaluator)", ""]
    for event in t.events:
        if isinstance(event, RuleFired):
            lines.append(f"FIRED  {_rule_head(event.rule)}")
            lines += [f"         fact: {describe_match(m)}" for m in event.matches]
        elif isinstance(event, RuleNotFired) and show_all:
            lines.append(f"no     {_rule_head(event.rule)}")
            lines += [f"         unmet: {describe_match(m)}" for m in t.unmet(event)]
    lines.append("")
    for target in ("deterrence", "alignment_risk", *result.dimensions):
        s = result.target(target)
        parts = " ".join(_points(c.points) for c in s.contributions) or "(no rule)"
        adj = f" = raw {s.raw}, bounded {_points(s.adjustment)}" if s.adjustment else ""
        lines.append(f"{target}: {s.base} {parts}{adj} = {s.score} ({s.band})")
    return "\n".join(lines) + "\n"


def _rule_head(rule: Rule) -> str:
    pts = ", ".join(f"{t} {_points(p)}" for t, p in rule.points)
    return f"{rule.id} [{pts}]"


def rules_table(ruleset: RuleSet, fmt: str) -> str:
    from tabulate import tabulate

    rows = [[r.id, r.dimension, ", ".join(f"{t} {_points(p)}" for t, p in r.points),
             r.group or "", f"{r.source.id}#{r.source.section}" if r.source.section else r.source.id,
             r.title] for r in ruleset.rules]
    headers = ["id", "dimension", "points", "group", "source", "title"]
    if fmt == "json":
        return json.dumps([r.canonical() | {"file": r.file, "line": r.line} for r in ruleset.rules],
                          indent=2, ensure_ascii=False) + "\n"
    return tabulate(rows, headers, tablefmt="github" if fmt == "markdown" else "simple") + "\n"
