"""Commands that compare scores: what-if, two profiles, a country's history, counterfactuals."""

from __future__ import annotations

from pathlib import Path

import click

# the analysis modules are imported in the commands, not here: completing an argument
# (a profile key, a --set field) resolves the command without running it
from .common import as_json
from .common import complete_assignment
from .common import complete_country
from .common import complete_profile
from .common import emit
from .common import format_option
from .common import handles_errors
from .common import open_engine
from .common import profiles_option
from .common import progress_bar
from .common import rules_option


@click.command()
@click.argument("key_or_file", shell_complete=complete_profile)
@click.option("--set", "assignments", multiple=True, required=True, metavar="FIELD=VALUE",
              shell_complete=complete_assignment,
              help="A fact to change, by dotted path (sanctions.caatsa_status=waived); "
              "'unknown' makes it unknown. Repeatable.")
@format_option()
@rules_option
@profiles_option
@handles_errors
def whatif(key_or_file: str, assignments: tuple[str, ...], fmt: str, rules_dir: Path | None,
           profiles_dir: Path | None) -> None:
    """Score a profile before and after changing some facts, and name the rules that moved."""
    from ..analysis.changes import parse_assignment
    from ..analysis.compare import comparison_text
    from ..analysis.compare import whatif as run_whatif

    changes = dict(parse_assignment(a) for a in assignments)
    with open_engine(rules_dir) as engine:
        result = run_whatif(engine, engine.find_profile(key_or_file, profiles_dir).profile,
                            changes)
    emit(as_json(result) if fmt == "json" else comparison_text(result), None)


@click.command()
@click.argument("key_a", shell_complete=complete_profile)
@click.argument("key_b", shell_complete=complete_profile)
@format_option()
@rules_option
@profiles_option
@handles_errors
def compare(key_a: str, key_b: str, fmt: str, rules_dir: Path | None,
            profiles_dir: Path | None) -> None:
    """How the scores differ between two profiles, and which rules explain each move."""
    from ..analysis.compare import compare_profiles
    from ..analysis.compare import comparison_text

    with open_engine(rules_dir) as engine:
        a = engine.find_profile(key_a, profiles_dir).profile
        b = engine.find_profile(key_b, profiles_dir).profile
        result = compare_profiles(engine, a, b)
    emit(as_json(result) if fmt == "json" else comparison_text(result), None)


@click.command()
@click.argument("country", shell_complete=complete_country)
@format_option()
@rules_option
@profiles_option
@handles_errors
def history(country: str, fmt: str, rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """A country's snapshots over time: each move and the rules behind it."""
    from ..analysis.compare import country_history
    from ..analysis.compare import history_text

    with open_engine(rules_dir) as engine:
        snapshots, moves = country_history(engine, country, profiles_dir)
    emit(as_json(moves) if fmt == "json" else history_text(country, snapshots, moves), None)


@click.command()
@click.argument("key_or_file", shell_complete=complete_profile)
@click.option("--target", required=True, metavar="SCORE OP BAND|NUMBER",
              help="e.g. 'alignment_risk<elevated' or 'deterrence>=strong'.")
@click.option("--max-changes", type=click.IntRange(1, 5), default=4, show_default=True,
              help="Search sets of up to this many changes (the smallest size found wins).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True,
              help="How many change sets to show.")
@format_option()
@rules_option
@profiles_option
@handles_errors
def counterfactual(key_or_file: str, target: str, max_changes: int, limit: int, fmt: str,
                   rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """The smallest sets of changes to actionable facts that reach a target score or band."""
    from ..analysis.counterfactual import result_text
    from ..analysis.counterfactual import search

    with open_engine(rules_dir) as engine:
        lp = engine.find_profile(key_or_file, profiles_dir)
        with progress_bar(max_changes, "set sizes") as bar:
            result = search(engine, lp.profile, target, max_changes=max_changes, limit=limit,
                            progress=bar.update)
    emit(as_json(result) if fmt == "json" else result_text(result), None)
