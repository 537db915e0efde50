"""Scoring commands: one profile (score, explain), every profile (batch), checking (validate)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import render
from ..api import available_processors, select_snapshots
from ..api import validate as run_validate
from .common import (EDITION, FORMATS_MANY, FORMATS_ONE, SORTS, emit, evaluator_option,
                     handles_errors, open_engine, output_option, output_target, profiles_option,
                     progress_bar, rules_option)


@click.command()
@click.argument("key_or_file")
@click.option("--format", "fmt", type=click.Choice(FORMATS_ONE), default="text", show_default=True)
@rules_option
@profiles_option
@evaluator_option
@output_option
@handles_errors
def score(key_or_file: str, fmt: str, rules_dir: Path | None, profiles_dir: Path | None,
          evaluator: str, output: str | None) -> None:
    """Score one profile, given by key (india@2022) or file, with its explanation."""
    target = output_target(output, rules_dir, profiles_dir, key_or_file)
    with open_engine(rules_dir, evaluator) as engine:
        result = engine.score(engine.find_profile(key_or_file, profiles_dir).profile)
        text = render.result(result, engine.ruleset, fmt)
    emit(text, target)


@click.command()
@click.argument("key_or_file")
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that did not fire, "
              "with the facts that kept each from firing.")
@rules_option
@profiles_option
@evaluator_option
@handles_errors
def explain(key_or_file: str, show_all: bool, rules_dir: Path | None,
            profiles_dir: Path | None, evaluator: str) -> None:
    """Show the evaluation trace of one profile, rule by rule."""
    with open_engine(rules_dir, evaluator) as engine:
        result, trace = engine.trace(engine.find_profile(key_or_file, profiles_dir).profile)
        emit(render.trace_text(trace, result, show_all), None)


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS_MANY), default="table",
              show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default="deterrence", show_default=True,
              help="Rank by this, highest score first.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Score in this many processes (for large batches); same output.")
@click.option("--as-of", "edition", type=EDITION, default=None,
              metavar="YEAR", help="Rank one edition: the profiles dated in YEAR.")
@click.option("--all", "every_snapshot", is_flag=True,
              help="Rank every snapshot, several per country (default: the latest of each).")
@rules_option
@profiles_option
@evaluator_option
@output_option
@handles_errors
def batch(fmt: str, sort: str, jobs: int, edition: int | None, every_snapshot: bool,
          rules_dir: Path | None, profiles_dir: Path | None, evaluator: str,
          output: str | None) -> None:
    """Score the profiles and rank them; broken profiles are reported, the rest scored.

    By default the ranking holds the latest snapshot of each country and says so;
    --as-of YEAR ranks one edition, --all every snapshot."""
    if edition is not None and every_snapshot:
        raise click.UsageError("--as-of and --all exclude each other: choose one edition or all")
    target = output_target(output, rules_dir, profiles_dir)
    if jobs > (processors := available_processors()):
        # more processes than processors only adds start-up and memory
        click.echo(f"note: --jobs {jobs} is more than the {processors} processor"
                   f"{'s' if processors != 1 else ''} available; using {processors}", err=True)
        jobs = processors
    with open_engine(rules_dir, evaluator) as engine:
        chosen, _ = select_snapshots(engine.profile_files(profiles_dir), edition,
                                     every_snapshot)
        with progress_bar(len(chosen), "profiles") as bar:
            result = engine.batch(profiles_dir, sort=sort, jobs=jobs, progress=bar.update,
                                  edition=edition, every_snapshot=every_snapshot)
        text = render.batch_json(result) if fmt == "json" else \
            render.batch_table(result, engine.ruleset, fmt)
    emit(text, target)
    if result.errors:
        if fmt != "json":
            click.echo(render.errors_text(result.errors), err=True, nl=False)
        sys.exit(1)


@click.command()
@rules_option
@profiles_option
@handles_errors
def validate(rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """Check every rule file and profile, and report all problems at once."""
    n_rules, n_profiles, problems = run_validate(rules_dir, profiles_dir)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found:", err=True)
        for p in problems:
            click.echo(f"- {p}", err=True)
        sys.exit(2)
    click.echo(f"ok: {n_rules} rules, {n_profiles} profiles")
