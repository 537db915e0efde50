"""The ``latticework`` command line: each command parses, calls one library function
and renders what it returns.

Commands live one module per group (``scoring``, ``compare``, ``analysis``,
``profiles``, ``rules``) and are imported only when run: ``latticework --help``
lists them from ``commands.json`` without importing pydantic, the YAML parser or
durable_rules. ``tests/test_cli.py`` holds each summary to its command's own help.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

# name -> (module, attribute, the summary --help lists)
# name -> (module, attribute, the summary --help lists), from commands.json: the table is
# data, read without importing any command
COMMANDS: dict[str, tuple[str, str, str]] = {
    name: (*entry["run"].split(":"), entry["summary"])
    for name, entry in json.loads(
        (Path(__file__).with_name("commands.json")).read_text(encoding="utf-8")).items()
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
