"""Commands on the rules: list, check (the proofs), coverage over the profiles."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..analysis.checker import check_rules
from ..analysis.checker import check_text
from ..analysis.checker import coverage_text
from ..analysis.checker import profile_coverage
from ..api import bundled_dir
from ..rule_loader import load_ruleset
from ..tables import rules_table
from .common import emit
from .common import exit_on_load_errors
from .common import handles_errors
from .common import open_engine
from .common import profiles_option
from .common import rules_option
from .common import terminal_width


@click.group()
def rules() -> None:
    """Inspect the rules."""


@rules.command(name="list")
@click.option("--format", "fmt", type=click.Choice(("table", "markdown", "json")),
              default="table", show_default=True)
@click.option("--wide", is_flag=True, help="Every column and whole titles, however wide (by "
              "default the table fits the terminal: the group and the source give way, and "
              "titles are cut short).")
@rules_option
@handles_errors
def rules_list(fmt: str, wide: bool, rules_dir: Path | None) -> None:
    """List the rules: id, dimension, points, group, source, title."""
    width = None if wide or fmt != "table" else terminal_width()
    emit(rules_table(load_ruleset(rules_dir or bundled_dir("rules")), fmt, width), None)


@rules.command(name="check")
@rules_option
@handles_errors
def rules_check(rules_dir: Path | None) -> None:
    """Prove what can be proved about the rules: dead, overlapping, masked, gaps, monotone."""
    ruleset = load_ruleset(rules_dir or bundled_dir("rules"))
    findings = check_rules(ruleset)
    emit(check_text(ruleset, findings), None)
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@rules.command(name="coverage")
@rules_option
@profiles_option
@handles_errors
def rules_coverage(rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """Which rules fire on the profiles, how often, and which never do."""
    with open_engine(rules_dir, "reference") as engine:
        loaded, errors = engine.load_profiles(profiles_dir)
        counts = profile_coverage(engine, loaded)
    emit(coverage_text(counts, len(loaded)), None)
    exit_on_load_errors(errors)
