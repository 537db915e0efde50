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
import math
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any

from ..api import Engine
from ..fields import show_value
from ..loader import LoadedProfile
from ..profile import Profile
from ..render import describe_match
from ..render import safe_text
from ..results import Match
from ..results import ProfileResult
from ..results import ScoreResult
from ..rules import RuleSet
from ..rules import ScoreDef
from ..version import tool_version
from .charts import HEADLINE
from .charts import STEPS
from .charts import Waterfall
from .charts import goodness
from .charts import overview_chart
from .charts import polarities
from .charts import waterfall
from .charts import words
from .compare import Comparison
from .compare import history
from .sensitivity import SensitivityResult
from .sensitivity import analyse


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
    for snaps in by_country.values():
        if len(snaps) > 1:
            for c in history(engine, [profiles[r.profile] for r in snaps]):
                moves[c.after] = c

    partners = []
    cited: dict[str, set[str]] = {}
    for r in results:
        p = profiles[r.profile]
        for name in HEADLINE:
            for contrib in r.target(name).contributions:
                cited.setdefault(contrib.source.id, set())
                if contrib.source.section:
                    cited[contrib.source.id].add(contrib.source.section)
        partner = Partner(
            result=r, profile=p, region=regions[r.profile], tier=p.commitment.tier.value.value,
            instrument=p.commitment.instrument.value if p.commitment.instrument else None,
            summary=p.summary, rank=det_rank[r.profile], risk_rank=risk_rank[r.profile],
            steps={n: goodness(r.target(n).score, polarity[n]) for n in HEADLINE},
            waterfalls=[waterfall(ruleset.targets[n].title, r.target(n), polarity[n])
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
    env.filters["words"] = words
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
        version=tool_version(),
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
