"""The ``latticework`` command line: each command parses, calls one library function
and renders what it returns.

Commands live one module per group (``scoring``, ``compare``, ``analysis``,
``profiles``, ``rules``) and are imported only when run: ``latticework --help``
lists them from the table below without importing pydantic, the YAML parser or
durable_rules. ``tests/test_cli.py`` holds each summary to its command's own help.
"""

from __future__ import annotations

from typing import Any

import click

# name -> (module, attribute, the summary --help lists)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "batch": ("scoring", "batch", "Score the profiles and rank them; broken profiles are "
              "reported, the rest scored."),
    "bench": ("analysis", "bench", "Measure throughput, memory and sensitivity speed on the "
              "bundled rules (figures only)."),
    "calibrate": ("analysis", "calibrate", "Check the source documents' judgments against the "
                  "scores; exit 1 if any fails."),
    "compare": ("compare", "compare", "How the scores differ between two profiles, and which "
                "rules explain each move."),
    "counterfactual": ("compare", "counterfactual", "The smallest sets of changes to "
                       "actionable facts that reach a target score or band."),
    "explain": ("scoring", "explain", "Show the evaluation trace of one profile, rule by rule."),
    "export": ("export", "export", "Export the rules, every profile snapshot and their "
               "scores to a SQLite database."),
    "history": ("compare", "history", "A country's snapshots over time: each move and the "
                "rules behind it."),
    "import": ("profiles", "import_cmd", "Update profile facts from a data table through the "
               "mapping rules/imports/MAPPING.yaml (e.g. 'import troops FILE'), and print what "
               "changed."),
    "profiles": ("profiles", "profiles", "Inspect the profiles."),
    "report": ("analysis", "report", "Write a self-contained HTML report: ranking, charts, "
               "explanations, sensitivity, history."),
    "rules": ("rules", "rules", "Inspect the rules."),
    "schema": ("profiles", "schema", "Print the JSON Schema of an input file, for editors and "
               "other tools."),
    "score": ("scoring", "score", "Score one profile, given by key (india@2022) or file, with "
              "its explanation."),
    "sensitivity": ("analysis", "sensitivity", "Perturb rule points and provisional facts at "
                    "random: score intervals, band odds, rank stability, and the assumptions "
                    "that move ranks most."),
    "validate": ("scoring", "validate", "Check every rule file and profile, and report all "
                 "problems at once."),
    "whatif": ("compare", "whatif", "Score a profile before and after changing some facts, and "
               "name the rules that moved."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they run, listed from ``COMMANDS``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.Command(name, help=summary).get_short_help_str(limit))
                for name, (_, _, summary) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for latticework's own errors too.")
@click.version_option(package_name="latticework")
def main(debug: bool) -> Any:
    """Score US alliances and security partnerships with transparent, cited rules."""
