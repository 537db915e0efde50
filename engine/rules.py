"""The loaded rule base: an immutable :class:`RuleSet` of :class:`Rule` values.

What a rule file holds is described in :mod:`engine.rule_loader`, which builds
these from the files and checks everything before one exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from typing import Any

from .catalog import Catalog
from .conditions import Condition
from .conditions import fields_of
from .conditions import to_data
from .fields import FieldSpec
from .fields import field_specs

MODEL_FILE = "model.yaml"
CATALOG_FILE = "sources.yaml"
CALIBRATION_FILE = "calibration.yaml"
SCORES = ("deterrence", "alignment_risk")
DEFAULT_DIMENSION_BANDS = ("very-low", "low", "medium", "high", "very-high")


@dataclass(frozen=True)
class SourceRef:
    id: str
    section: str | None


@dataclass(frozen=True)
class Monotone:
    target: str
    field: str
    direction: str  # "increasing" | "decreasing"
    ranks: tuple[tuple[Any, ...], ...] | None  # enum values by rank, low to high
    why: str | None
    file: str
    line: int | None

    def describe(self) -> str:
        if self.ranks is None:
            return f"a higher {self.field} never {'lowers' if self.direction == 'increasing' else 'raises'} {self.target}"
        order = " < ".join("|".join(map(str, r)) for r in self.ranks)
        verb = "lowers" if self.direction == "increasing" else "raises"
        return f"moving {self.field} up the order {order} never {verb} {self.target}"


@dataclass(frozen=True)
class ScoreDef:
    id: str
    title: str
    base: int
    bands: tuple[str, ...]
    is_dimension: bool
    monotone: tuple[Monotone, ...] = ()

    # every score and dimension runs on one scale, cut into bands of equal width
    LOW = 0
    HIGH = 100

    @property
    def band_width(self) -> int:
        return (self.HIGH - self.LOW) // len(self.bands)

    def band_index(self, score: int) -> int:
        return min((score - self.LOW) // self.band_width, len(self.bands) - 1)

    def band(self, score: int) -> str:
        return self.bands[self.band_index(score)]

    @cached_property
    def band_by_score(self) -> tuple[str, ...]:
        """The band of every score on the scale, LOW to HIGH: scoring looks a band up
        eight times a profile."""
        return tuple(self.band(score) for score in range(self.LOW, self.HIGH + 1))

    def band_range(self, band: str) -> tuple[int, int]:
        """The lowest and highest score in a band (the top band ends at HIGH)."""
        low = self.LOW + self.bands.index(band) * self.band_width
        return low, self.HIGH if band == self.bands[-1] else low + self.band_width - 1

    def bounded(self, raw: int) -> int:
        """A raw sum brought within the scale (the adjustment is the difference)."""
        return min(self.HIGH, max(self.LOW, raw))


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    exclusive: bool
    required: bool
    file: str
    line: int | None


@dataclass(frozen=True)
class GroupCheck:
    id: str
    members: frozenset[str]
    exclusive: bool
    required: bool


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    dimension: str
    points: tuple[tuple[str, int], ...]  # (target, points), sorted by target
    when: Condition
    nnf: Condition
    rationale: str
    source: SourceRef
    group: str | None
    file: str
    line: int | None
    direction: tuple[tuple[str, str], ...] = ()
    support: str = ""
    context: tuple[tuple[str, str], ...] = ()  # (field, why it is read only as context)

    @cached_property
    def evidence(self) -> frozenset[str]:
        """The fields whose facts this rule scores: what it reads, less its context."""
        return frozenset(fields_of(self.when) - {f for f, _ in self.context})

    @cached_property
    def _points(self) -> dict[str, int]:
        return dict(self.points)

    def points_for(self, target: str) -> int:
        return self._points.get(target, 0)

    def canonical(self) -> dict[str, Any]:
        """The rule's meaning without its location: the basis of the rule-set digest."""
        return {
            "id": self.id,
            "title": self.title,
            "dimension": self.dimension,
            "points": dict(self.points),
            "when": to_data(self.when),
            "rationale": self.rationale,
            "support": self.support,
            "source": {"id": self.source.id, "section": self.source.section},
            "group": self.group,
            "context": dict(self.context),
        }


@dataclass(frozen=True)
class RuleSet:
    directory: str
    scores: dict[str, ScoreDef]
    dimensions: dict[str, ScoreDef]
    groups: dict[str, Group]
    rules: tuple[Rule, ...]  # sorted by id: file order never changes a result
    catalog: Catalog = field(repr=False, compare=False)
    indicators: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    intended_overlaps: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def targets(self) -> dict[str, ScoreDef]:
        return {**self.scores, **self.dimensions}

    @cached_property
    def digest(self) -> str:
        payload = {
            "targets": {
                k: {"base": v.base, "bands": list(v.bands), "dimension": v.is_dimension}
                for k, v in sorted(self.targets.items())
            },
            "groups": {
                k: {"exclusive": g.exclusive, "required": g.required}
                for k, g in sorted(self.groups.items())
            },
            "rules": [r.canonical() for r in self.rules],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @cached_property
    def group_checks(self) -> tuple[GroupCheck, ...]:
        """The groups that constrain a profile (exclusive, required or both), with their
        rules: what scoring, the counterfactual search and the checker each enforce."""
        checks = []
        for gid, group in sorted(self.groups.items()):
            members = frozenset(r.id for r in self.rules if r.group == gid)
            if members and (group.exclusive or group.required):
                checks.append(GroupCheck(gid, members, group.exclusive, group.required))
        return tuple(checks)

    def group_violation(self, fired: frozenset[str]) -> tuple[str, list[str], str] | None:
        """The first group the fired rules break, as (group, its rules that fired,
        "exclusive" or "required"), or None when every group is respected."""
        for check in self.group_checks:
            hits = check.members & fired
            if check.exclusive and len(hits) > 1:
                return check.id, sorted(hits), "exclusive"
            if check.required and not hits:
                return check.id, [], "required"
        return None

    @cached_property
    def fields_read(self) -> tuple[FieldSpec, ...]:
        """The profile fields some rule reads, in model order: all the fact must carry."""
        used: set[str] = set()
        for r in self.rules:
            used |= fields_of(r.when)
        return tuple(spec for path, spec in field_specs().items() if path in used)

    @cached_property
    def durable_rulesets(self) -> tuple[dict[str, dict[str, Any]], ...]:
        """The rules as durable_rules ruleset definitions, split to fit its fixed tables:
        worked out once, and kept with the rule set in the rule-set cache."""
        from .compiler import compile_ruleset  # the compiler reads RuleSet: no cycle at import
        from .durable_limits import split_rulesets

        return tuple(split_rulesets(compile_ruleset(self)))

