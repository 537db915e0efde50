"""What every command shares: option decorators, error handling, output.

Exit codes: 0 ok; 1 some profiles could not be scored (or a check failed);
2 bad usage or input. Only latticework's own errors become messages; anything
else is a bug and keeps its traceback. ``--debug`` shows the traceback of ours too.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO
from typing import TYPE_CHECKING
from typing import Any
from typing import overload

import click

from ..errors import LatticeworkError

if TYPE_CHECKING:  # pragma: no cover
    from ..api import Engine
    from ..output import Target

FORMATS_ONE = ("text", "json", "markdown")
FORMATS_MANY = ("table", "json", "jsonl", "csv", "markdown")
SORTS = ("deterrence", "alignment-risk", "key", "name")
EDITION = click.IntRange(1800, 2100)
# numpy seeds its generator with a non-negative integer only
SEED = click.IntRange(min=0)


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


class CommandError(click.ClickException):
    """One of our errors, shown as its message with the error's exit code."""

    def __init__(self, error: LatticeworkError) -> None:
        from ..render import join_lines

        # a file name or a found text may hold escape sequences meant for the terminal
        super().__init__(join_lines(str(error).split("\n")).rstrip("\n"))
        # click declares exit_code a class variable but reads it from the instance, and the
        # code here depends on the error
        self.exit_code = error.exit_code  # type: ignore[misc]


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


def one_profile_options(fn: Callable) -> Callable:
    """What every command on one profile takes: --format (text, json, markdown), the rules,
    the profiles, the evaluator and -o; our errors become messages."""
    for decorate in reversed((
        click.option("--format", "fmt", type=click.Choice(FORMATS_ONE), default="text",
                     show_default=True),
        rules_option, profiles_option, evaluator_option, output_option, handles_errors)):
        fn = decorate(fn)
    return fn


def format_option(choices: tuple[str, ...] = ("text", "json")) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True)


@overload
def output_target(output: str, rules_dir: Path | None, profiles_dir: Path | None,
                  *inputs: str | Path) -> Target: ...


@overload
def output_target(output: None, rules_dir: Path | None, profiles_dir: Path | None,
                  *inputs: str | Path) -> None: ...


@overload
def output_target(output: str | None, rules_dir: Path | None, profiles_dir: Path | None,
                  *inputs: str | Path) -> Target | None: ...


def output_target(output: str | None, rules_dir: Path | None, profiles_dir: Path | None,
                  *inputs: str | Path) -> Target | None:
    """The checked target of -o/--output, before any work: a bad target fails at once, not
    after minutes of scoring. None when none was given."""
    if output is None:
        return None
    from ..api import bundled_dir
    from ..output import check
    from ..output import inputs_of

    return check(output, inputs_of(rules_dir or bundled_dir("rules"),
                                   profiles_dir or bundled_dir("profiles"), *inputs))


def emit(text: str, output: Target | None = None) -> None:
    """Print, or write a checked target (see ``output_target``) whole: a failure never
    leaves a partial file, and an operating-system error is one line, exit 2."""
    # click.echo, not the byte stream: it strips colour codes when standard output is not
    # a terminal, whatever produced the text
    _deliver(lambda: click.echo(text, nl=False),
             lambda out: out.write(text.encode("utf-8")), output)


def emit_stream(produce: Callable[[IO[bytes]], object], output: Target | None = None) -> None:
    """Like ``emit``, for output written piece by piece to a binary stream (a large batch):
    standard output as it comes, a file whole or not at all."""
    _deliver(lambda: produce(sys.stdout.buffer), produce, output)


def _deliver(to_stdout: Callable[[], object], produce: Callable[[IO[bytes]], object],
             output: Target | None) -> None:
    from ..output import OutputError
    from ..output import os_error
    from ..output import write_stream

    if output is None or output.is_stdout:
        try:
            to_stdout()
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
        write_stream(output, produce)
    except OutputError as exc:
        raise CommandError(exc) from None


def emit_bytes(data: bytes, output: Target) -> None:
    """Write binary output (a workbook) to a checked file target, whole or not at all."""
    from ..output import OutputError
    from ..output import write_bytes

    try:
        write_bytes(output, data)
    except OutputError as exc:
        raise CommandError(exc) from None


def exit_on_load_errors(errors: list) -> None:
    """Listing commands show what they could read, then name what they could not."""
    if not errors:
        return
    from ..render import errors_text
    from ..results import ErrorOut

    outs = [ErrorOut.of(e) for e in errors]
    click.echo(errors_text(outs, "loaded"), err=True, nl=False)
    sys.exit(1)


def all_profiles(engine: Engine, profiles_dir: Path | None) -> list:
    """Every profile, for commands whose output would be wrong with one missing."""
    loaded, errors = engine.load_profiles(profiles_dir)
    if errors:
        from ..errors import LoadErrors

        raise LoadErrors(errors)
    return loaded


def open_engine(rules_dir: Path | None, evaluator: str = "durable") -> Engine:
    from ..api import Engine

    return Engine.load(rules_dir, evaluator=evaluator)


def as_json(model: Any) -> str:
    from ..render import safe_json

    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else \
        [m.model_dump(mode="json") for m in model]
    return safe_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def progress_bar(total: int, label: str) -> Any:
    """A progress bar on a terminal; nothing when standard error is piped."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, disable=not sys.stderr.isatty(), leave=False,
                file=sys.stderr)


# The width of a table when standard output is not a terminal and COLUMNS is unset: a
# file or a pipe has no width of its own, and 120 columns still fit a side-by-side editor
# or a review tool without wrapping. `--wide` gives every column whatever the width.
PIPED_WIDTH = 120


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def terminal_width(output: Target | None = None) -> int:
    """The width tables fit: COLUMNS when set to a number (as shells and tests set it),
    else the terminal's when writing to one, else PIPED_WIDTH (a pipe or a file)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if (output is None or output.is_stdout) and stdout_is_terminal():
        import shutil

        return shutil.get_terminal_size((PIPED_WIDTH, 24)).columns
    return PIPED_WIDTH


def use_color(output: Target | None = None) -> bool:
    """Colour on a terminal only: never into a file or a pipe, never when NO_COLOR is set
    to anything but the empty text (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return (output is None or output.is_stdout) and stdout_is_terminal()


# --- shell completion (docs/completion.md) ---------------------------------------------
# Completion runs at every Tab press, so what it lists must come fast: profile keys are
# file names read from the directory, without loading the engine.

def _profile_dir(ctx: click.Context | None) -> Path:
    """The --profiles directory given so far on the command line, else the bundled one
    (the same place engine.api.bundled_dir names, found without importing it)."""
    while ctx is not None:
        given = ctx.params.get("profiles_dir")
        if given:
            return Path(given)
        ctx = ctx.parent
    package = Path(__file__).resolve().parent.parent
    inside = package / "bundled" / "profiles"
    return inside if inside.is_dir() else package.parent / "profiles"


def profile_keys(ctx: click.Context | None = None) -> list[str]:
    """The keys of the profiles a command would find, from their file names, sorted."""
    try:
        names = os.listdir(_profile_dir(ctx))
    except OSError:
        return []
    return sorted(name[:-5] for name in names
                  if name.endswith(".yaml") and "@" in name and not name.startswith("."))


def complete_profile(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[Any]:
    """A KEY_OR_FILE argument: the profile keys that start so; a path, left to the shell's
    file completion, once it looks like one (a slash, or a dot or tilde first) or when no
    key starts so."""
    from click.shell_completion import CompletionItem

    keys = [] if "/" in incomplete or incomplete.startswith((".", "~")) else \
        [CompletionItem(key) for key in profile_keys(ctx) if key.startswith(incomplete)]
    return keys or [CompletionItem(incomplete, type="file")]


def complete_country(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[Any]:
    """A COUNTRY argument: the countries that have a profile."""
    from click.shell_completion import CompletionItem

    countries = dict.fromkeys(key.partition("@")[0] for key in profile_keys(ctx))
    return [CompletionItem(c) for c in countries if c.startswith(incomplete)]


def complete_assignment(ctx: click.Context, param: click.Parameter,
                        incomplete: str) -> list[Any]:
    """--set FIELD=VALUE: the dotted field paths, each ending in '='; after the '=', the
    field's values (enum values, true/false) and 'unknown'."""
    from click.shell_completion import CompletionItem

    from ..fields import field_specs

    specs = field_specs()
    field, sep, value = incomplete.partition("=")
    if not sep:
        return [CompletionItem(f"{path}=", help=spec.doc.split(". ")[0][:60] or None)
                for path, spec in specs.items() if path.startswith(field)]
    spec = specs.get(field)
    if spec is None:
        return []
    values = list(spec.values) if spec.kind == "enum" else \
        ["true", "false"] if spec.kind == "bool" else []
    return [CompletionItem(f"{field}={v}") for v in [*values, "unknown"] if v.startswith(value)]
