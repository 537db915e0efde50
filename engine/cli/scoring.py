"""Scoring commands: one profile (score, explain), every profile (batch), checking (validate)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

# the engine is imported in the commands, not here: completing an argument (a profile key)
# resolves the command without running it, and must not pay for the engine
from .common import EDITION
from .common import FORMATS_MANY
from .common import SORTS
from .common import complete_profile
from .common import emit
from .common import emit_bytes
from .common import emit_stream
from .common import evaluator_option
from .common import handles_errors
from .common import one_profile_options
from .common import open_engine
from .common import output_option
from .common import output_target
from .common import profiles_option
from .common import progress_bar
from .common import rules_option
from .common import terminal_width
from .common import use_color


@click.command()
@click.argument("key_or_file", shell_complete=complete_profile)
@one_profile_options
def score(key_or_file: str, fmt: str, rules_dir: Path | None, profiles_dir: Path | None,
          evaluator: str, output: str | None) -> None:
    """Score one profile, given by key (india@2022) or file, with its explanation."""
    from .. import render

    target = output_target(output, rules_dir, profiles_dir, key_or_file)
    with open_engine(rules_dir, evaluator) as engine:
        result = engine.score(engine.find_profile(key_or_file, profiles_dir).profile)
        text = render.result(result, engine.ruleset, fmt, color=use_color(target))
    emit(text, target)


@click.command()
@click.argument("key_or_file", shell_complete=complete_profile)
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that did not fire, "
              "with the facts that kept each from firing.")
@click.option("--fails", is_flag=True, help="Only the rules that did not fire, with the facts "
              "that kept each from firing.")
@click.option("--dimension", "dimension", metavar="NAME", default=None,
              help="Only the rules that give points to this score or dimension "
              "(deterrence, alignment_risk, dependence, ...).")
@one_profile_options
def explain(key_or_file: str, show_all: bool, fails: bool, dimension: str | None, fmt: str,
            rules_dir: Path | None, profiles_dir: Path | None, evaluator: str,
            output: str | None) -> None:
    """Show the evaluation trace of one profile, rule by rule."""
    from .. import render

    target = output_target(output, rules_dir, profiles_dir, key_or_file)
    with open_engine(rules_dir, evaluator) as engine:
        result, trace = engine.trace(engine.find_profile(key_or_file, profiles_dir).profile)
        name = render.target_name(result, dimension) if dimension is not None else None
        if fmt == "json":
            text = render.trace_json(trace, result, show_all, fails, name)
        elif fmt == "markdown":
            text = render.trace_markdown(trace, result, show_all, fails, name)
        else:
            text = render.trace_text(trace, result, show_all, fails, name, engine.ruleset,
                                     use_color(target))
    emit(text, target)


@click.command()
@click.option("--format", "fmt", type=click.Choice((*FORMATS_MANY, "xlsx")), default="table",
              show_default=True, help="jsonl: one result per line (JSON Lines), ranked, errors "
              "on standard error; xlsx: a workbook (ranking, contributions, facts, sources), "
              "written to the file -o names.")
@click.option("--sort", type=click.Choice(SORTS), default="deterrence", show_default=True,
              help="Rank by this, highest score first.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Score in this many processes (for large batches); same output.")
@click.option("--as-of", "edition", type=EDITION, default=None,
              metavar="YEAR", help="Rank one edition: the profiles dated in YEAR.")
@click.option("--all", "every_snapshot", is_flag=True,
              help="Rank every snapshot, several per country (default: the latest of each).")
@click.option("--columns", metavar="A,B,...", default=None,
              help="The table's columns, in this order: rank, profile, name, deterrence, "
              "deterrence_band, alignment_risk, alignment_risk_band and the dimensions "
              "(table and markdown formats).")
@click.option("--wide", is_flag=True, help="Every column, however wide the table (by default "
              "a table fits the terminal: COLUMNS, else its width, else 120 when piped).")
@rules_option
@profiles_option
@evaluator_option
@output_option
@handles_errors
def batch(fmt: str, sort: str, jobs: int, edition: int | None, every_snapshot: bool,
          columns: str | None, wide: bool, rules_dir: Path | None, profiles_dir: Path | None,
          evaluator: str, output: str | None) -> None:
    """Score the profiles and rank them; broken profiles are reported, the rest scored.

    By default the ranking holds the latest snapshot of each country and says so;
    --as-of YEAR ranks one edition, --all every snapshot. The table fits the terminal:
    the dimension columns, then the name, give way (a note names them); --wide shows
    them all, --columns chooses."""
    from .. import render
    from .. import tables
    from ..batch import available_processors
    from ..batch import select_snapshots

    if edition is not None and every_snapshot:
        raise click.UsageError("--as-of and --all exclude each other: choose one edition or all")
    if (columns is not None or wide) and fmt not in ("table", "markdown"):
        raise click.UsageError("--columns and --wide shape the table and markdown formats; "
                               f"--format {fmt} always holds every column")
    if columns is not None and wide:
        raise click.UsageError("--columns and --wide exclude each other: choose the columns "
                               "or take them all")
    if fmt == "xlsx" and output in (None, "-"):
        raise click.UsageError("--format xlsx writes a workbook: name its file with -o FILE")
    target = output_target(output, rules_dir, profiles_dir)
    if jobs > (processors := available_processors()):
        # more processes than processors only adds start-up and memory
        click.echo(f"note: --jobs {jobs} is more than the {processors} processor"
                   f"{'s' if processors != 1 else ''} available; using {processors}", err=True)
        jobs = processors
    with open_engine(rules_dir, evaluator) as engine:
        picked = tables.choose_columns(columns, tables.batch_columns(engine.ruleset)) \
            if columns is not None else None
        # counted for the progress bar; the batch chooses them again as it plans
        total = select_snapshots(engine.profile_files(profiles_dir), edition,
                                 every_snapshot)[1].profiles
        if fmt == "xlsx":
            # a workbook is written whole at the end: it needs every result at once
            with progress_bar(total, "profiles") as bar:
                result = engine.batch(profiles_dir, sort=sort, jobs=jobs, progress=bar.update,
                                      edition=edition, every_snapshot=every_snapshot)
            from ..export import batch_xlsx

            # loaded once more as a whole: a lookup per profile would list the directory
            # once per row
            loaded, _ = engine.load_profiles(profiles_dir)
            workbook = batch_xlsx(result, engine.ruleset, loaded)
            assert target is not None  # refused above: a workbook needs -o FILE
            emit_bytes(workbook, target)
            errors = result.errors
        else:
            # every other format streams: each profile is rendered as it is scored and only
            # its sort key stays in memory (engine.streaming)
            from .. import streaming

            record = streaming.record_for(fmt, engine.info, list(engine.ruleset.dimensions))
            with progress_bar(total, "profiles") as bar, engine.batch_stream(
                    record, profiles_dir, sort=sort, jobs=jobs, progress=bar.update,
                    edition=edition, every_snapshot=every_snapshot) as ranked:
                if fmt in ("table", "markdown"):
                    width = None if wide or fmt != "table" else terminal_width(target)
                    emit(tables.batch_table(streaming.summaries(ranked), engine.ruleset, fmt,
                                            width=width, columns=picked,
                                            color=use_color(target)), target)
                else:
                    emit_stream(lambda out: streaming.write(out, ranked, fmt, record), target)
                errors = ranked.errors
    if errors:
        if fmt != "json":
            click.echo(render.errors_text(errors), err=True, nl=False)
        sys.exit(1)


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...",
                type=click.Path(path_type=Path), shell_complete=complete_profile)
@rules_option
@profiles_option
@handles_errors
def validate(paths: tuple[Path, ...], rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """Check every rule file and profile, and report all problems at once.

    PATHs name what to check instead: profile files or directories of them (only those
    profiles are checked), or a rule file or rule directory (its whole rule set is
    checked, and tried on the profiles), e.g. 'validate profiles/india@2022.yaml'."""
    from ..filecheck import validate_paths

    n_rules, n_profiles, problems = validate_paths(paths, rules_dir, profiles_dir)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found:", err=True)
        for p in problems:
            click.echo(f"- {p}", err=True)
        sys.exit(2)
    click.echo(f"ok: {n_rules} rules, {n_profiles} profile{'s' if n_profiles != 1 else ''}")
