"""The report's charts, drawn as inline SVG: the deterrence-versus-risk scatter and the
waterfall of each headline score.

Drawn by hand rather than by a plotting library: exact, fast (111 partners in well
under a second), and text stays text (escaped, searchable, never read as mathematics).
One colour scale means the same in every chart: blue safer for the partner, red less.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..render import safe_text
from ..results import ProfileResult
from ..results import ScoreResult
from ..rules import RuleSet

HEADLINE = ("deterrence", "alignment_risk")
# the direction in which a headline score is good for the partner: the colour scale of
# every chart follows it, so that one colour means "safer" in both panels
POLARITY = {"deterrence": 1, "alignment_risk": -1}

# five steps from bad to good (a red-blue scale that reads in colour blindness)
GOOD = "#2166ac"
BAD = "#b2182b"
STEPS = ("#b2182b", "#ef8a62", "#9e9e9e", "#67a9cf", "#2166ac")
REGION_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                  "#a6761d", "#1f78b4", "#666666", "#b15928")


def _esc(text: Any) -> str:
    """Text for SVG built here: control characters as escapes, then markup escaped."""
    return html.escape(safe_text(str(text)), quote=True)


def words(value: str) -> str:
    return value.replace("-", " ").replace("_", " ")


# --- polarity and colour ----------------------------------------------------------------------

def polarities(ruleset: RuleSet) -> dict[str, int]:
    """+1 where a higher score is good for the partner, -1 where bad, 0 where the rules do
    not say. A dimension's direction is read from its rules: the points a rule gives the
    dimension against what the same rule does to deterrence less alignment risk, summed
    over the rules (guarantee strength rises with deterrence, dependence with risk)."""
    out = dict(POLARITY)
    for name in ruleset.dimensions:
        if name in out:
            continue
        lean = sum(r.points_for(name) * (r.points_for("deterrence") - r.points_for("alignment_risk"))
                   for r in ruleset.rules)
        out[name] = (lean > 0) - (lean < 0)
    return out


def goodness(score: int, polarity: int) -> int:
    """The step of the colour scale, 0 (bad) to 4 (good); 2 when the direction is unknown."""
    band = min(score // 20, 4)
    if polarity == 0:
        return 2
    return band if polarity > 0 else 4 - band


# --- the overview chart -----------------------------------------------------------------------

W, H = 760, 600
LEFT, RIGHT, TOP, BOTTOM = 64, 736, 36, 540


def _x(risk: float) -> float:
    return LEFT + (RIGHT - LEFT) * risk / 100


def _y(deterrence: float) -> float:
    return BOTTOM - (BOTTOM - TOP) * deterrence / 100


@dataclass
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def hits(self, other: _Box) -> bool:
        return not (self.x1 <= other.x0 or other.x1 <= self.x0
                    or self.y1 <= other.y0 or other.y1 <= self.y0)


def _text_width(text: str, size: float) -> float:
    # the sans-serif average: an estimate that errs wide, so placed labels never touch
    return len(text) * size * 0.58 + 2


def overview_chart(results: list[ProfileResult], ruleset: RuleSet,
                   regions: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Deterrence against alignment risk: band regions shaded by how good they are for the
    partner, a country's snapshots joined oldest to newest, each point a link to its
    section. A label is drawn where it fits beside its point without touching another
    label or point; every point names its partners on hover. Returns the SVG and the
    legend (region, colour)."""
    det, risk = ruleset.targets["deterrence"], ruleset.targets["alignment_risk"]
    region_names = sorted(set(regions.values()))
    colour = {name: REGION_COLOURS[i % len(REGION_COLOURS)] for i, name in enumerate(region_names)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
           f'class="overview" aria-labelledby="overview-title">',
           '<title id="overview-title">Deterrence against alignment risk, every snapshot</title>']
    # band regions: a cell is as good as its deterrence band is high and its risk band low
    for i in range(5):
        for j in range(5):
            step = round((i + (4 - j)) / 2)
            if step == 2:
                continue  # the neutral middle stays white: shading marks only good and bad
            out.append(f'<rect x="{_x(j * 20):.1f}" y="{_y(i * 20 + 20):.1f}" '
                       f'width="{_x(20) - _x(0):.1f}" height="{_y(0) - _y(20):.1f}" '
                       f'fill="{STEPS[step]}" fill-opacity="0.10"/>')
    for edge in range(0, 101, 20):
        out.append(f'<line x1="{_x(edge):.1f}" y1="{TOP}" x2="{_x(edge):.1f}" y2="{BOTTOM}" '
                   'stroke="#c9ced8" stroke-width="0.8"/>')
        out.append(f'<line x1="{LEFT}" y1="{_y(edge):.1f}" x2="{RIGHT}" y2="{_y(edge):.1f}" '
                   'stroke="#c9ced8" stroke-width="0.8"/>')
        out.append(f'<text x="{_x(edge):.1f}" y="{BOTTOM + 16}" text-anchor="middle" '
                   f'class="tick">{edge}</text>')
        out.append(f'<text x="{LEFT - 6}" y="{_y(edge) + 4:.1f}" text-anchor="end" '
                   f'class="tick">{edge}</text>')
    for k in range(5):
        out.append(f'<text x="{_x(k * 20 + 10):.1f}" y="{TOP - 8}" text-anchor="middle" '
                   f'class="band-name">{_esc(risk.bands[k])}</text>')
        out.append(f'<text x="{RIGHT + 6}" y="{_y(k * 20 + 10):.1f}" class="band-name" '
                   f'transform="rotate(90 {RIGHT + 6} {_y(k * 20 + 10):.1f})" '
                   f'text-anchor="middle">{_esc(det.bands[k])}</text>')
    out.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 38}" text-anchor="middle" '
               'class="axis">alignment risk (bands along the top) →</text>')
    out.append(f'<text x="18" y="{(TOP + BOTTOM) / 2}" text-anchor="middle" class="axis" '
               f'transform="rotate(-90 18 {(TOP + BOTTOM) / 2})">deterrence (bands on the right) →</text>')

    by_country: dict[str, list[ProfileResult]] = {}
    for r in results:
        by_country.setdefault(r.country, []).append(r)
    for _, snaps in sorted(by_country.items()):
        snaps.sort(key=lambda r: r.as_of)
        if len(snaps) > 1:
            points = " ".join(f"{_x(r.alignment_risk.score):.1f},{_y(r.deterrence.score):.1f}"
                              for r in snaps)
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour[regions[snaps[0].profile]]}" '
                       'stroke-width="1.4" stroke-opacity="0.75"/>')

    latest = {snaps[-1].profile for snaps in by_country.values()}
    spots: dict[tuple[int, int], list[ProfileResult]] = {}
    for r in results:
        spots.setdefault((r.alignment_risk.score, r.deterrence.score), []).append(r)
    placed: list[_Box] = [_Box(_x(x) - 5, _y(y) - 5, _x(x) + 5, _y(y) + 5) for x, y in spots]
    size = 11
    labels = []
    # the partners furthest out first: the crowded middle gets what room is left
    order = sorted(spots.items(), key=lambda kv: (-abs(kv[0][0] - 25) - abs(kv[0][1] - 50),
                                                  kv[1][0].profile))
    for (x, y), rs in order:
        # an earlier snapshot is named with its year: the partner's name marks its latest
        names = sorted(r.name if r.profile in latest else f"{r.name} {r.as_of.year}" for r in rs)
        text = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"
        w = _text_width(safe_text(text), size)
        px, py = _x(x), _y(y)
        for dx, dy, anchor in ((7, 4, "start"), (-7, 4, "end"), (-w / 2, -8, "start"),
                               (-w / 2, 15, "start"), (7, -6, "start"), (-7, -6, "end"),
                               (7, 13, "start"), (-7, 13, "end")):
            x0 = px + dx if anchor == "start" else px + dx - w
            box = _Box(x0, py + dy - size + 2, x0 + w, py + dy + 2)
            if box.x0 < LEFT or box.x1 > RIGHT or box.y0 < TOP or box.y1 > BOTTOM:
                continue
            if any(box.hits(b) for b in placed):
                continue
            placed.append(box)
            labels.append(f'<text x="{box.x0:.1f}" y="{py + dy:.1f}" class="label">{_esc(text)}</text>')
            break
    for (x, y), rs in sorted(spots.items()):
        rs = sorted(rs, key=lambda r: r.profile)
        first = rs[0]
        tip = "; ".join(f"{r.name} ({r.profile}): deterrence {r.deterrence.score} "
                        f"({r.deterrence.band}), alignment risk {r.alignment_risk.score} "
                        f"({r.alignment_risk.band})" for r in rs)
        filled = any(r.profile in latest for r in rs)
        c = colour[regions[first.profile]]
        fill = c if filled else "#ffffff"
        out.append(f'<a href="#{_esc(first.profile)}" class="pt"><title>{_esc(tip)}</title>'
                   f'<circle cx="{_x(x):.1f}" cy="{_y(y):.1f}" r="{4.5 if len(rs) == 1 else 5.5}" '
                   f'fill="{fill}" stroke="{c}" stroke-width="1.6"/></a>')
    out.extend(labels)
    out.append("</svg>")
    return "\n".join(out), [(name, colour[name]) for name in region_names]


# --- what the template shows ----------------------------------------------------------------

@dataclass
class Bar:
    """One row of a waterfall or a profile: a bar from ``start`` to ``end`` on the chart's
    scale, as percentages of the track."""

    label: str
    detail: str
    points: str
    left: float
    width: float
    colour: str
    kind: str  # base, rule, adjustment, total


@dataclass
class Waterfall:
    title: str
    score: int
    band: str
    step: int
    bars: list[Bar]
    low: int
    high: int
    ticks: list[tuple[int, float]]  # (value, position in % of the track)


def waterfall(title: str, s: ScoreResult, polarity: int) -> Waterfall:
    running = [s.base]
    for c in s.contributions:
        running.append(running[-1] + c.points)
    low = min(0, *running, s.score)
    high = max(100, *running, s.score)
    span = high - low

    def pct(v: float) -> float:
        return round(100 * (v - low) / span, 2)

    def bar(a: float, b: float) -> tuple[float, float]:
        lo, hi = min(a, b), max(a, b)
        return pct(lo), max(round(pct(hi) - pct(lo), 2), 0.4)

    bars = [Bar("base", "where every partner starts", str(s.base), *bar(0, s.base), "#8a94a6", "base")]
    total = s.base
    for c in s.contributions:
        good = c.points * polarity > 0
        bars.append(Bar(c.title, c.rule, f"{c.points:+d}", *bar(total, total + c.points),
                        GOOD if good else BAD, "rule"))
        total += c.points
    if s.adjustment:
        bars.append(Bar("bounded to 0..100", "adjustment", f"{s.adjustment:+d}",
                        *bar(total, total + s.adjustment), "#8a94a6", "adjustment"))
    step = goodness(s.score, polarity)
    bars.append(Bar("score", s.band, str(s.score), *bar(0, s.score), STEPS[step], "total"))
    ticks = [(v, pct(v)) for v in range(low - low % 20, high + 1, 20) if low <= v <= high]
    return Waterfall(title, s.score, s.band, step, bars, low, high, ticks)


