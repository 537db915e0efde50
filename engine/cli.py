"""The ``latticework`` command line: each command calls the library and renders its result.

Exit codes: 0 ok; 1 some profiles could not be scored; 2 bad usage or input.
Only latticework's own errors become messages; anything else is a bug and keeps
its traceback. ``--debug`` shows the traceback of ours too.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from .errors import LatticeworkError

if TYPE_CHECKING:  # pragma: no cover
    from .output import Target

FORMATS_ONE = ("text", "json", "markdown")
FORMATS_MANY = ("table", "json", "csv", "markdown")
SORTS = ("deterrence", "alignment-risk", "key", "name")


class Share(click.FloatRange):
    """A number from 0 to 1. click's FloatRange lets nan through (every comparison with
    nan is false), and nan would reach numpy as a traceback or a meaningless result."""

    def __init__(self) -> None:
        super().__init__(0, 1)

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number from 0 to 1.", param, ctx)
        return number


# numpy seeds its generator with a non-negative integer only
SEED = click.IntRange(min=0)


class CommandError(click.ClickException):
    """One of our errors, shown as its message with the error's exit code."""

    def __init__(self, error: LatticeworkError) -> None:
        from .render import join_lines

        # a file name or a found text may hold escape sequences meant for the terminal
        super().__init__(join_lines(str(error).split("\n")).rstrip("\n"))
        self.exit_code = error.exit_code


def handles_errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LatticeworkError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            raise CommandError(exc) from None

    return wrapper


def rules_option(fn: Callable) -> Callable:
    return click.option(
        "--rules", "rules_dir", type=click.Path(path_type=Path), default=None,
        help="Rules directory (default: the bundled rules).",
    )(fn)


def profiles_option(fn: Callable) -> Callable:
    return click.option(
        "--profiles", "profiles_dir", type=click.Path(path_type=Path), default=None,
        help="Profiles directory (default: the bundled profiles).",
    )(fn)


def evaluator_option(fn: Callable) -> Callable:
    return click.option(
        "--evaluator", type=click.Choice(["durable", "reference"]), default="durable",
        show_default=True, help="durable_rules, or the pure-Python reference evaluator.",
    )(fn)


def output_option(fn: Callable) -> Callable:
    return click.option(
        "--output", "-o", type=click.Path(allow_dash=True), default=None, metavar="FILE",
        help="Write to this regular file (whole or not at all) instead of standard output; "
        "'-' is standard output.",
    )(fn)


def output_target(output: str | None, rules_dir: Path | None, profiles_dir: Path | None,
                  *inputs: str | Path) -> Target | None:
    """The checked target of -o/--out, before any work: a bad target fails at once, not
    after minutes of scoring. None when none was given."""
    if output is None:
        return None
    from .api import bundled_dir
    from .output import check, inputs_of

    return check(output, inputs_of(rules_dir or bundled_dir("rules"),
                                   profiles_dir or bundled_dir("profiles"), *inputs))


def emit(text: str, output: Target | None = None) -> None:
    """Print, or write a checked target (see ``output_target``) whole: a failure never
    leaves a partial file, and an operating-system error is one line, exit 2."""
    from .output import OutputError, os_error, write

    if output is None or output.is_stdout:
        try:
            click.echo(text, nl=False)
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped reading (| head): nothing to tell it; keep the interpreter
            # from failing again when it flushes standard output on the way out
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(2)
        except OSError as exc:
            raise CommandError(os_error(exc, "standard output")) from None
        return
    try:
        write(output, text)
    except OutputError as exc:
        raise CommandError(exc) from None


def _exit_on_load_errors(errors: list) -> None:
    """Listing commands show what they could read, then name what they could not."""
    if not errors:
        return
    from .render import errors_text
    from .results import ErrorOut

    outs = [ErrorOut(source=e.file, message=e.reason, code=e.code) for e in errors]
    click.echo(errors_text(outs, "loaded"), err=True, nl=False)
    sys.exit(1)


def _all_profiles(engine: Any, profiles_dir: Path | None) -> list:
    """Every profile, for commands whose output would be wrong with one missing."""
    loaded, errors = engine.load_profiles(profiles_dir)
    if errors:
        from .errors import LoadErrors

        raise LoadErrors(errors)
    return loaded


def _engine(rules_dir: Path | None, evaluator: str = "durable"):
    from .api import Engine

    return Engine.load(rules_dir, evaluator=evaluator)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for latticework's own errors too.")
@click.version_option(package_name="latticework")
def main(debug: bool) -> None:
    """Score US alliances and security partnerships with transparent, cited rules."""


@main.command()
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
    from . import render as explain

    target = output_target(output, rules_dir, profiles_dir, key_or_file)
    with _engine(rules_dir, evaluator) as engine:
        lp = engine.find_profile(key_or_file, profiles_dir)
        result = engine.score(lp.profile)
        if fmt == "json":
            text = explain.result_json(result)
        elif fmt == "markdown":
            text = explain.result_markdown(result, engine.ruleset)
        else:
            text = explain.result_text(result, engine.ruleset)
    emit(text, target)


@main.command(name="explain")
@click.argument("key_or_file")
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that did not fire, "
              "with the facts that kept each from firing.")
@rules_option
@profiles_option
@evaluator_option
@handles_errors
def explain_cmd(key_or_file: str, show_all: bool, rules_dir: Path | None,
                profiles_dir: Path | None, evaluator: str) -> None:
    """Show the evaluation trace of one profile, rule by rule."""
    from . import render as explain

    with _engine(rules_dir, evaluator) as engine:
        lp = engine.find_profile(key_or_file, profiles_dir)
        result, trace = engine.trace(lp.profile)
        emit(explain.trace_text(trace, result, show_all), None)


@main.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS_MANY), default="table",
              show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default="deterrence", show_default=True,
              help="Rank by this, highest score first.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Score in this many processes (for large batches); same output.")
@click.option("--as-of", "edition", type=click.IntRange(1800, 2100), default=None,
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
    from . import render as explain
    from .api import available_processors

    if edition is not None and every_snapshot:
        raise click.UsageError("--as-of and --all exclude each other: choose one edition or all")
    target = output_target(output, rules_dir, profiles_dir)
    if jobs > (processors := available_processors()):
        # more processes than processors only adds start-up and memory
        click.echo(f"note: --jobs {jobs} is more than the {processors} processor"
                   f"{'s' if processors != 1 else ''} available; using {processors}", err=True)
        jobs = processors
    with _engine(rules_dir, evaluator) as engine:
        from .loader import profile_files
        from .api import bundled_dir, select_snapshots

        chosen, _ = select_snapshots(profile_files(profiles_dir or bundled_dir("profiles")),
                                     edition, every_snapshot)
        with progress_bar(len(chosen), "profiles") as bar:
            result = engine.batch(profiles_dir, sort=sort, jobs=jobs, progress=bar.update,
                                  edition=edition, every_snapshot=every_snapshot)
        if fmt == "json":
            text = explain.batch_json(result)
        else:
            text = explain.batch_table(result, engine.ruleset, fmt)
    emit(text, target)
    if result.errors:
        if fmt != "json":
            click.echo(explain.errors_text(result.errors), err=True, nl=False)
        sys.exit(1)


def format_option(choices: tuple[str, ...] = ("text", "json")) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True)


def _json(model: Any) -> str:
    import json

    from .render import safe_json

    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else \
        [m.model_dump(mode="json") for m in model]
    return safe_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


@main.command()
@click.argument("key_or_file")
@click.option("--set", "assignments", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A fact to change, by dotted path (sanctions.caatsa_status=waived); "
              "'unknown' makes it unknown. Repeatable.")
@format_option()
@rules_option
@profiles_option
@handles_errors
def whatif(key_or_file: str, assignments: tuple[str, ...], fmt: str, rules_dir: Path | None,
           profiles_dir: Path | None) -> None:
    """Score a profile before and after changing some facts, and name the rules that moved."""
    from .analysis.compare import comparison_text, whatif as run_whatif
    from .analysis.changes import parse_assignment

    changes = dict(parse_assignment(a) for a in assignments)
    with _engine(rules_dir) as engine:
        lp = engine.find_profile(key_or_file, profiles_dir)
        result = run_whatif(engine, lp.profile, changes)
    emit(_json(result) if fmt == "json" else comparison_text(result), None)


@main.command()
@click.argument("key_a")
@click.argument("key_b")
@format_option()
@rules_option
@profiles_option
@handles_errors
def compare(key_a: str, key_b: str, fmt: str, rules_dir: Path | None,
            profiles_dir: Path | None) -> None:
    """How the scores differ between two profiles, and which rules explain each move."""
    from .analysis.compare import compare_profiles, comparison_text

    with _engine(rules_dir) as engine:
        a = engine.find_profile(key_a, profiles_dir).profile
        b = engine.find_profile(key_b, profiles_dir).profile
        result = compare_profiles(engine, a, b)
    emit(_json(result) if fmt == "json" else comparison_text(result), None)


@main.command()
@click.argument("country")
@format_option()
@rules_option
@profiles_option
@handles_errors
def history(country: str, fmt: str, rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """A country's snapshots over time: each move and the rules behind it."""
    from .analysis.compare import comparison_text, history as run_history
    from .errors import UnknownProfileError
    from .fields import suggest

    with _engine(rules_dir) as engine:
        loaded, _ = engine.load_profiles(profiles_dir)
        mine = [lp.profile for lp in loaded if lp.profile.country == country]
        if not mine:
            countries = sorted({lp.profile.country for lp in loaded})
            raise UnknownProfileError(country, suggest(country, countries))
        result = run_history(engine, mine)
    if fmt == "json":
        emit(_json(result), None)
        return
    keys = " -> ".join(p.key for p in sorted(mine, key=lambda p: p.as_of))
    text = f"{country}: {keys}\n"
    if not result:
        text += "only one snapshot: nothing to compare\n"
    emit(text + "\n".join(comparison_text(c) for c in result), None)


@main.command()
@click.argument("key_or_file")
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
    from .analysis.counterfactual import result_text, search

    with _engine(rules_dir) as engine:
        lp = engine.find_profile(key_or_file, profiles_dir)
        result = search(engine, lp.profile, target, max_changes=max_changes, limit=limit)
    emit(_json(result) if fmt == "json" else result_text(result), None)


def progress_bar(total: int, label: str):
    """A progress bar on a terminal; nothing when standard error is piped."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, disable=not sys.stderr.isatty(), leave=False,
                file=sys.stderr)


@main.command()
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--spread", type=Share(), default=0.25, show_default=True,
              help="Each rule's points are scaled by a factor in [1-spread, 1+spread].")
@click.option("--fact-rate", type=Share(), default=0.2, show_default=True,
              help="Chance, per draw, that each provisional fact is replaced by unknown or a "
              "neighbouring value (0: weights only).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--as-of", "edition", type=click.IntRange(1800, 2100), default=None,
              metavar="YEAR", help="Only the profiles dated in YEAR (default: every profile).")
@format_option()
@rules_option
@profiles_option
@output_option
@handles_errors
def sensitivity(draws: int, spread: float, fact_rate: float, seed: int, edition: int | None,
                fmt: str, rules_dir: Path | None, profiles_dir: Path | None,
                output: str | None) -> None:
    """Perturb rule points and provisional facts at random: score intervals, band odds,
    rank stability, and the assumptions that move ranks most."""
    from .analysis.sensitivity import analyse, result_text

    target = output_target(output, rules_dir, profiles_dir)
    with _engine(rules_dir) as engine:
        loaded = _all_profiles(engine, profiles_dir)
        if edition is not None:
            loaded = [lp for lp in loaded if lp.profile.as_of.year == edition]
        with progress_bar(draws, "draws") as bar:
            result = analyse(engine, [lp.profile for lp in loaded], draws=draws, spread=spread,
                             seed=seed, fact_rate=fact_rate, progress=bar.update)
    emit(_json(result) if fmt == "json" else result_text(result), target)


@main.command()
@click.option("--out", "output", required=True, type=click.Path(allow_dash=True), metavar="FILE",
              help="The HTML file to write (whole or not at all); '-' is standard output.")
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@rules_option
@profiles_option
@handles_errors
def report(output: str, draws: int, seed: int, rules_dir: Path | None,
           profiles_dir: Path | None) -> None:
    """Write a self-contained HTML report: ranking, charts, explanations, sensitivity, history."""
    from .analysis.report import build_report

    target = output_target(output, rules_dir, profiles_dir)
    with _engine(rules_dir) as engine:
        loaded = _all_profiles(engine, profiles_dir)
        text = build_report(engine, loaded, draws=draws, seed=seed)
    emit(text, target)
    if not target.is_stdout:
        click.echo(f"wrote {output} ({len(loaded)} partners)", err=True)


@main.command()
@click.option("--profiles", "n", type=click.IntRange(100, 1_000_000), default=2000,
              show_default=True, help="How many generated profiles (fixed seed).")
@click.option("--rss-profiles", type=click.IntRange(100, 1_000_000), default=None,
              help="N for the memory figures (10 x N is measured too); default: --profiles.")
@format_option()
def bench(n: int, rss_profiles: int | None, fmt: str) -> None:
    """Measure throughput, memory and sensitivity speed on the bundled rules (figures only)."""
    import json

    from .bench.run import run, text

    figures = run(n, rss_profiles)
    emit(json.dumps(figures, indent=2) + "\n" if fmt == "json" else text(figures), None)


@main.command()
@rules_option
@profiles_option
@handles_errors
def validate(rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """Check every rule file and profile, and report all problems at once."""
    from .api import validate as run_validate

    n_rules, n_profiles, problems = run_validate(rules_dir, profiles_dir)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found:", err=True)
        for p in problems:
            click.echo(f"- {p}", err=True)
        sys.exit(2)
    click.echo(f"ok: {n_rules} rules, {n_profiles} profiles")


@main.command()
@click.option("--file", "calibration_file", type=click.Path(path_type=Path), default=None,
              help="Calibration file (default: calibration.yaml in the rules directory).")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@rules_option
@profiles_option
@handles_errors
def calibrate(calibration_file: Path | None, fmt: str, rules_dir: Path | None,
              profiles_dir: Path | None) -> None:
    """Check the source documents' judgments against the scores; exit 1 if any fails."""
    import json

    from .analysis.calibration import load_calibration, run_calibration
    from .rules import CALIBRATION_FILE

    with _engine(rules_dir) as engine:
        path = calibration_file or Path(engine.ruleset.directory) / CALIBRATION_FILE
        outcomes = run_calibration(engine, load_calibration(path, engine), profiles_dir)
    failed = [o for o in outcomes if not o.holds]
    if fmt == "json":
        text = json.dumps([o.model_dump() for o in outcomes], indent=2, ensure_ascii=False) + "\n"
    else:
        lines = []
        for o in outcomes:
            lines.append(f"{'holds ' if o.holds else 'FAILS '} {o.id}: {o.claim} [{o.source}]")
            lines += [f"        {'ok  ' if c.holds else 'NOT '} {c.text}" for c in o.checks]
        lines.append(f"{len(outcomes) - len(failed)} of {len(outcomes)} judgments hold")
        from .render import join_lines

        text = join_lines(lines)
    emit(text, None)
    if failed:
        sys.exit(1)


@main.group()
def profiles() -> None:
    """Inspect the profiles."""


@profiles.command(name="list")
@rules_option
@profiles_option
@handles_errors
def profiles_list(rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """List the profiles: key, name, date, commitment tier."""
    from tabulate import tabulate

    with _engine(rules_dir, "reference") as engine:
        loaded, errors = engine.load_profiles(profiles_dir)
    from .render import safe_cells

    rows = [[lp.profile.key, lp.profile.name, lp.profile.as_of.isoformat(),
             lp.profile.commitment.tier.value.value, lp.file] for lp in loaded]
    emit(tabulate(safe_cells(rows), ["key", "name", "as of", "commitment", "file"],
                  tablefmt="simple") + "\n", None)
    _exit_on_load_errors(errors)


@profiles.command(name="completeness")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@click.option("--as-of", "edition", type=click.IntRange(1800, 2100), default=None,
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
    from .analysis.completeness import completeness, completeness_text

    with _engine(rules_dir, "reference") as engine:
        loaded = _all_profiles(engine, profiles_dir)
        if edition is not None:
            loaded = [lp for lp in loaded if lp.profile.as_of.year == edition]
        report = completeness(engine.ruleset, loaded)
    emit(_json(report) if fmt == "json" else completeness_text(report, min_share), None)
    if min_share is not None and any(p.share < min_share for p in report.profiles):
        sys.exit(1)


@profiles.command(name="new")
@click.argument("key")
@click.option("--from", "from_key", default=None, metavar="KEY",
              help="Copy this profile's facts, marked for re-checking, instead of a template.")
@rules_option
@profiles_option
@handles_errors
def profiles_new(key: str, from_key: str | None, rules_dir: Path | None,
                 profiles_dir: Path | None) -> None:
    """Write PROFILES/KEY.yaml: every field the rules read, as a commented template or a
    copy of another profile, and check that it loads."""
    from .api import bundled_dir
    from .authoring.scaffold import write_new_profile

    directory = profiles_dir or bundled_dir("profiles")
    with _engine(rules_dir, "reference") as engine:
        source = Path(engine.find_profile(from_key, directory).file) if from_key else None
        path = write_new_profile(key, engine.ruleset, directory, engine.ruleset.catalog, source)
    click.echo(f"wrote {path}")


@main.group()
def schema() -> None:
    """Print the JSON Schema of an input file, for editors and other tools."""


@schema.command(name="profile")
def schema_profile() -> None:
    """The profile model's JSON Schema (point an editor's YAML language server at it)."""
    import json

    from .profile import Profile

    emit(json.dumps(Profile.model_json_schema(), indent=2, ensure_ascii=False) + "\n", None)


@main.command(name="import")
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
    from .api import bundled_dir
    from .authoring.importer import import_text, run_import
    from .rules import load_ruleset

    rules_path = Path(rules_dir or bundled_dir("rules"))
    ruleset = load_ruleset(rules_path)
    result = run_import(rules_path, mapping, table, Path(profiles_dir or bundled_dir("profiles")),
                        ruleset.catalog, dry_run=dry_run)
    emit(_json(result) if fmt == "json" else import_text(result), None)


@main.group()
def rules() -> None:
    """Inspect the rules."""


@rules.command(name="list")
@click.option("--format", "fmt", type=click.Choice(("table", "markdown", "json")),
              default="table", show_default=True)
@rules_option
@handles_errors
def rules_list(fmt: str, rules_dir: Path | None) -> None:
    """List the rules: id, dimension, points, group, source."""
    from .render import rules_table
    from .rules import load_ruleset

    from .api import bundled_dir

    emit(rules_table(load_ruleset(rules_dir or bundled_dir("rules")), fmt), None)


@rules.command(name="check")
@rules_option
@handles_errors
def rules_check(rules_dir: Path | None) -> None:
    """Prove what can be proved about the rules: dead, overlapping, masked, gaps, monotone."""
    from .api import bundled_dir
    from .analysis.checker import check_rules, firing_report
    from .rules import load_ruleset

    ruleset = load_ruleset(rules_dir or bundled_dir("rules"))
    findings = check_rules(ruleset)
    for f in findings:
        click.echo(f.text())
    click.echo(firing_report(ruleset))
    declared = sum(len(t.monotone) for t in ruleset.targets.values())
    errors = [f for f in findings if f.severity == "error"]
    click.echo(f"{len(ruleset.rules)} rules, {len(ruleset.groups)} groups, {declared} monotone "
               f"declarations checked: {len(errors)} error{'s' if len(errors) != 1 else ''}")
    if errors:
        sys.exit(1)


@rules.command(name="coverage")
@rules_option
@profiles_option
@handles_errors
def rules_coverage(rules_dir: Path | None, profiles_dir: Path | None) -> None:
    """Which rules fire on the profiles, how often, and which never do."""
    from tabulate import tabulate

    from .analysis.checker import coverage

    with _engine(rules_dir, "reference") as engine:
        loaded, errors = engine.load_profiles(profiles_dir)
        fired = [engine.fired(lp.profile) for lp in loaded]
        counts = coverage(engine.ruleset, fired)
    rows = [[rid, n] for rid, n in counts]
    never = [rid for rid, n in counts if n == 0]
    text = tabulate(rows, ["rule", f"profiles fired (of {len(loaded)})"], tablefmt="simple")
    text += f"\n{len(counts) - len(never)} of {len(counts)} rules fire on some profile"
    text += (f"; never fired: {', '.join(never)}" if never else "") + "\n"
    emit(text, None)
    _exit_on_load_errors(errors)


if __name__ == "__main__":  # pragma: no cover
    main()
