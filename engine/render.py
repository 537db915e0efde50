"""Rendering results and traces as text, Markdown, JSON, CSV and tables.

Renderers only select and format what scoring and the trace already decided;
none of them recomputes a score or a firing. Each returns a string ending in a
newline, so the CLI can write it whole or not at all.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from .errors import InputError
from .fields import show_value
from .fields import suggest
from .results import BatchResult
from .results import Contribution
from .results import Match
from .results import ProfileResult
from .results import ScoreResult
from .rules import Rule
from .rules import RuleSet
from .trace import RuleFired
from .trace import RuleNotFired
from .trace import Trace

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


class _Painted(str):
    """A line already made safe, that may carry our own colour codes: ``join_lines``
    leaves it as it is."""


def join_lines(lines: Iterable[str]) -> str:
    """Lines as one text ending in a newline, each line made safe on its own: a newline
    inside a line came from a file and must not start a line of its own."""
    return "\n".join(line if isinstance(line, _Painted) else safe_text(line)
                     for line in lines) + "\n"


def safe_cells(rows: Iterable[Iterable[Any]], markdown: bool = False) -> list[list[Any]]:
    """Table rows with every text cell made safe; in Markdown a ``|`` would end the cell."""
    def cell(c: Any) -> Any:
        if not isinstance(c, str):
            return c
        return md_escape(safe_text(c)) if markdown else safe_text(c)

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
    if m.op == "is unknown" and m.value is None:
        text = f"{m.field} is unknown"
    elif m.op == "is known" and m.value is not None:
        text = f"{m.field} = {show_value(m.value)} (known)"
    elif m.op == "=" and m.value == m.threshold:
        text = f"{m.field} = {show_value(m.value)}"
    else:
        text = f"{m.field} = {show_value(m.value)} (rule: {m.op} {show_value(m.threshold)})"
    provenance = [p for p in (m.confidence, m.source) if p]
    if provenance:
        text += f"  [{'; '.join(provenance)}]"
    elif m.value is not None:
        text += "  [no source given]"
    return text


def _source(c: Contribution) -> str:
    return f"{c.source.id} § {c.source.section}" if c.source.section else c.source.id


def signed_points(n: int) -> str:
    return f"{n:+d}"


def _wrap(text: str, indent: str, lead: str = "") -> list[str]:
    return textwrap.wrap(
        _UNSAFE_IN_PARAGRAPH.sub(_escape, text), WIDTH, initial_indent=indent + lead, subsequent_indent=indent + " " * len(lead),
        break_on_hyphens=False,
    )


def _score_text(title: str, s: ScoreResult, detail: bool = True,
                paint: Callable[[str], str] | None = None) -> list[str]:
    head = f"{title}: {s.score} ({s.band})"
    lines = [_Painted(f"{safe_text(title)}: {s.score} ({paint(safe_text(s.band))})")
             if paint else head]
    lines.append(f"  base {s.base}")
    for c in s.contributions:
        lines.append(f"  {signed_points(c.points):>4}  {c.rule}: {c.title}")
        if detail:
            for m in c.matched:
                lines.extend(_wrap(describe_match(m), " " * 8, "fact: "))
            lines.extend(_wrap(c.rationale, " " * 8))
            lines.append(" " * 8 + f"source: {_source(c)}")
            if c.support:
                lines.extend(_wrap(c.support, " " * 10, "which says: "))
    if s.adjustment:
        lines.append(f"  {signed_points(s.adjustment):>4}  adjustment: bounded to 0..100")
    total = " + ".join([str(s.base), *(f"({c.points})" for c in s.contributions)])
    if s.adjustment:
        total += f" + ({s.adjustment})"
    lines.append(f"  = {total} = {s.score}")
    return lines


def result_text(r: ProfileResult, ruleset: RuleSet, color: bool = False) -> str:
    lines = [
        f"{r.name} ({r.profile}, as of {r.as_of.isoformat()})",
        f"rule set {ruleset.digest}, {len(ruleset.rules)} rules",
        "",
    ]
    for name in ("deterrence", "alignment_risk"):
        paint = band_painter(ruleset, name, color) if color else None
        lines.extend(_score_text(TITLES[name], r.target(name), paint=paint))
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
        out.append(f"| {md_escape(ruleset.dimensions[name].title)} | {s.score} | {s.band} |")
    for name in ("deterrence", "alignment_risk"):
        s = r.target(name)
        out += ["", f"## {TITLES[name]}: {s.score} ({s.band})", "",
                "| points | rule | facts matched | source |", "|---:|---|---|---|",
                f"| {s.base} | base | | |"]
        for c in s.contributions:
            facts = "<br>".join(md_escape(describe_match(m)) for m in c.matched)
            out.append(f"| {signed_points(c.points)} | **{c.rule}**: {md_escape(c.title)}<br>{md_escape(c.rationale)} "
                       f"| {facts} | {md_escape(_source(c))} |")
        if s.adjustment:
            out.append(f"| {signed_points(s.adjustment)} | adjustment (bounded to 0..100) | | |")
    return join_lines(out)


def result(r: ProfileResult, ruleset: RuleSet, fmt: str, color: bool = False) -> str:
    """One profile's scores and explanation as ``score --format`` prints them; ``color``
    paints the headline bands of the text."""
    if fmt == "json":
        return result_json(r)
    if fmt == "markdown":
        return result_markdown(r, ruleset)
    return result_text(r, ruleset, color)


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def result_json(r: ProfileResult) -> str:
    return safe_json(json.dumps(r.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def batch_json(b: BatchResult) -> str:
    return safe_json(json.dumps(b.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


_BAD_TO_GOOD = (("red", True), ("red", False), ("yellow", False), ("green", False),
                ("green", True))
# +1: a higher band is better; -1: worse. The dimensions are left plain: whether more of
# one is good depends on the reading.
_DIRECTION = {"deterrence": 1, "alignment_risk": -1}


def band_painter(ruleset: RuleSet, target: str, color: bool) -> Callable[[str], str]:
    """How to show one target's band: in its colour on a terminal, else as it is. The text
    must already be safe (``safe_text``): the colour codes are added after."""
    direction = _DIRECTION.get(target)
    if not color or direction is None:
        return lambda text: text
    import click

    styles = dict(zip(ruleset.targets[target].bands, _BAD_TO_GOOD[::direction], strict=True))

    def paint(text: str) -> str:
        if text not in styles:
            return text
        fg, bold = styles[text]
        return click.style(text, fg=fg, bold=bold)

    return paint


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def display_width(text: str) -> int:
    """Columns a text takes on a terminal: colour codes none, wide characters two,
    combining marks none."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in _ANSI.sub("", text))


def errors_text(errors: Iterable[Any], verb: str = "scored") -> str:
    errors = list(errors)
    n = len(errors)
    lines = [f"{n} profile{'s' if n != 1 else ''} could not be {verb}:"]
    lines += [f"- {e.source}: {e.message}" for e in errors]
    return join_lines(lines)


def target_name(result: ProfileResult, name: str) -> str:
    """A score or dimension as ``explain --dimension`` names it (hyphens read as
    underscores); an unknown name is an input error that suggests the nearest."""
    known = ["deterrence", "alignment_risk", *result.dimensions]
    wanted = name.strip().lower().replace("-", "_")
    if wanted in known:
        return wanted
    close = suggest(wanted, known)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise InputError(f"--dimension: no score or dimension named '{name}'{hint} "
                     f"(they are: {', '.join(known)})")


def explain_entries(t: Trace, show_all: bool, fails: bool = False,
                    target: str | None = None) -> list[tuple[Rule, bool, tuple[Match, ...]]]:
    """The rules an explanation shows, in rule order, each with whether it fired and its
    facts: those it matched, or, for a rule that did not fire, those that kept it from
    firing. Fired rules by default; ``show_all`` adds the others; ``fails`` keeps only the
    others; ``target`` keeps the rules that give points to that score or dimension."""
    entries = []
    for event in t.events:
        if not isinstance(event, (RuleFired, RuleNotFired)):
            continue
        if target is not None and all(name != target for name, _ in event.rule.points):
            continue
        if isinstance(event, RuleFired) and not fails:
            entries.append((event.rule, True, event.matches))
        elif isinstance(event, RuleNotFired) and (show_all or fails):
            entries.append((event.rule, False, t.unmet(event)))
    return entries


def _explain_targets(result: ProfileResult, target: str | None) -> list[str]:
    return [target] if target else ["deterrence", "alignment_risk", *result.dimensions]


def _selection_note(fails: bool, target: str | None) -> str:
    if not fails and not target:
        return ""
    scoring = f" scoring {target}" if target else ""
    return f"showing: the rules{scoring}" + (" that did not fire, and why" if fails else "")


def trace_text(t: Trace, result: ProfileResult, show_all: bool, fails: bool = False,
               target: str | None = None, ruleset: RuleSet | None = None,
               color: bool = False) -> str:
    """The evaluation, rule by rule: what fired on which facts and, with ``show_all``, what
    did not (see ``explain_entries`` for ``fails`` and ``target``). With ``color`` and the
    ``ruleset``, the headline bands are painted."""
    lines = [f"{result.name} ({result.profile}): {len(t.fired)} of "
             f"{len(t.fired) + len(t.not_fired)} rules fired ({t.evaluator} evaluator)"]
    if note := _selection_note(fails, target):
        lines.append(note)
    lines.append("")
    for rule, fired, facts in explain_entries(t, show_all, fails, target):
        lines.append(f"{'FIRED ' if fired else 'no    '} {rule_head(rule)}")
        label = "fact" if fired else "unmet"
        lines += [f"         {label}: {describe_match(m)}" for m in facts]
    lines.append("")
    for name in _explain_targets(result, target):
        s = result.target(name)
        parts = " ".join(signed_points(c.points) for c in s.contributions) or "(no rule)"
        adj = f" = raw {s.raw}, bounded {signed_points(s.adjustment)}" if s.adjustment else ""
        line = f"{name}: {s.base} {parts}{adj} = {s.score} ({s.band})"
        if color and ruleset is not None and name in _DIRECTION:
            paint = band_painter(ruleset, name, color)
            line = _Painted(safe_text(line[:-len(s.band) - 1]) + paint(safe_text(s.band)) + ")")
        lines.append(line)
    return join_lines(lines)


def trace_markdown(t: Trace, result: ProfileResult, show_all: bool, fails: bool = False,
                   target: str | None = None) -> str:
    """``trace_text`` as Markdown: one table of rules, one of scores."""
    out = [f"# {md_escape(result.name)} ({result.profile}): explanation", "",
           f"{len(t.fired)} of {len(t.fired) + len(t.not_fired)} rules fired "
           f"({t.evaluator} evaluator).", ""]
    if note := _selection_note(fails, target):
        out += [note[0].upper() + note[1:] + ".", ""]
    out += ["| rule | fired | points | facts |", "|---|---|---|---|"]
    for rule, fired, facts in explain_entries(t, show_all, fails, target):
        label = "" if fired else "unmet: "
        shown = "<br>".join(label + md_escape(describe_match(m)) for m in facts)
        pts = ", ".join(f"{name} {signed_points(p)}" for name, p in rule.points)
        out.append(f"| **{rule.id}**: {md_escape(rule.title)} | {'yes' if fired else 'no'} "
                   f"| {pts} | {shown} |")
    out += ["", "| score | base | points | adjustment | value | band |",
            "|---|---:|---|---:|---:|---|"]
    for name in _explain_targets(result, target):
        s = result.target(name)
        parts = " ".join(signed_points(c.points) for c in s.contributions)
        out.append(f"| {name} | {s.base} | {parts} | {signed_points(s.adjustment)} | {s.score} "
                   f"| {s.band} |")
    return join_lines(out)


def trace_json(t: Trace, result: ProfileResult, show_all: bool, fails: bool = False,
               target: str | None = None) -> str:
    """``trace_text`` as JSON: the rules shown, each with its facts, and the scores."""
    rules = [{"rule": rule.id, "title": rule.title, "fired": fired,
              "points": dict(rule.points),
              "facts" if fired else "unmet": [m.model_dump(mode="json") for m in facts]}
             for rule, fired, facts in explain_entries(t, show_all, fails, target)]
    scores = {}
    for name in _explain_targets(result, target):
        s = result.target(name)
        scores[name] = {"base": s.base, "points": [{"rule": c.rule, "points": c.points}
                                                   for c in s.contributions],
                        "raw": s.raw, "adjustment": s.adjustment, "score": s.score,
                        "band": s.band}
    data = {"profile": result.profile, "name": result.name,
            "as_of": result.as_of.isoformat(), "evaluator": t.evaluator,
            "rules_fired": len(t.fired), "rules_total": len(t.fired) + len(t.not_fired),
            "shown": {"not_fired": show_all or fails, "fired": not fails, "target": target},
            "rules": rules, "scores": scores}
    return safe_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def rule_head(rule: Rule) -> str:
    pts = ", ".join(f"{t} {signed_points(p)}" for t, p in rule.points)
    return f"{rule.id} [{pts}]"
