"""Commands over the whole rule base: sensitivity, the report, calibration, the benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .common import EDITION
from .common import SEED
from .common import Share
from .common import all_profiles
from .common import as_json
from .common import emit
from .common import format_option
from .common import handles_errors
from .common import open_engine
from .common import output_option
from .common import output_target
from .common import profiles_option
from .common import progress_bar
from .common import rules_option


@click.command()
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--spread", type=Share(), default=0.25, show_default=True,
              help="Each rule's points are scaled by a factor in [1-spread, 1+spread].")
@click.option("--fact-rate", type=Share(), default=0.2, show_default=True,
              help="Chance, per draw, that each provisional fact is replaced by unknown or a "
              "neighbouring value (0: weights only).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--as-of", "edition", type=EDITION, default=None,
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
    from ..analysis.sensitivity import analyse
    from ..analysis.sensitivity import result_text

    target = output_target(output, rules_dir, profiles_dir)
    with open_engine(rules_dir) as engine:
        loaded = all_profiles(engine, profiles_dir)
        if edition is not None:
            loaded = [lp for lp in loaded if lp.profile.as_of.year == edition]
        with progress_bar(draws, "draws") as bar:
            result = analyse(engine, [lp.profile for lp in loaded], draws=draws, spread=spread,
                             seed=seed, fact_rate=fact_rate, progress=bar.update)
    emit(as_json(result) if fmt == "json" else result_text(result), target)


@click.command()
@click.option("--output", "-o", "--out", "output", required=True,
              type=click.Path(allow_dash=True), metavar="FILE",
              help="The HTML file to write (whole or not at all); '-' is standard output.")
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="Sensitivity draws behind the rank intervals.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--date", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD", help="The date the report bears (default: the newest "
              "profile's as_of, so that the same inputs give the same file).")
@rules_option
@profiles_option
@handles_errors
def report(output: str, draws: int, seed: int, as_of: Any, rules_dir: Path | None,
           profiles_dir: Path | None) -> None:
    """Write a self-contained HTML report: ranking, charts, explanations, sensitivity, history."""
    from ..analysis.report import build_report

    target = output_target(output, rules_dir, profiles_dir)
    with open_engine(rules_dir) as engine:
        loaded = all_profiles(engine, profiles_dir)
        with progress_bar(draws, "draws") as bar:
            text = build_report(engine, loaded, draws=draws, seed=seed,
                                date=as_of.date() if as_of else None, progress=bar.update)
    emit(text, target)
    if not target.is_stdout:
        click.echo(f"wrote {output} ({len(loaded)} partners)", err=True)


@click.command()
@click.option("--file", "calibration_file", type=click.Path(path_type=Path), default=None,
              help="Calibration file (default: calibration.yaml in the rules directory).")
@format_option()
@rules_option
@profiles_option
@handles_errors
def calibrate(calibration_file: Path | None, fmt: str, rules_dir: Path | None,
              profiles_dir: Path | None) -> None:
    """Check the source documents' judgments against the scores; exit 1 if any fails."""
    from ..analysis.calibration import calibrate as run_calibration
    from ..analysis.calibration import calibration_json
    from ..analysis.calibration import calibration_text

    with open_engine(rules_dir) as engine:
        outcomes = run_calibration(engine, calibration_file, profiles_dir)
    emit(calibration_json(outcomes) if fmt == "json" else calibration_text(outcomes), None)
    if not all(o.holds for o in outcomes):
        sys.exit(1)


@click.command()
@click.option("--profiles", "n", type=click.IntRange(100, 1_000_000), default=2000,
              show_default=True, help="How many generated profiles (fixed seed).")
@click.option("--rss-profiles", type=click.IntRange(100, 1_000_000), default=None,
              help="N for the memory figures (10 x N is measured too); default: --profiles.")
@format_option()
def bench(n: int, rss_profiles: int | None, fmt: str) -> None:
    """Measure throughput, memory and sensitivity speed on the bundled rules (figures only)."""
    from ..bench.run import PHASES
    from ..bench.run import run
    from ..bench.run import text

    with progress_bar(PHASES, "measurements") as bar:
        figures = run(n, rss_profiles, progress=bar.update)
    emit(json.dumps(figures, indent=2) + "\n" if fmt == "json" else text(figures), None)
