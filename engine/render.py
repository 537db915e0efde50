"""Rendering results and traces as text, Markdown, JSON, CSV and tables.

Renderers only select and format what scoring and the trace already decided;
none of them recomputes a score or a firing. Each returns a string ending in a
newline, so the CLI can write it whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from typing import Any, Iterable

from .results import BatchResult, Contribution, Match, ProfileResult, ScoreResult
from .rules import Rule, RuleSet
from .fields import show_value
from .trace import RuleFired, RuleNotFired, Trace

WIDTH = 88

TITLES = {"deterrence": "Deterrence", "alignment_risk": "Alignment risk"}

# C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional
# embeddings, overrides and isolates: any of them, coming from a profile or rule file,
# could move a terminal's cursor, retitle its window, hide or reorder text, split what a
# reader takes for one line, or make an HTML or SVG file invalid (NUL).
_OTHER_CONTROLS = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(rf"[\x00-\x1f{_OTHER_CONTROLS}]")
# the whitespace that textwrap turns into spaces (tab, newline, VT, FF, CR) left as it is
_UNSAFE_IN_PARAGRAPH = re.compile(rf"[\x00-\x08\x0e-\x1f{_OTHER_CONTROLS}]")
# what json.dumps(ensure_ascii=False) leaves raw; it escapes C0 itself
_UNSAFE_IN_JSON = re.compile(rf"[{_OTHER_CONTROLS}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# a cell starting with one of these is a formula to a spreadsheet
_FORMULA = ("=", "+", "-", "@")


def _escape(m: re.Match) -> str:
    ch = m.group()
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe_text(text: str) -> str:
    """Text for one line of a terminal, a table cell or a page: every control character
    (a newline too) written as a visible escape such as ``\\x1b``."""
    return _UNSAFE.sub(_escape, text)


def join_lines(lines: Iterable[str]) -> str:
    """Lines as one text ending in a newline, each line made safe on its own: a newline
    inside a line came from a file and must not start a line of its own."""
    return "\n".join(safe_text(line) for line in lines) + "\n"


def safe_cells(rows: Iterable[Iterable[Any]], markdown: bool = False) -> list[list[Any]]:
    """Table rows with every text cell made safe; in Markdown a ``|`` would end the cell."""
    def cell(c: Any) -> Any:
        if not isinstance(c, str):
            return c
        return _md(safe_text(c)) if markdown else safe_text(c)

    return [[cell(c) for c in row] for row in rows]


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet reads as the text it is: a leading ``=``, ``+``, ``-`` or ``@``
    would make it a formula, so such a text is prefixed with a single quote."""
    if not isinstance(value, str):
        return value
    value = safe_text(value)
    return "'" + value if value.startswith(_FORMULA) else value


def safe_json(text: str) -> str:
    """JSON with the control characters that ``ensure_ascii=False`` leaves raw (DEL, C1,
    separators, bidirectional controls) written as ``\\u`` escapes: the same data, and
    nothing a terminal acts on. They can occur only inside strings, where the escape is valid."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
        _UNSAFE_IN_PARAGRAPH.sub(_escape, text), WIDTH, initial_indent=indent + lead, subsequent_indent=indent + " " * len(lead),
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
    return join_lines(lines).rstrip() + "\n"


def result_markdown(r: ProfileResult, ruleset: RuleSet) -> str:
    out = [f"# {r.name} ({r.profile})", "", f"As of {r.as_of.isoformat()}; "
           f"rule set `{ruleset.digest}` ({len(ruleset.rules)} rules).", ""]
    out += ["| score | value | band |", "|---|---:|---|"]
    for name in ("deterrence", "alignment_risk"):
        s = r.target(name)
        out.append(f"| {TITLES[name]} | {s.score} | {s.band} |")
    for name, s in r.dimensions.items():
        out.append(f"| {_md(ruleset.dimensions[name].title)} | {s.score} | {s.band} |")
    for name in ("deterrence", "alignment_risk"):
        s = r.target(name)
        out += ["", f"## {TITLES[name]}: {s.score} ({s.band})", "",
                "| points | rule | facts matched | source |", "|---:|---|---|---|",
                f"| {s.base} | base | | |"]
        for c in s.contributions:
            facts = "<br>".join(_md(describe_match(m)) for m in c.matched)
            out.append(f"| {_points(c.points)} | **{c.rule}**: {_md(c.title)}<br>{_md(c.rationale)} "
                       f"| {facts} | {_md(_source(c))} |")
        if s.adjustment:
            out.append(f"| {_points(s.adjustment)} | adjustment (bounded to 0..100) | | |")
    return join_lines(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def result_json(r: ProfileResult) -> str:
    return safe_json(json.dumps(r.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def batch_json(b: BatchResult) -> str:
    return safe_json(json.dumps(b.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


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
        writer.writerows([csv_cell(c) for c in row] for row in rows)
        return buf.getvalue()
    style = "github" if fmt == "markdown" else "simple"
    short = [h.replace("_", " ") for h in headers]
    head = f"Ranking {b.selection.describe()}\n\n" if b.selection else ""
    cells = safe_cells(rows, markdown=fmt == "markdown")
    return head + tabulate(cells, short, tablefmt=style, disable_numparse=True) + "\n"


def errors_text(errors: Iterable[Any], verb: str = "scored") -> str:
    errors = list(errors)
    n = len(errors)
    lines = [f"{n} profile{'s' if n != 1 else ''} could not be {verb}:"]
    lines += [f"- {e.source}: {e.message}" for e in errors]
    return join_lines(lines)


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
    return join_lines(lines)


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
        return safe_json(json.dumps(
            [r.canonical() | {"file": r.file, "line": r.line} for r in ruleset.rules],
            indent=2, ensure_ascii=False)) + "\n"
    markdown = fmt == "markdown"
    return tabulate(safe_cells(rows, markdown), headers,
                    tablefmt="github" if markdown else "simple") + "\n"
