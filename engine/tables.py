"""Tables for the terminal and for Markdown: the ranking, the profiles, the rules.

A table fits the width it is given (the terminal's, ``COLUMNS``, or 120 when piped):
the columns that matter (rank, profile, the two scores and their bands) always stay,
the others give way in a fixed order, and a note says what was left out.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from .errors import InputError
from .fields import suggest
from .render import band_painter
from .render import display_width
from .render import md_escape
from .render import safe_cells
from .render import safe_json
from .render import safe_text
from .render import signed_points
from .results import BatchResult
from .rules import Rule
from .rules import RuleSet


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
    grid = [list(r) for r in rows]
    if width is not None:
        for i in give_way:
            if _grid_width(headers, grid, keep) <= width:
                break
            keep.remove(i)
        over = _grid_width(headers, grid, keep) - width
        if over > 0 and wrap in keep:
            longest = max(display_width(str(r[wrap])) for r in grid)
            room = max(longest - over, 12)
            for r in grid:
                r[wrap] = "\n".join(textwrap.wrap(str(r[wrap]), room,
                                                  break_on_hyphens=False)) or ""
    return [headers[i] for i in keep], [[r[i] for i in keep] for r in grid]


def profiles_table(loaded: Iterable[Any], width: int | None = None) -> str:
    """The profiles, one a line; with a ``width``, the file and then the name give way."""
    rows = [[lp.profile.key, lp.profile.name, lp.profile.as_of.isoformat(),
             lp.profile.commitment.tier.value.value, lp.file] for lp in loaded]
    headers, cells = _fit(["key", "name", "as of", "commitment", "file"], safe_cells(rows),
                          width, give_way=[4, 1])
    return "\n".join(_grid(headers, cells)) + "\n"


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
        points = joint.join(safe_text(f"{t} {signed_points(p)}") for t, p in r.points)
        source = f"{r.source.id}#{r.source.section}" if r.source.section else r.source.id
        return [safe_text(r.id), safe_text(r.dimension), points, safe_text(r.group or ""),
                safe_text(source), safe_text(r.title)]

    if fmt == "markdown":
        rows = [[md_escape(c) for c in row(r, ", ")] for r in ruleset.rules]
        return tabulate(rows, headers, tablefmt="github") + "\n"
    # one target a line in a table that must fit: the points are its widest column
    rows = [row(r, ", " if width is None else "\n") for r in ruleset.rules]
    headers, cells = _fit(headers, rows, width, give_way=[3, 4, 1], wrap=5)
    return "\n".join(_grid(headers, cells)) + "\n"
