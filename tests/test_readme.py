"""The README's output excerpts are what the commands print: a change of model shows up
in the README or fails the build."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(title)
    end = text.index("\n#", start + len(title))
    return text[start:end]


def test_the_ranked_table_excerpt_is_what_batch_prints():
    rows = re.findall(r"^\s+(\d+)\s+(\S+@\d{4})\s+(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s*$",
                      section("### The ranked table"), re.M)
    assert len(rows) >= 10
    out = CliRunner().invoke(main, ["batch", "--format", "csv"]).stdout.splitlines()
    printed = {}
    for line in out[1:]:
        cells = line.split(",")
        printed[cells[1]] = (cells[0], cells[3], cells[4], cells[5], cells[6])
    for rank, key, det, det_band, risk, risk_band in rows:
        assert printed[key] == (rank, det, det_band, risk, risk_band), key


def test_the_explanation_excerpt_is_what_score_prints():
    block = section("### One explanation")
    excerpt = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    printed = CliRunner().invoke(main, ["score", "india@2022"]).stdout.splitlines()
    shown = [line for line in excerpt if line.strip() and line.strip() != "..."]
    assert len(shown) >= 15
    for line in shown:
        assert line in printed, line
