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
from typing import Any, Callable, Iterable, Sequence

from .errors import InputError
from .fields import show_value, suggest
from .results import BatchResult, Contribution, Match, ProfileResult, ScoreResult
from .rules import Rule, RuleSet
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


def _points(n: int) -> str:
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


def result(r: ProfileResult, ruleset: RuleSet, fmt: str, color: bool = False) -> str:
    """One profile's scores and explanation as ``score --format`` prints them; ``color``
    paints the headline bands of the text."""
    if fmt == "json":
        return result_json(r)
    if fmt == "markdown":
        return result_markdown(r, ruleset)
    return result_text(r, ruleset, color)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def result_json(r: ProfileResult) -> str:
    return safe_json(json.dumps(r.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def batch_json(b: BatchResult) -> str:
    return safe_json(json.dumps(b.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def batch_table(b: BatchResult, ruleset: RuleSet, fmt: str, width: int | None = None,
                columns: Sequence[str] | None = None, color: bool = False) -> str:
    """The ranking as ``batch`` prints it. In a table, ``columns`` (names from
    ``batch_columns``) chooses the columns; else, with a ``width``, the name and the
    dimensions are added to rank, profile, scores and bands, each where it still fits,
    and a note counts those left out; with neither, every column (``--wide``). A Markdown table is a document, not a
    screen: it holds every column unless ``columns`` chooses. ``color`` paints the two
    headline bands."""
    from tabulate import tabulate  # imported where used: the CLI starts faster without it

    if fmt == "csv":
        from .export import batch_csv

        return batch_csv(b, ruleset)
    names = batch_columns(ruleset)
    dims = list(ruleset.dimensions)
    rows = [[i, r.profile, r.name, r.deterrence.score, r.deterrence.band,
             r.alignment_risk.score, r.alignment_risk.band, *(r.dimensions[d].score for d in dims)]
            for i, r in enumerate(b.results, 1)]
    head = f"Ranking {b.selection.describe()}" if b.selection else ""
    if fmt == "markdown":
        keep = [names.index(c) for c in columns] if columns else list(range(len(names)))
        short = ["#" if names[i] == "rank" else names[i].replace("_", " ") for i in keep]
        cells = safe_cells([[row[i] for i in keep] for row in rows], markdown=True)
        table = tabulate(cells, short, tablefmt="github", disable_numparse=True)
        return (head + "\n\n" if head else "") + table + "\n"
    labels = ["#", "profile", "name", "deterrence", "deterrence\nband", "alignment\nrisk",
              "alignment\nrisk band", *(_two_lines(ruleset.dimensions[d].title) for d in dims)]
    numeric = {0, 3, 5, *range(7, len(names))}
    cells = safe_cells(rows)
    if columns:
        keep = [names.index(c) for c in columns]
    elif width is None:
        keep = list(range(len(names)))
    else:
        # rank, profile, the scores and bands always; then the name and each dimension in
        # turn, where it still fits; the columns stay in table order
        keep = [0, 1, 3, 4, 5, 6]
        for i in [2, *range(7, len(names))]:
            if _grid_width(labels, cells, sorted([*keep, i])) <= width:
                keep = sorted([*keep, i])
    left_out = 0 if columns else len(names) - len(keep)
    lines = _wrap_plain(head, width) if head else []
    if n := left_out:
        lines += _wrap_plain(f"({n} column{'s' if n != 1 else ''} left out to fit {width} "
                             "columns; --wide shows them, --columns chooses)", width)
    if lines:
        lines.append("")
    paint = {4: band_painter(ruleset, "deterrence", color),
             6: band_painter(ruleset, "alignment_risk", color)}
    lines += _grid([labels[i] for i in keep], [[row[i] for i in keep] for row in cells],
                   right={k for k, i in enumerate(keep) if i in numeric},
                   paint={k: paint[i] for k, i in enumerate(keep) if i in paint})
    return "\n".join(lines) + "\n"


def batch_columns(ruleset: RuleSet) -> list[str]:
    """The names ``batch --columns`` takes, in table order: the CSV's column names, with
    ``rank`` for ``#``."""
    return ["rank", "profile", "name", "deterrence", "deterrence_band", "alignment_risk",
            "alignment_risk_band", *ruleset.dimensions]


def choose_columns(text: str, known: Sequence[str]) -> list[str]:
    """``--columns a,b,c`` as column names: hyphens read as underscores, each name once;
    an unknown name is an input error that suggests the nearest."""
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip().lower().replace("-", "_")
        if not name:
            continue
        if name not in known:
            close = suggest(name, known)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"--columns: no column named '{raw.strip()}'{hint} "
                             f"(the columns: {', '.join(known)})")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise InputError(f"--columns: name at least one column (the columns: {', '.join(known)})")
    return chosen


# Band colours run from bad to good, so that a colour means the same in both scores:
# a high risk band is red like a low deterrence band.
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

    styles = dict(zip(ruleset.targets[target].bands, _BAD_TO_GOOD[::direction]))

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


def _two_lines(title: str) -> str:
    """A header of several words as two lines split near the middle: a narrower column."""
    words = title.lower().split()
    if len(words) < 2:
        return title.lower()
    k = min(range(1, len(words)),
            key=lambda k: max(len(" ".join(words[:k])), len(" ".join(words[k:]))))
    return " ".join(words[:k]) + "\n" + " ".join(words[k:])


def _wrap_plain(text: str, width: int | None) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) if width else [text]


def _grid_width(labels: Sequence[str], rows: Sequence[Sequence[Any]],
                keep: Sequence[int]) -> int:
    return max(display_width(line) for line in _grid(
        [labels[i] for i in keep], [[row[i] for i in keep] for row in rows]))


def _grid(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Iterable[int] = (), paint: dict[int, Callable[[str], str]] | None = None,
          ) -> list[str]:
    """A plain table: the headers (a newline splits one over lines, aligned at the bottom),
    a rule of dashes, the rows (a newline in a cell continues it on the next line);
    columns two spaces apart, those of ``right`` aligned right, the cells of ``paint``
    coloured once the widths are taken. Cells must already be safe."""
    right, paint = set(right), paint or {}
    heads = [h.split("\n") for h in headers]
    depth = max((len(h) for h in heads), default=1)
    heads = [[""] * (depth - len(h)) + h for h in heads]
    cells = [[str(c).split("\n") for c in row] for row in rows]
    widths = [max([display_width(x) for x in heads[k]] +
                  [display_width(x) for row in cells for x in row[k]])
              for k in range(len(headers))]

    def line(parts: Sequence[str], painted: bool) -> str:
        out = []
        for k, part in enumerate(parts):
            pad = " " * (widths[k] - display_width(part))
            if painted and k in paint and part:
                part = paint[k](part)
            out.append(pad + part if k in right else part + pad)
        return "  ".join(out).rstrip()

    lines = [line([h[d] for h in heads], False) for d in range(depth)]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        height = max((len(c) for c in row), default=1)
        lines += [line([c[d] if d < len(c) else "" for c in row], True) for d in range(height)]
    return lines


def _fit(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None,
         give_way: Sequence[int], wrap: int | None = None,
         ) -> tuple[list[str], list[list[Any]]]:
    """Columns left out in the order ``give_way`` names them until the table fits
    ``width``; then, if that is not enough, the text of the ``wrap`` column wrapped over
    several lines (no narrower than 12 columns)."""
    keep = list(range(len(headers)))
    rows = [list(r) for r in rows]
    if width is not None:
        for i in give_way:
            if _grid_width(headers, rows, keep) <= width:
                break
            keep.remove(i)
        over = _grid_width(headers, rows, keep) - width
        if over > 0 and wrap in keep:
            longest = max(display_width(str(r[wrap])) for r in rows)
            room = max(longest - over, 12)
            for r in rows:
                r[wrap] = "\n".join(textwrap.wrap(str(r[wrap]), room,
                                                  break_on_hyphens=False)) or ""
    return [headers[i] for i in keep], [[r[i] for i in keep] for r in rows]


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
        lines.append(f"{'FIRED ' if fired else 'no    '} {_rule_head(rule)}")
        label = "fact" if fired else "unmet"
        lines += [f"         {label}: {describe_match(m)}" for m in facts]
    lines.append("")
    for name in _explain_targets(result, target):
        s = result.target(name)
        parts = " ".join(_points(c.points) for c in s.contributions) or "(no rule)"
        adj = f" = raw {s.raw}, bounded {_points(s.adjustment)}" if s.adjustment else ""
        line = f"{name}: {s.base} {parts}{adj} = {s.score} ({s.band})"
        if color and ruleset is not None and name in _DIRECTION:
            paint = band_painter(ruleset, name, color)
            line = _Painted(safe_text(line[:-len(s.band) - 1]) + paint(safe_text(s.band)) + ")")
        lines.append(line)
    return join_lines(lines)


def trace_markdown(t: Trace, result: ProfileResult, show_all: bool, fails: bool = False,
                   target: str | None = None) -> str:
    """``trace_text`` as Markdown: one table of rules, one of scores."""
    out = [f"# {_md(result.name)} ({result.profile}): explanation", "",
           f"{len(t.fired)} of {len(t.fired) + len(t.not_fired)} rules fired "
           f"({t.evaluator} evaluator).", ""]
    if note := _selection_note(fails, target):
        out += [note[0].upper() + note[1:] + ".", ""]
    out += ["| rule | fired | points | facts |", "|---|---|---|---|"]
    for rule, fired, facts in explain_entries(t, show_all, fails, target):
        label = "" if fired else "unmet: "
        shown = "<br>".join(label + _md(describe_match(m)) for m in facts)
        pts = ", ".join(f"{name} {_points(p)}" for name, p in rule.points)
        out.append(f"| **{rule.id}**: {_md(rule.title)} | {'yes' if fired else 'no'} "
                   f"| {pts} | {shown} |")
    out += ["", "| score | base | points | adjustment | value | band |",
            "|---|---:|---|---:|---:|---|"]
    for name in _explain_targets(result, target):
        s = result.target(name)
        parts = " ".join(_points(c.points) for c in s.contributions)
        out.append(f"| {name} | {s.base} | {parts} | {_points(s.adjustment)} | {s.score} "
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


def profiles_table(loaded: Iterable[Any], width: int | None = None) -> str:
    """The profiles, one a line; with a ``width``, the file and then the name give way."""
    rows = [[lp.profile.key, lp.profile.name, lp.profile.as_of.isoformat(),
             lp.profile.commitment.tier.value.value, lp.file] for lp in loaded]
    headers, cells = _fit(["key", "name", "as of", "commitment", "file"], safe_cells(rows),
                          width, give_way=[4, 1])
    return "\n".join(_grid(headers, cells)) + "\n"


def _rule_head(rule: Rule) -> str:
    pts = ", ".join(f"{t} {_points(p)}" for t, p in rule.points)
    return f"{rule.id} [{pts}]"


def rules_table(ruleset: RuleSet, fmt: str, width: int | None = None) -> str:
    """The rules as ``rules list`` prints them. In a table with a ``width``, a rule's
    points take one line each, the group, the source and the dimension give way, and the
    title wraps, so that every line fits."""
    from tabulate import tabulate

    if fmt == "json":
        return safe_json(json.dumps(
            [r.canonical() | {"file": r.file, "line": r.line} for r in ruleset.rules],
            indent=2, ensure_ascii=False)) + "\n"
    headers = ["id", "dimension", "points", "group", "source", "title"]

    def row(r: Rule, joint: str) -> list[str]:
        points = joint.join(safe_text(f"{t} {_points(p)}") for t, p in r.points)
        source = f"{r.source.id}#{r.source.section}" if r.source.section else r.source.id
        return [safe_text(r.id), safe_text(r.dimension), points, safe_text(r.group or ""),
                safe_text(source), safe_text(r.title)]

    if fmt == "markdown":
        rows = [[_md(c) for c in row(r, ", ")] for r in ruleset.rules]
        return tabulate(rows, headers, tablefmt="github") + "\n"
    # one target a line in a table that must fit: the points are its widest column
    rows = [row(r, ", " if width is None else "\n") for r in ruleset.rules]
    headers, cells = _fit(headers, rows, width, give_way=[3, 4, 1], wrap=5)
    return "\n".join(_grid(headers, cells)) + "\n"
