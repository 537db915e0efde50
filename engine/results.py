"""Result models: what ``score`` returns and what the JSON contract prints.

The JSON shape (later tools read it)::

    {"ruleset": {"rules": N, "digest": "..."},
     "results": [R, ...],
     "errors": [{"source": "...", "message": "...", "code": "..."}]}

with R a :class:`ProfileResult`.

These are slotted dataclasses rather than pydantic models: the engine builds
some sixty of them per profile from facts and rules that pydantic has already
validated, and validating them again cost more than the explanation itself.
Pydantic still owns their outside: ``model_dump`` and ``model_dump_json``
serialise through a ``TypeAdapter``, ``json_schema`` gives the contract, and
``model_validate`` reads a result back from JSON data.

The records built anew for every profile (:class:`Match` up to
:class:`ProfileResult`) are not frozen: a frozen dataclass sets each field
through ``object.__setattr__``, which made building them four times slower.
Nothing in the engine changes a record once built, and a caller should not
either: a fired rule's matches and contributions are shared by every score it
feeds and by every profile that matches it alike (the tracer's and the
scorer's caches). The records built once per rule set or batch are frozen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import TypeVar

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_T = TypeVar("_T", bound="_Out")


# a dict, not functools.cache: mypy does not see a class as Hashable (python/mypy#11470)
_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


class _Out:
    """The pydantic-style outside of a result: dump, dump as JSON, schema, read back."""

    __slots__ = ()

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        return _adapter(type(self)).dump_python(self, mode=mode)

    def model_dump_json(self) -> str:
        return _adapter(type(self)).dump_json(self).decode()

    @classmethod
    def model_validate(cls: type[_T], data: Any) -> _T:
        return _adapter(cls).validate_python(data)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return _adapter(cls).json_schema(mode="serialization")


@dataclass(frozen=True, slots=True)
class SourceOut(_Out):
    id: str
    section: str | None


@dataclass(slots=True)
class Match(_Out):
    """One fact a rule matched: the field, the profile's value, and the rule's test."""

    field: str
    op: str
    threshold: Any = None
    value: Any = None
    source: str | None = None
    confidence: str | None = None


@dataclass(slots=True)
class Contribution(_Out):
    rule: str
    title: str
    points: int
    dimension: str
    rationale: str
    matched: tuple[Match, ...]
    source: SourceOut
    support: str = ""  # what the cited source says, in the rule's words


@dataclass(slots=True)
class ScoreResult(_Out):
    """``base + sum(c.points for c in contributions) == raw`` and
    ``raw + adjustment == score`` always. The bundled rules are proved to keep ``raw``
    within 0..100 (``rules check``), so there ``adjustment`` is 0; a rule set that does not
    fit its budget is bounded, and ``raw`` shows what the bound hid."""

    score: int
    band: str
    base: int
    adjustment: int
    contributions: tuple[Contribution, ...]
    raw: int


@dataclass(slots=True)
class ProfileResult(_Out):
    profile: str
    country: str
    name: str
    as_of: dt.date
    deterrence: ScoreResult
    alignment_risk: ScoreResult
    dimensions: dict[str, ScoreResult]

    def target(self, name: str) -> ScoreResult:
        if name in ("deterrence", "alignment_risk"):
            return getattr(self, name)
        return self.dimensions[name]

    def to_dataframe(self) -> Any:
        """The scores as a pandas DataFrame, a row per score; pandas is an optional
        extra (``latticework[pandas]``): without it, MissingDependencyError."""
        from .export import profile_dataframe

        return profile_dataframe(self)


@dataclass(frozen=True, slots=True)
class RulesetInfo(_Out):
    rules: int
    digest: str


@dataclass(frozen=True, slots=True)
class ErrorOut(_Out):
    source: str
    message: str
    code: str | None = None

    @classmethod
    def of(cls, error: Exception, source: str | None = None) -> ErrorOut:
        """The record of one of our errors: a load error names its own file and line; any
        other names the ``source`` it happened to."""
        from .errors import LoadError

        if isinstance(error, LoadError):
            where = "" if error.line is None else f"line {error.line}: "
            return cls(source=error.file, message=where + error.reason, code=error.code)
        return cls(source=source or "", message=str(error), code=getattr(error, "code", None))


@dataclass(frozen=True, slots=True)
class Selection(_Out):
    """Which snapshots a ranking holds: so that editions are never mixed silently."""

    mode: Literal["latest", "edition", "all"]
    edition: int | None  # the year of as_of, for mode "edition"
    profiles: int  # profiles ranked (or failed)
    snapshots: int  # profile files in the directory

    def describe(self) -> str:
        if self.mode == "all":
            return f"every snapshot: {self.snapshots} profiles, several per country where dated apart"
        if self.mode == "edition":
            return (f"the {self.edition} edition: {self.profiles} of {self.snapshots} snapshots "
                    f"(profiles dated {self.edition})")
        return (f"the latest snapshot of each country: {self.profiles} of {self.snapshots} "
                "snapshots (--as-of YEAR ranks one edition, --all every snapshot)")


@dataclass(frozen=True, slots=True)
class BatchResult(_Out):
    ruleset: RulesetInfo
    results: tuple[ProfileResult, ...]
    errors: tuple[ErrorOut, ...]
    selection: Selection | None = None

    def to_dataframe(self) -> Any:
        """The ranking as a pandas DataFrame, the columns of ``batch --format csv``;
        pandas is an optional extra (``latticework[pandas]``): without it,
        MissingDependencyError."""
        from .export import batch_dataframe

        return batch_dataframe(self)
