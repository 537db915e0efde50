"""Result models: what ``score`` returns and what the JSON contract prints.

The JSON shape (later tools read it)::

    {"ruleset": {"rules": N, "digest": "..."},
     "results": [R, ...],
     "errors": [{"source": "...", "message": "...", "code": "..."}]}

with R a :class:`ProfileResult`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceOut(_Out):
    id: str
    section: str | None


class Match(_Out):
    """One fact a rule matched: the field, the profile's value, and the rule's test."""

    field: str
    op: str
    threshold: Any = None
    value: Any = None
    source: str | None = None
    confidence: str | None = None


class Contribution(_Out):
    rule: str
    title: str
    points: int
    dimension: str
    rationale: str
    matched: list[Match]
    source: SourceOut


class ScoreResult(_Out):
    """``base + sum(c.points for c in contributions) + adjustment == score`` always."""

    score: int
    band: str
    base: int
    adjustment: int
    contributions: list[Contribution]


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


class RulesetInfo(_Out):
    rules: int
    digest: str


class ErrorOut(_Out):
    source: str
    message: str
    code: str | None = None


class BatchResult(_Out):
    ruleset: RulesetInfo
    results: list[ProfileResult]
    errors: list[ErrorOut]
