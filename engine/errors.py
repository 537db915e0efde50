"""Every error latticework raises on purpose.

The tree::

    LatticeworkError                 base; the CLI turns these into messages
    ├── EngineClosedError            an Engine used after close() (also a ValueError)
    ├── InputError                   the user's files or arguments are wrong (exit 2)
    │   ├── LoadError                one problem in one file, with code and location
    │   ├── LoadErrors               several LoadErrors, reported together
    │   └── UnknownProfileError      a key that names no profile ("did you mean")
    └── EvaluationError              a profile could not be scored (exit 1 in batch)
        ├── GroupViolation           an exclusive group fired twice, a required one never
        └── DurableEngineError       durable_rules refused a ruleset or a fact

Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LatticeworkError(Exception):
    """Base class of the errors latticework raises deliberately."""

    exit_code = 2


class InputError(LatticeworkError):
    exit_code = 2


class EngineClosedError(LatticeworkError, ValueError):
    """An :class:`~engine.api.Engine` used after ``close()``: its durable_rules ruleset is
    freed. A ValueError too, as Python's own I/O on a closed file is."""

    def __init__(self) -> None:
        super().__init__("the engine is closed; load a new one with Engine.load()")


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}, line {self.line}"


def display_path(path: str | Path) -> str:
    """Paths below the working directory are shown relative, so messages stay short and stable."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop
        return str(p)


class LoadError(InputError):
    """One problem found while loading a profile or rule file.

    ``code`` is stable (tests and tools may match on it); the rest is for people.
    """

    def __init__(
        self,
        code: str,
        file: str | Path,
        *,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        subject: str | None = None,
    ) -> None:
        self.code = code
        self.subject = subject
        self.location = Location(display_path(file), line)
        self.field = field
        self.expected = expected
        self.found = found
        self.detail = detail
        self.hint = hint
        super().__init__(self.message)

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def reason(self) -> str:
        """The message without its location, for reports that show the file separately."""
        clauses = [c.rstrip(".") for c in (self.detail,) if c]
        if self.expected is not None:
            clauses.append(f"expected {self.expected}, found {self.found}")
        if self.hint:
            clauses.append(self.hint.rstrip("."))
        text = "; ".join(clauses)
        if self.field:
            text = f"field '{self.field}': {text}"
        if self.subject:
            text = f"{self.subject}, {text}"
        return f"{text} [{self.code}]"

    @property
    def message(self) -> str:
        return f"{self.location}: {self.reason}"

    def __str__(self) -> str:
        return self.message


class LoadErrors(InputError):
    """All the problems of one load, so that a user fixes them in one pass."""

    def __init__(self, errors: list[LoadError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line or 0, e.code, e.message))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.errors) == 1:
            return self.errors[0].message
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} found:"
        return "\n".join([head, *(f"- {e.message}" for e in self.errors)])


class UnknownProfileError(InputError):
    def __init__(self, key: str, suggestions: list[str]) -> None:
        self.key = key
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"no profile named '{key}'{hint} ('latticework profiles list' shows them all)"
        )


class EvaluationError(LatticeworkError):
    exit_code = 1


class GroupViolation(EvaluationError):
    def __init__(self, profile: str, group: str, rules: list[str], kind: str) -> None:
        self.profile = profile
        self.group = group
        self.rules = rules
        self.kind = kind
        if kind == "exclusive":
            text = (
                f"{profile}: rules {', '.join(rules)} of exclusive group '{group}' all fired; "
                "the group allows one. Make their conditions exclusive."
            )
        else:
            text = (
                f"{profile}: no rule of required group '{group}' fired; "
                "the group's conditions leave this profile uncovered."
            )
        super().__init__(text)


class DurableEngineError(EvaluationError):
    pass
