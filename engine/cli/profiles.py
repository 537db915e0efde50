"""Commands on the profiles: list, completeness, new; their JSON Schema; importing facts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..analysis.completeness import completeness
from ..analysis.completeness import completeness_text
from ..api import bundled_dir
from ..authoring.importer import import_text
from ..authoring.importer import run_import
from ..authoring.scaffold import write_new_profile
from ..profile import Profile
from ..rule_loader import load_ruleset
from ..tables import profiles_table
from .common import EDITION
from .common import Share
from .common import all_profiles
from .common import as_json
from .common import complete_profile
from .common import emit
from .common import exit_on_load_errors
from .common import format_option
from .common import handles_errors
from .common import open_engine
from .common import profiles_option
from .common import rules_option
from .common import terminal_width


@click.group()
def profiles() -> None:
    """Inspect the profiles."""


@profiles.command(name="list")
@click.option("--wide", is_flag=True, help="Every column, however wide (by default the table "
              "fits the terminal: the file, then the name, give way).")
@rules_option
@profiles_option
@handles_errors
def profiles_list(wide: bool, rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """List the profiles: key, name, date, commitment tier, file."""
    with open_engine(rules_dir, "reference") as engine:
        loaded, errors = engine.load_profiles(profiles_dir)
    emit(profiles_table(loaded, None if wide else terminal_width()), None)
    exit_on_load_errors(errors)


@profiles.command(name="completeness")
@format_option()
@click.option("--as-of", "edition", type=EDITION, default=None,
              metavar="YEAR", help="Only the profiles dated in YEAR (one edition).")
@click.option("--min-share", type=Share(), default=None,
              help="Exit 1 if a profile knows a smaller share of the fields the rules read.")
@rules_option
@profiles_option
@handles_errors
def profiles_completeness(fmt: str, edition: int | None, min_share: float | None,
                          rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """For every profile: the fields the rules read, how many are known, and each unknown
    field with the reason the profile gives for it."""
    with open_engine(rules_dir, "reference") as engine:
        loaded = all_profiles(engine, profiles_dir)
        if edition is not None:
            loaded = [lp for lp in loaded if lp.profile.as_of.year == edition]
        report = completeness(engine.ruleset, loaded)
    emit(as_json(report) if fmt == "json" else completeness_text(report, min_share), None)
    if min_share is not None and any(p.share < min_share for p in report.profiles):
        sys.exit(1)


@profiles.command(name="new")
@click.argument("key")
@click.option("--from", "from_key", default=None, metavar="KEY", shell_complete=complete_profile,
              help="Copy this profile's facts, marked for re-checking, instead of a template.")
@rules_option
@profiles_option
@handles_errors
def profiles_new(key: str, from_key: str | None, rules_dir: Path | None,
                 profiles_dir: Path | None) -> None:
    """Write PROFILES/KEY.yaml: every field the rules read, as a commented template or a
    copy of another profile, and check that it loads."""
    directory = profiles_dir or bundled_dir("profiles")
    with open_engine(rules_dir, "reference") as engine:
        source = Path(engine.find_profile(from_key, directory).file) if from_key else None
        path = write_new_profile(key, engine.ruleset, directory, engine.ruleset.catalog, source)
    click.echo(f"wrote {path}")


@click.group()
def schema() -> None:
    """Print the JSON Schema of an input file, for editors and other tools."""


@schema.command(name="profile")
def schema_profile() -> None:
    """The profile model's JSON Schema (point an editor's YAML language server at it)."""
    emit(json.dumps(Profile.model_json_schema(), indent=2, ensure_ascii=False) + "\n", None)


@click.command(name="import")
@click.argument("mapping")
@click.argument("table", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@format_option()
@rules_option
@profiles_option
@handles_errors
def import_cmd(mapping: str, table: Path, dry_run: bool, fmt: str, rules_dir: Path | None,
               profiles_dir: Path | None) -> None:
    """Update profile facts from a data table through the mapping
    rules/imports/MAPPING.yaml (e.g. 'import troops FILE'), and print what changed."""
    rules_path = Path(rules_dir or bundled_dir("rules"))
    ruleset = load_ruleset(rules_path)
    result = run_import(rules_path, mapping, table, Path(profiles_dir or bundled_dir("profiles")),
                        ruleset.catalog, dry_run=dry_run)
    emit(as_json(result) if fmt == "json" else import_text(result), None)
