"""The HTML report: self-contained, every partner and chart present, rendered by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import bundled_dir
from engine.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--draws", "200"])
    assert result.exit_code == 0, result.output
    return out


def keys() -> list[str]:
    return sorted(p.stem for p in bundled_dir("profiles").glob("*.yaml"))


def test_report_holds_every_partner_and_chart(report: Path):
    html = report.read_text()
    for key in keys():
        assert f'<section class="partner" id="{key}"' in html, key
        assert f'<tr data-profile="{key}">' in html, key
    # one overview chart and one contributions chart per partner, inline
    assert html.count("<svg") == len(keys()) + 1
    assert 'id="sensitivity-table"' in html and "Snapshots over time" in html


def test_report_makes_no_network_requests(report: Path):
    html = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(http" not in html and "@import" not in html
    assert "<script" not in html


def test_report_is_byte_identical_across_runs(tmp_path: Path):
    # a dozen partners, two snapshots of some: determinism does not need all of them
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for path in sorted(bundled_dir("profiles").glob("*.yaml"))[::9]:
        shutil.copy(path, profiles / path.name)
    shutil.copy(bundled_dir("profiles") / "sweden@2021.yaml", profiles)
    shutil.copy(bundled_dir("profiles") / "sweden@2024.yaml", profiles)
    outs = []
    for name in ("first.html", "again.html"):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["report", "--out", str(out), "--draws", "200",
                                           "--profiles", str(profiles)])
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be "
                    "(.ci/run installs Debian's chromium; elsewhere: apt-get install chromium)")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path):
    profile_dir = tmp_path / "chromium-profile"
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for key in keys():
        assert f'id="{key}"' in dom.stdout, key
    assert dom.stdout.count("<svg") == len(keys()) + 1
    # the page logs nothing to the console and asks for nothing over the network
    assert "CONSOLE" not in dom.stderr
    assert "Failed to load resource" not in dom.stderr
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--window-size=1280,2000",
         f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 50_000  # a blank page compresses to a few kilobytes
