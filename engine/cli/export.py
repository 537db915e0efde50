"""Exports to other tools' formats: ``export --sqlite FILE``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import CommandError
from .common import evaluator_option
from .common import handles_errors
from .common import open_engine
from .common import output_target
from .common import profiles_option
from .common import rules_option

if TYPE_CHECKING:  # pragma: no cover
    from ..output import Target


def write_binary(data: bytes, target: Target) -> None:
    """Write a binary output (a database, a workbook) to its checked file, whole or not
    at all; standard output is refused, since the bytes mean nothing to a terminal."""
    from ..output import OutputError
    from ..output import write_bytes

    try:
        write_bytes(target, data)
    except OutputError as exc:
        raise CommandError(exc) from None


@click.command()
@click.option("--sqlite", "sqlite_file", required=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Write every table (profiles, facts, results, contributions, rules, "
              "sources) to this SQLite database, replacing it whole.")
@rules_option
@profiles_option
@evaluator_option
@handles_errors
def export(sqlite_file: str, rules_dir: Path | None, profiles_dir: Path | None,
           evaluator: str) -> None:
    """Export the rules, every profile snapshot and their scores to a SQLite database.

    One table each for the rule set, sources, rules, profiles, facts, results (a row per
    profile and score: value, band, base, adjustment) and contributions (a row per rule
    that fired, joined to rules by rule = rules.id); profiles that could not be loaded
    or scored are in the errors table and listed here (exit 1)."""
    if sqlite_file == "-":
        raise click.UsageError("--sqlite needs a file name: a database cannot go to "
                               "standard output")
    target = output_target(sqlite_file, rules_dir, profiles_dir)
    from ..database import sqlite_database
    from ..render import errors_text
    from ..render import safe_text

    with open_engine(rules_dir, evaluator) as engine:
        exported = sqlite_database(engine, profiles_dir)
    write_binary(exported.data, target)
    rows = exported.rows
    click.echo(safe_text(f"{sqlite_file}: {rows['profiles']} profiles, {rows['facts']} facts, "
                         f"{rows['results']} scores, {rows['contributions']} contributions, "
                         f"{rows['rules']} rules, {rows['sources']} sources"))
    if exported.errors:
        click.echo(errors_text(exported.errors), err=True, nl=False)
        sys.exit(1)
