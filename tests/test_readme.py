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
    block = section("### The ranked table")
    excerpt = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    assert len(excerpt) >= 13
    out = CliRunner().invoke(main, ["batch"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    printed = out.stdout.splitlines()
    for line in excerpt:
        assert line in printed, line


def test_the_explanation_excerpt_is_what_score_prints():
    block = section("### One explanation")
    excerpt = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    printed = CliRunner().invoke(main, ["score", "india@2022"]).stdout.splitlines()
    shown = [line for line in excerpt if line.strip() and line.strip() != "..."]
    assert len(shown) >= 15
    for line in shown:
        assert line in printed, line
