"""A self-contained HTML report: one file, no network requests, charts drawn inline.

jinja2 renders the page, escaping every text from profiles and rules and writing its
control characters as escapes (``safe_text``). The charts are built here as plain
SVG or HTML with exact coordinates: no plotting library, so no text is ever read as
mathematics and a report of a hundred partners takes well under a second to draw.
The page carries a Content-Security-Policy that refuses every request (its one script
allowed by hash), and no date but the data's own, so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from ..api import Engine
from ..fields import show_value
from ..loader import LoadedProfile
from ..profile import Profile
from ..render import describe_match, safe_text
from ..results import Match, ProfileResult, ScoreResult
from ..rules import RuleSet, ScoreDef
from .compare import Comparison, history
from .sensitivity import SensitivityResult, analyse

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


def _words(value: str) -> str:
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
    for country, snaps in sorted(by_country.items()):
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


@dataclass
class FactRow:
    text: str
    confidence: str | None
    note: str | None
    source: str | None
    source_title: str | None


@dataclass
class Partner:
    result: ProfileResult
    profile: Profile
    region: str
    tier: str
    instrument: str | None
    summary: str | None
    rank: int
    risk_rank: int
    steps: dict[str, int]
    waterfalls: list[Waterfall]
    dimensions: list[tuple[ScoreDef, ScoreResult, int, int]]  # def, score, step, polarity
    snapshots: list[ProfileResult]
    changes: Comparison | None
    # per headline score: (id, title, score, [(contribution, its facts)])
    explanations: list[tuple[str, str, ScoreResult, list[tuple[Any, list[FactRow]]]]] = field(
        default_factory=list)
    sensitivity: Any = None


def _waterfall(title: str, s: ScoreResult, polarity: int) -> Waterfall:
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


def _fact_rows(matched: Iterable[Match], profile: Profile, ruleset: RuleSet) -> list[FactRow]:
    rows = []
    for m in matched:
        note = None
        section, _, name = m.field.partition(".")
        fact = getattr(getattr(profile, section, None), name, None)
        if fact is not None and getattr(fact, "note", None):
            note = fact.note
        source_id = (m.source or "").partition("#")[0]
        entry = ruleset.catalog.entries.get(source_id)
        text = describe_match(m).split("  [", 1)[0]  # provenance gets its own lines here
        rows.append(FactRow(text, m.confidence, note, m.source, entry.title if entry else None))
    return rows


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("latticework")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _static(name: str) -> str:
    return (resources.files("engine") / "templates" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _finalize(value: Any) -> Any:
    """Every text the template prints, with its control characters as escapes: a NUL or an
    escape sequence makes the page (and its inline SVG) invalid. Markup built here has
    already made its texts safe."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return safe_text(value)
    return value


def _is_bundled(ruleset: RuleSet) -> bool:
    from ..api import bundled_dir

    try:
        return Path(ruleset.directory).resolve() == bundled_dir("rules").resolve()
    except OSError:
        return False


def _band_ranges(score: ScoreDef) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for v in range(101):
        b = score.band(v)
        if out and out[-1][0] == b:
            out[-1] = (b, out[-1][1], v)
        else:
            out.append((b, v, v))
    return out


def render(engine: Engine, loaded: list[LoadedProfile], sensitivity: SensitivityResult,
           date: dt.date | None = None) -> str:
    import jinja2
    from markupsafe import Markup

    ruleset = engine.ruleset
    profiles = {lp.profile.key: lp.profile for lp in loaded}
    results = sorted((engine.score(lp.profile) for lp in loaded),
                     key=lambda r: (-r.deterrence.score, r.profile))
    by_risk = sorted(results, key=lambda r: (r.alignment_risk.score, r.profile))
    # ranks as the ranked table gives them: ties share the better place
    det_rank = {r.profile: 1 + sum(o.deterrence.score > r.deterrence.score for o in results)
                for r in results}
    risk_rank = {r.profile: 1 + sum(o.alignment_risk.score < r.alignment_risk.score for o in results)
                 for r in by_risk}
    regions = {k: (p.region.value if p.region else "unknown") for k, p in profiles.items()}
    polarity = polarities(ruleset)
    sens = {p.profile: p for p in sensitivity.partners}

    by_country: dict[str, list[ProfileResult]] = {}
    for r in results:
        by_country.setdefault(r.country, []).append(r)
    for snaps in by_country.values():
        snaps.sort(key=lambda r: r.as_of)
    latest = {snaps[-1].profile for snaps in by_country.values()}
    moves: dict[str, Comparison] = {}
    for country, snaps in by_country.items():
        if len(snaps) > 1:
            for c in history(engine, [profiles[r.profile] for r in snaps]):
                moves[c.after] = c

    partners = []
    cited: dict[str, set[str]] = {}
    for r in results:
        p = profiles[r.profile]
        for name in HEADLINE:
            for c in r.target(name).contributions:
                cited.setdefault(c.source.id, set())
                if c.source.section:
                    cited[c.source.id].add(c.source.section)
        partner = Partner(
            result=r, profile=p, region=regions[r.profile], tier=p.commitment.tier.value.value,
            instrument=p.commitment.instrument.value if p.commitment.instrument else None,
            summary=p.summary, rank=det_rank[r.profile], risk_rank=risk_rank[r.profile],
            steps={n: goodness(r.target(n).score, polarity[n]) for n in HEADLINE},
            waterfalls=[_waterfall(ruleset.targets[n].title, r.target(n), polarity[n])
                        for n in HEADLINE],
            dimensions=[(ruleset.dimensions[d], s, goodness(s.score, polarity.get(d, 0)),
                         polarity.get(d, 0)) for d, s in r.dimensions.items()],
            snapshots=by_country[r.country], changes=moves.get(r.profile),
            sensitivity=sens.get(r.profile),
        )
        for name in HEADLINE:
            s = r.target(name)
            partner.explanations.append((name, ruleset.targets[name].title, s, [
                (c, _fact_rows(c.matched, p, ruleset)) for c in s.contributions]))
        partners.append(partner)
    for p in profiles.values():
        for section in ("commitment", "forces", "cooperation", "dependence", "sanctions",
                        "threat", "alignment"):
            part = getattr(p, section)
            for name in type(part).model_fields:
                fact = getattr(part, name)
                if fact is not None and fact.source:
                    sid, _, sec = fact.source.partition("#")
                    cited.setdefault(sid, set())
                    if sec:
                        cited[sid].add(sec)

    entries = ruleset.catalog.entries
    sources = sorted(entries.values(), key=lambda e: (e.kind.value, e.id))
    overview_svg, legend = overview_chart(results, ruleset, regions)
    dated = date or max((r.as_of for r in results), default=None)
    script = _static("report.js")
    style = _static("report.css")
    csp = ("default-src 'none'; style-src 'unsafe-inline'; "
           f"script-src '{_csp_hash(script)}'; base-uri 'none'; form-action 'none'")
    tiers = sorted({p.tier for p in partners})
    editions = sorted({r.as_of.year for r in results})

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters["words"] = _words
    env.filters["show"] = show_value
    template = env.get_template("report.html.j2")
    return template.render(
        ruleset=ruleset,
        results=results,
        partners=partners,
        latest=latest,
        countries=sorted(by_country.items(), key=lambda kv: kv[1][-1].name),
        dimensions=list(ruleset.dimensions.values()),
        targets=ruleset.targets,
        headline=HEADLINE,
        polarity=polarity,
        steps=STEPS,
        goodness=goodness,
        band_ranges={k: _band_ranges(t) for k, t in ruleset.targets.items()},
        overview_svg=Markup(overview_svg),
        legend=legend,
        sensitivity=sensitivity,
        sources=sources,
        cited=cited,
        bundled=_is_bundled(ruleset),
        version=_version(),
        date=dated,
        date_given=date is not None,
        regions=sorted(set(regions.values())),
        tiers=tiers,
        editions=editions,
        csp=csp,
        script=Markup(script),
        style=Markup(style),
        rank_count=len(results),
        isfinite=math.isfinite,
    )


def build_report(engine: Engine, loaded: list[LoadedProfile], draws: int = 1000,
                 spread: float = 0.25, seed: int = 0, date: dt.date | None = None,
                 progress: Callable[[int], None] | None = None) -> str:
    """The report's HTML. ``date`` is the date it shows; by default the newest snapshot's
    as-of date, never the clock, so that the same inputs give the same bytes.
    ``progress`` is called with the number of sensitivity draws done since its last call."""
    sens = analyse(engine, [lp.profile for lp in loaded], draws=draws, spread=spread, seed=seed,
                   progress=progress)
    return render(engine, loaded, sens, date=date)
