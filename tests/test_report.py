"""The HTML report: self-contained, every partner and chart present, rendered by a real browser."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from markupsafe import escape

from engine import Engine
from engine import bundled_dir
from engine.analysis.charts import BAD
from engine.analysis.charts import GOOD
from engine.analysis.charts import polarities
from engine.analysis.report import build_report

from .helpers import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]
NO_CHROMIUM = ("chromium is not installed and could not be "
               "(.ci/run installs Debian's chromium; elsewhere: apt-get install chromium)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("report", "-o", str(out), "--draws", "200")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def engine():
    with Engine.load() as e:
        yield e


def esc(text: str) -> str:
    return str(escape(text))  # as the page's templates escape it


def keys() -> list[str]:
    return sorted(p.stem for p in bundled_dir("profiles").glob("*.yaml"))


def section(page: str, key: str) -> str:
    start = page.index(f'<section class="partner" id="{key}"')
    return page[start:page.index("</section>", start)]


def small_profiles(tmp_path: Path) -> Path:
    """A dozen partners, two snapshots of some: enough for what does not need all of them."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for path in sorted(bundled_dir("profiles").glob("*.yaml"))[::9]:
        shutil.copy(path, profiles / path.name)
    for key in ("sweden@2021", "sweden@2024"):
        shutil.copy(bundled_dir("profiles") / f"{key}.yaml", profiles)
    return profiles


def test_report_holds_every_partner_and_chart(report: Path):
    page = report.read_text()
    for key in keys():
        assert f'<section class="partner" id="{key}"' in page, key
        assert f'<tr data-profile="{key}"' in page, key
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 600"') == 1
    # two waterfalls (deterrence, alignment risk) and a dimension profile per partner
    assert page.count('<figure class="waterfall">') == 2 * len(keys())
    assert page.count('<div class="bars profile">') == len(keys())
    assert 'id="sensitivity-table"' in page and "History over editions" in page


def test_every_waterfall_adds_up_with_rule_titles_and_one_colour_scale(report: Path, engine):
    page = report.read_text()
    polarity = polarities(engine.ruleset)
    assert polarity["deterrence"] == 1 and polarity["alignment_risk"] == -1
    assert polarity["guarantee_strength"] == 1 and polarity["dependence"] == -1
    for key in ("india@2022", "pakistan@2024", "germany@2022"):
        result = engine.score(engine.find_profile(key).profile)
        falls = re.findall(r'<figure class="waterfall">(.*?)</figure>', section(page, key), re.S)
        for name, fall in zip(("deterrence", "alignment_risk"), falls, strict=True):
            s = result.target(name)
            rows = re.findall(r'<div class="bar-row (\w+)">\s*<div class="bar-label">(.*?)</div>\s*'
                              r'<div class="bar-points">(.*?)</div>.*?background: (#\w+)', fall, re.S)
            kinds = [k for k, *_ in rows]
            assert kinds[0] == "base" and kinds[-1] == "total"
            points = [int(p) for k, _, p, _ in rows if k != "total"]
            assert sum(points) == s.score == int(rows[-1][2])
            rules = [(label, int(p), colour) for k, label, p, colour in rows if k == "rule"]
            assert len(rules) == len(s.contributions)
            for (label, pts, colour), c in zip(rules, s.contributions, strict=True):
                assert label.startswith(esc(c.title)), label  # the title, not the id
                assert pts == c.points
                # blue is safer for the partner in both panels, red less safe
                safer = pts > 0 if name == "deterrence" else pts < 0
                assert colour == (GOOD if safer else BAD), (key, name, label)


def test_explanations_show_facts_notes_and_full_sources(report: Path, engine):
    page = section(report.read_text(), "india@2022")
    profile = engine.find_profile("india@2022").profile
    assert esc(profile.commitment.tier.note) in page  # the fact's note
    assert '<span class="conf">provisional</span>' in page
    result = engine.score(profile)
    for c in result.deterrence.contributions + result.alignment_risk.contributions:
        entry = engine.ruleset.catalog.entries[c.source.id]
        assert esc(entry.title) in page, c.rule
        assert esc(c.rationale) in page, c.rule  # whole, never cut


def test_methodology_sources_version_and_date(report: Path, engine):
    from importlib.metadata import version

    page = report.read_text()
    methodology = page[page.index('<section id="methodology"'):]
    for t in engine.ruleset.targets.values():
        for band in t.bands:
            assert band in methodology
    assert "What the model leaves out" in methodology
    for entry in engine.ruleset.catalog.entries.values():
        assert f'<li id="src-{entry.id}">' in page
        assert esc(entry.title) in page
    partnerships = page[page.index('<li id="src-partnerships-2022">'):]
    cited = re.search(r"sections cited: ([^<]*)", partnerships).group(1).split(", ")
    assert {"dangerous halfway houses", "shifting alignments"} <= set(cited)
    assert engine.ruleset.digest in page
    assert f"latticework {version('latticework')}" in page
    # the date is the newest snapshot's, never the clock's
    assert "2024-07-01 (the newest snapshot's as-of date)" in page


def test_an_explicit_date_is_shown_and_the_output_stays_deterministic(tmp_path: Path, engine):
    loaded, errors = engine.load_profiles(small_profiles(tmp_path))
    assert not errors
    first = build_report(engine, loaded, draws=20, date=dt.date(2025, 3, 14))
    again = build_report(engine, loaded, draws=20, date=dt.date(2025, 3, 14))
    assert first == again
    assert "<dd>2025-03-14</dd>" in first and "newest snapshot" not in first


def test_report_makes_no_network_requests(report: Path):
    page = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(" not in page and "@import" not in page and "<link" not in page
    assert not re.search(r"<script[^>]*\ssrc", page)
    # the policy refuses every request; its one script is allowed by hash, not inline at large
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    csp = html.unescape(csp)
    assert csp.startswith("default-src 'none';") and "connect-src" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1]


def test_report_is_byte_identical_across_runs(tmp_path: Path):
    profiles = small_profiles(tmp_path)
    outs = []
    for name in ("first.html", "again.html"):
        out = tmp_path / name
        result = run_cli("report", "--out", str(out), "--draws", "200",
                                           "--profiles", str(profiles))
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def probed(report: Path, tmp_path: Path, probe: str) -> Path:
    """A copy of the report that runs ``probe`` after the page's own script, the probe's
    hash added to the page's policy (which would refuse it otherwise)."""
    page = report.read_text()
    digest = base64.b64encode(hashlib.sha256(probe.encode()).digest()).decode()
    page = page.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    page = page.replace("</body>", f"<script>{probe}</script></body>")
    out = tmp_path / "probed.html"
    out.write_text(page)
    return out


def dump_dom(page: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *flags,
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def probe_result(dom: str) -> dict:
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    return json.loads(html.unescape(found.group(1)))


PROBE_WIDTH = """(function () {
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({scroll: document.documentElement.scrollWidth,
    width: window.innerWidth, script: document.documentElement.getAttribute("data-script")});
  document.body.appendChild(out);
}());"""


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
@pytest.mark.parametrize("width", [1400, 500])
def test_report_fits_the_window_without_sideways_scrolling(report: Path, tmp_path: Path,
                                                             width: int):
    page = probed(report, tmp_path, PROBE_WIDTH)
    found = probe_result(dump_dom(page, tmp_path, f"--window-size={width},900").stdout)
    assert found["width"] == width
    assert found["scroll"] <= found["width"], found
    assert found["script"] == "ready"  # the page's own script ran under its policy


PROBE_TABLE = """(function () {
  var table = document.getElementById("ranked-table");
  var region = document.querySelector("#ranked-filters select[name=region]");
  region.value = "europe"; region.dispatchEvent(new Event("change"));
  var shown = Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.hidden; });
  var regions = shown.map(function (r) { return r.getAttribute("data-region"); });
  var count = document.getElementById("ranked-count").textContent;
  region.value = ""; region.dispatchEvent(new Event("change"));
  var heads = table.tHead.rows[0].cells, risk = null;
  for (var i = 0; i < heads.length; i++) {
    if (heads[i].textContent.trim() === "alignment risk") { risk = heads[i]; }
  }
  risk.querySelector("button").click();
  var scores = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return Number(r.cells[risk.cellIndex].getAttribute("data-v")); });
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({regions: regions, count: count, scores: scores,
    sort: risk.getAttribute("aria-sort")});
  document.body.appendChild(out);
}());"""


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_ranked_table_filters_and_sorts_in_the_browser(report: Path, tmp_path: Path):
    found = probe_result(dump_dom(probed(report, tmp_path, PROBE_TABLE), tmp_path).stdout)
    europe = report.read_text().count('data-region="europe"')
    assert len(found["regions"]) == europe > 0 and set(found["regions"]) == {"europe"}
    assert found["count"] == f"{europe} of {len(keys())} snapshots shown"
    assert found["sort"] == "ascending"
    assert found["scores"] == sorted(found["scores"]) and len(found["scores"]) == len(keys())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be "
                    "(.ci/run installs Debian's chromium; elsewhere: apt-get install chromium)")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path):
    dom = dump_dom(report, tmp_path)
    for key in keys():
        assert f'id="{key}"' in dom.stdout, key
    assert dom.stdout.count('class="overview"') == 1
    # the page logs nothing to the console (a refused request or script would be logged)
    # and asks for nothing over the network
    assert "CONSOLE" not in dom.stderr
    assert "Content Security Policy" not in dom.stderr
    assert "Failed to load resource" not in dom.stderr
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
         "--window-size=1280,2000", f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 50_000  # a blank page compresses to a few kilobytes
