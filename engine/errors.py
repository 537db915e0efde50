"""Every error latticework raises on purpose, and the registry of their codes.

The tree (each with its code)::

    LatticeworkError                 base; the CLI turns these into messages
    ├── EngineClosedError            engine-closed: an Engine used after close() (a ValueError)
    ├── InputError                   bad-input: the user's files or arguments (exit 2)
    │   ├── LoadError                one problem in one file: its own code, file and line
    │   ├── LoadErrors               several LoadErrors, reported together
    │   ├── UnknownProfileError      unknown-profile: a key that names no profile
    │   ├── OutputError              output-*: the -o target (engine.output)
    │   └── MissingDependencyError   missing-dependency: an optional package (pandas)
    └── EvaluationError              a profile could not be scored (exit 1 in batch)
        ├── GroupViolation           group-violation: an exclusive group fired twice, a
        │                            required one never
        └── DurableEngineError       durable-refused: durable_rules refused a ruleset or fact
            └── EvaluatorsDisagree   evaluators-disagree: durable_rules and the reference
                                     evaluator fired different rules (a bug, never a score)

Every code is a member of :class:`ErrorCode`; an error built with a code that is not
is a bug, caught when it is built. Anything else that escapes keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ErrorCode(StrEnum):
    """The stable codes of latticework's errors and of the rule checker's findings.

    Tests, tools and ``want_error_code`` in ``tests/cases`` match on these; the
    messages around them are for people and may change.
    """

    # reading a file
    FILE_NOT_FOUND = "file-not-found"
    NOT_A_FILE = "not-a-file"
    NOT_A_DIRECTORY = "not-a-directory"
    UNREADABLE = "unreadable"
    FILE_TOO_LARGE = "file-too-large"
    BINARY_FILE = "binary-file"
    EMPTY_FILE = "empty-file"
    FILE_NAME = "file-name"
    FILE_EXISTS = "file-exists"
    YAML_SYNTAX = "yaml-syntax"
    YAML_ALIAS = "yaml-alias"
    YAML_TAG = "yaml-tag"
    YAML_KEY = "yaml-key"
    YAML_VALUE = "yaml-value"
    YAML_TOO_DEEP = "yaml-too-deep"
    DUPLICATE_KEY = "duplicate-key"
    NOT_A_MAPPING = "not-a-mapping"
    # a value against its model
    MISSING_FIELD = "missing-field"
    UNKNOWN_FIELD = "unknown-field"
    WRONG_TYPE = "wrong-type"
    BAD_VALUE = "bad-value"
    UNKNOWN_ENUM_VALUE = "unknown-enum-value"
    OUT_OF_RANGE = "out-of-range"
    BAD_KEY = "bad-key"
    # a profile's facts
    MISSING_PERIOD = "missing-period"
    BAD_PERIOD = "bad-period"
    FUTURE_FACT = "future-fact"
    EXPIRED_FACT = "expired-fact"
    KNOWN_AND_UNKNOWN = "known-and-unknown"
    UNKNOWN_SOURCE = "unknown-source"
    UNKNOWN_SECTION = "unknown-section"
    MISSING_SECTION = "missing-section"
    # the rule base
    NO_RULES = "no-rules"
    MODEL_SCORES = "model-scores"
    DUPLICATE_ID = "duplicate-id"
    DUPLICATE_GROUP = "duplicate-group"
    DUPLICATE_SOURCE = "duplicate-source"
    DUPLICATE_TARGET = "duplicate-target"
    UNKNOWN_DIMENSION = "unknown-dimension"
    UNKNOWN_TARGET = "unknown-target"
    FOREIGN_DIMENSION = "foreign-dimension"
    UNKNOWN_GROUP = "unknown-group"
    UNKNOWN_RULE = "unknown-rule"
    UNKNOWN_BAND = "unknown-band"
    UNKNOWN_OPERATOR = "unknown-operator"
    BAD_OPERATOR = "bad-operator"
    BAD_CONDITION = "bad-condition"
    BAD_CONTEXT = "bad-context"
    BAD_FIELD_KIND = "bad-field-kind"
    BAD_ORDER = "bad-order"
    BAD_POINTS = "bad-points"
    WRONG_SIGN = "wrong-sign"
    BAND_NAME = "band-name"
    # durable_rules' fixed tables (docs/durable-rules.md)
    DURABLE_FIRING = "durable-firing"
    DURABLE_ALTERNATIVES = "durable-alternatives"
    DURABLE_BRANCHES = "durable-branches"
    DURABLE_NESTING = "durable-nesting"
    DURABLE_SAME_CONDITION = "durable-same-condition"
    # the rule checker's findings (rules check)
    DEAD_RULE = "dead-rule"
    MASKED_RULE = "masked-rule"
    EXCLUSIVE_OVERLAP = "exclusive-overlap"
    REQUIRED_GAP = "required-gap"
    MONOTONE_VIOLATION = "monotone-violation"
    DOUBLE_COUNTING = "double-counting"
    # import mappings and data tables
    UNKNOWN_MAPPING = "unknown-mapping"
    MISSING_COLUMN = "missing-column"
    EMPTY_TABLE = "empty-table"
    BAD_ROW = "bad-row"
    BAD_FIGURE = "bad-figure"
    DUPLICATE_ROW = "duplicate-row"
    UNKNOWN_ISO_CODE = "unknown-iso-code"
    # arguments
    BAD_INPUT = "bad-input"
    BAD_ASSIGNMENT = "bad-assignment"
    BAD_TARGET = "bad-target"
    UNKNOWN_PROFILE = "unknown-profile"
    MISSING_DEPENDENCY = "missing-dependency"
    ENGINE_CLOSED = "engine-closed"
    # the output file (engine.output)
    OUTPUT_IS_INPUT = "output-is-input"
    OUTPUT_IS_DIRECTORY = "output-is-directory"
    OUTPUT_NOT_A_FILE = "output-not-a-file"
    OUTPUT_NO_DIRECTORY = "output-no-directory"
    OUTPUT_PERMISSION = "output-permission"
    OUTPUT_READ_ONLY = "output-read-only"
    OUTPUT_READ_ONLY_FS = "output-read-only-fs"
    OUTPUT_NO_SPACE = "output-no-space"
    OUTPUT_NAME_TOO_LONG = "output-name-too-long"
    OUTPUT_SYMLINK_LOOP = "output-symlink-loop"
    OUTPUT_CANNOT_CREATE = "output-cannot-create"
    OUTPUT_INTERRUPTED = "output-interrupted"
    OUTPUT_FAILED = "output-failed"
    # scoring
    EVALUATION_FAILED = "evaluation-failed"
    GROUP_VIOLATION = "group-violation"
    DURABLE_REFUSED = "durable-refused"
    EVALUATORS_DISAGREE = "evaluators-disagree"


class LatticeworkError(Exception):
    """Base class of the errors latticework raises deliberately."""

    exit_code = 2
    code: ErrorCode = ErrorCode.BAD_INPUT


class InputError(LatticeworkError):
    exit_code = 2

    def __init__(self, message: str, code: ErrorCode | str = ErrorCode.BAD_INPUT) -> None:
        self.code = ErrorCode(code)
        super().__init__(message)


class EngineClosedError(LatticeworkError, ValueError):
    """An :class:`~engine.api.Engine` used after ``close()``: its durable_rules ruleset is
    freed. A ValueError too, as Python's own I/O on a closed file is."""

    code = ErrorCode.ENGINE_CLOSED

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
    ``suggestion`` is the nearest known name to a wrong one ("did you mean").
    """

    def __init__(
        self,
        code: ErrorCode | str,
        file: str | Path,
        *,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        subject: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.code = ErrorCode(code)
        self.subject = subject
        self.suggestion = suggestion
        self.location = Location(display_path(file), line)
        self.field = field
        self.expected = expected
        self.found = found
        self.detail = detail
        self.hint = hint
        super().__init__(self.message, self.code)

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
        if self.suggestion is not None:
            clauses.append(f"did you mean '{self.suggestion}'?")
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
        super().__init__(self.message, self.errors[0].code if self.errors else ErrorCode.BAD_INPUT)

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
            f"no profile named '{key}'{hint} ('latticework profiles list' shows them all)",
            ErrorCode.UNKNOWN_PROFILE,
        )


class Collector:
    """Gathers the LoadErrors of one load, so that every problem is reported at once::

        found = Collector()
        with found:
            model = load_model(path)        # a LoadError or LoadErrors is kept, not raised
        found.add(LoadError(...))
        found.raise_any()                   # one LoadErrors with all of them
    """

    def __init__(self) -> None:
        self.errors: list[LoadError] = []

    def add(self, error: LoadError) -> None:
        self.errors.append(error)

    def extend(self, errors: list[LoadError]) -> None:
        self.errors.extend(errors)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, LoadErrors):
            self.errors.extend(exc.errors)
            return True
        if isinstance(exc, LoadError):
            self.errors.append(exc)
            return True
        return False

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __iter__(self) -> Iterator[LoadError]:
        return iter(self.errors)

    def raise_any(self) -> None:
        if self.errors:
            raise LoadErrors(self.errors)


class EvaluationError(LatticeworkError):
    exit_code = 1
    code = ErrorCode.EVALUATION_FAILED


class GroupViolation(EvaluationError):
    code = ErrorCode.GROUP_VIOLATION

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
    code = ErrorCode.DURABLE_REFUSED


class EvaluatorsDisagree(DurableEngineError):
    """durable_rules and the reference evaluator fired different rules on one profile:
    a bug in one of them, reported instead of a score that might be wrong."""

    code = ErrorCode.EVALUATORS_DISAGREE


class MissingDependencyError(InputError, ImportError):
    """A feature needs an optional package that is not installed (pandas)."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        super().__init__(
            f"{purpose} needs {package}, which is not installed; install it with "
            f"'pip install latticework[{extra}]' (or 'pip install {package}')",
            ErrorCode.MISSING_DEPENDENCY)
