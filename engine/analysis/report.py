"""A self-contained HTML report: one file, no network requests, charts as inline SVG.

jinja2 renders the page (escaping every text from profiles and rules);
matplotlib draws the charts. Neither the page nor the charts carry a date, so
the same inputs give the same bytes. A text from a file is drawn as it is written:
never read as mathematics or LaTeX, its control characters shown as escapes.
"""

from __future__ import annotations

import io
from typing import Any

from .compare import history
from ..api import Engine
from ..render import describe_match, safe_text
from ..loader import LoadedProfile
from ..results import ProfileResult
from .sensitivity import SensitivityResult, analyse


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG is inline


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "svg.fonttype": "none",  # text stays text: smaller, searchable, no embedded glyphs
        "svg.hashsalt": "latticework",  # stable element ids: byte-identical reports
        "font.size": 9,
        # a partner named "$5 and $6" is text: neither mathtext nor LaTeX reads labels
        "text.parse_math": False,
        "text.usetex": False,
        "axes.formatter.use_mathtext": False,
    })
    import matplotlib.pyplot as plt

    return plt


def overview_chart(results: list[ProfileResult]) -> str:
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(8, 6))
    for edge in (20, 40, 60, 80):
        ax.axvline(edge, color="#e3e7ee", lw=0.8, zorder=0)
        ax.axhline(edge, color="#e3e7ee", lw=0.8, zorder=0)
    xs = [r.alignment_risk.score for r in results]
    ys = [r.deterrence.score for r in results]
    ax.scatter(xs, ys, s=28, color="#2f5d9a", zorder=2)
    for r, x, y in zip(results, xs, ys):
        ax.annotate(safe_text(r.profile), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("alignment risk")
    ax.set_ylabel("deterrence")
    ax.set_title("Deterrence against alignment risk")
    return _svg(fig)


def contributions_chart(r: ProfileResult) -> str:
    plt = _matplotlib()
    parts = [("deterrence", r.deterrence), ("alignment risk", r.alignment_risk)]
    heights = [max(1, len(s.contributions)) for _, s in parts]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.35 * max(heights) + 1.2))
    for ax, (title, s) in zip(axes, parts):
        labels = [safe_text(c.rule) for c in s.contributions] or ["(no rule fired)"]
        values = [c.points for c in s.contributions] or [0]
        colors = ["#1f6b3a" if v > 0 else "#a33333" for v in values]
        ax.barh(range(len(values)), values, color=colors)
        ax.set_yticks(range(len(values)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="#555", lw=0.8)
        ax.set_title(f"{title}: {s.score} ({s.band}), base {s.base}", fontsize=9)
    fig.suptitle(safe_text(f"{r.name} ({r.profile}): contributions"), fontsize=10)
    return _svg(fig)


def _finalize(value: Any) -> Any:
    """Every text the template prints, with its control characters as escapes: a NUL or
    an escape sequence makes the page (and its inline SVG) invalid. The charts are
    already markup, their texts made safe before matplotlib drew them."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return safe_text(value)
    return value


def render(engine: Engine, loaded: list[LoadedProfile], sensitivity: SensitivityResult,
           ) -> str:
    import jinja2

    results = sorted((engine.score(lp.profile) for lp in loaded),
                     key=lambda r: (-r.deterrence.score, r.profile))
    by_country: dict[str, list] = {}
    for lp in loaded:
        by_country.setdefault(lp.profile.country, []).append(lp.profile)
    histories = [(c, history(engine, ps)) for c, ps in sorted(by_country.items()) if len(ps) > 1]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        finalize=_finalize,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        ruleset=engine.ruleset,
        results=results,
        dimensions=list(engine.ruleset.dimensions.values()),
        overview_svg=overview_chart(results),
        contribution_svgs={r.profile: contributions_chart(r) for r in results},
        sensitivity=sensitivity,
        histories=histories,
        describe=describe_match,
    )


def build_report(engine: Engine, loaded: list[LoadedProfile], draws: int = 1000,
                 spread: float = 0.25, seed: int = 0) -> str:
    sens = analyse(engine, [lp.profile for lp in loaded], draws=draws, spread=spread, seed=seed)
    return render(engine, loaded, sens)
