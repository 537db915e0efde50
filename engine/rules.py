"""Loading the rule base: ``rules/`` -> a checked, immutable :class:`RuleSet`.

A rules directory holds

* ``model.yaml``: the two scores and the dimensions, with their bases and bands;
* ``sources.yaml``: the catalog of what may be cited;
* ``calibration.yaml``: the documents' judgments the scores must reproduce
  (see :mod:`engine.analysis.calibration`);
* any number of rule files, one dimension each::

    dimension: guarantee_strength
    groups:
      commitment-tier: {title: One commitment tier, exclusive: true, required: true}
    rules:
      - id: gs-collective-defence
        title: Collective-defence guarantee
        group: commitment-tier
        when: {field: commitment.tier, equals: collective-defence}
        points: {guarantee_strength: 90, deterrence: 40}
        rationale: ...
        source: {id: partnerships-2022, section: dangerous-halfway-houses}

Everything is checked here, when the rules load, not when they run: field
paths and values against the profile model, operators, groups, point targets,
citations against the catalog, duplicate ids. All problems are raised
together as :class:`~engine.errors.LoadErrors`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .catalog import Catalog, CatalogFile, SourceEntry, SourceKind
from .conditions import (
    OPERATORS,
    ORDERING,
    All,
    AnyOf,
    Cmp,
    Condition,
    Not,
    fields_of,
    normalize,
    to_data,
)
from .errors import LoadError, LoadErrors
from .loader import describe_found, parse_as
from .fields import FieldSpec, field_specs, suggest
from .yamlsource import Document, dotted, load_document

MODEL_FILE = "model.yaml"
CATALOG_FILE = "sources.yaml"
CALIBRATION_FILE = "calibration.yaml"
SCORES = ("deterrence", "alignment_risk")
DEFAULT_DIMENSION_BANDS = ("very-low", "low", "medium", "high", "very-high")

ID = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)]
TargetId = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[StrictStr, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- file shapes (pydantic) ------------------------------------------------------------------


class MonotoneDoc(_Strict):
    """A declared intent: changing ``field`` one way never moves the score the other way."""

    field: Text
    direction: Literal["increasing", "decreasing"]
    # for enum fields: the values from low to high; a list in the list holds values of equal rank
    order: tuple[StrictStr | tuple[StrictStr, ...], ...] | None = None
    why: StrictStr | None = None


class ScoreDoc(_Strict):
    title: Text
    base: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    bands: Annotated[tuple[ID, ...], Field(min_length=5, max_length=5)] | None = None
    description: StrictStr | None = None
    monotone: tuple[MonotoneDoc, ...] = ()


class OverlapDoc(_Strict):
    rules: Annotated[tuple[ID, ID], Field()]
    why: Annotated[StrictStr, Field(min_length=10)]


class ModelDoc(_Strict):
    scores: dict[TargetId, ScoreDoc]
    dimensions: dict[TargetId, ScoreDoc]
    # fields that measure one thing, so two rules reading different ones still count it twice
    indicators: dict[ID, tuple[StrictStr, ...]] = {}
    # pairs of rules allowed to score the same evidence into the same target, with the reason
    intended_overlaps: tuple[OverlapDoc, ...] = ()


class SourceRefDoc(_Strict):
    id: Text
    section: StrictStr | None = None


class GroupDoc(_Strict):
    title: StrictStr | None = None
    exclusive: StrictBool = False
    required: StrictBool = False


class RuleDoc(_Strict):
    id: ID
    title: Text
    when: Any = Field(...)
    points: Annotated[dict[TargetId, StrictInt], Field(min_length=1)]
    rationale: Annotated[StrictStr, Field(min_length=10)]
    # what the cited passage or work claims, in our words: a reviewer judges the reading
    # without opening the source
    support: Annotated[StrictStr, Field(min_length=10)]
    source: SourceRefDoc
    group: ID | None = None
    # fields the condition reads only to say where the rule applies, not as the evidence it
    # scores, each with the reason: `rules check` does not count them as double counting
    context: dict[StrictStr, Annotated[StrictStr, Field(min_length=10)]] = {}
    # what the rationale claims each target's points do; `rules check` holds the points to it
    direction: dict[TargetId, Literal["raises", "lowers"]] = {}


class RuleFileDoc(_Strict):
    dimension: TargetId
    description: StrictStr | None = None
    groups: dict[ID, GroupDoc] = {}
    rules: tuple[RuleDoc, ...]


# --- the loaded rule set ---------------------------------------------------------------------


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

    def band(self, score: int) -> str:
        return self.bands[min(score // 20, 4)]


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    exclusive: bool
    required: bool
    file: str
    line: int | None


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
    def fields_read(self) -> tuple[FieldSpec, ...]:
        """The profile fields some rule reads, in model order: all the fact must carry."""
        used: set[str] = set()
        for r in self.rules:
            used |= fields_of(r.when)
        return tuple(spec for path, spec in field_specs().items() if path in used)


# --- loading ---------------------------------------------------------------------------------


def rule_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and p.suffix in (".yaml", ".yml")
        and p.name not in (MODEL_FILE, CATALOG_FILE, CALIBRATION_FILE)
    )


def load_ruleset(directory: str | Path) -> RuleSet:
    directory = Path(directory)
    if not directory.is_dir():
        raise LoadError(
            "not-a-directory", directory, expected="a directory of rule files",
            found="no such directory",
        )
    errors: list[LoadError] = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except LoadErrors as many:
            errors.extend(many.errors)
        except LoadError as one:
            errors.append(one)
        return None

    model = attempt(_load_model, directory / MODEL_FILE)
    catalog_doc = attempt(_load_catalog, directory / CATALOG_FILE)
    catalog = Catalog(catalog_doc.sources if catalog_doc else ())
    paths = rule_files(directory)
    files = [f for f in (attempt(_load_rule_file, p) for p in paths) if f]
    if model is None or catalog_doc is None:
        raise LoadErrors(errors)
    if not paths:
        errors.append(
            LoadError(
                "no-rules", directory, expected="at least one rule file (*.yaml)",
                found="none besides model.yaml and sources.yaml",
            )
        )

    scores, dimensions, indicators, overlaps = model
    targets = {**scores, **dimensions}
    groups: dict[str, Group] = {}
    for doc, rf in files:
        for gid, g in rf.groups.items():
            line = doc.line_of(("groups", gid))
            if gid in groups:
                errors.append(
                    LoadError(
                        "duplicate-group", doc.file, line=line, field=f"groups.{gid}",
                        detail=f"the group is already declared in {groups[gid].file}",
                    )
                )
                continue
            groups[gid] = Group(gid, g.title or gid, g.exclusive, g.required, doc.file, line)

    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for doc, rf in files:
        if rf.dimension not in dimensions:
            errors.append(_unknown(doc, ("dimension",), "dimension", rf.dimension, dimensions,
                                   "unknown-dimension", "a dimension declared in model.yaml"))
            continue
        for i, rd in enumerate(rf.rules):
            at = ("rules", i)
            rule = _build_rule(doc, at, rd, rf.dimension, targets, groups, catalog, errors)
            if rule is None:
                continue
            if rule.id in seen:
                first = seen[rule.id]
                errors.append(
                    LoadError(
                        "duplicate-id", doc.file, line=rule.line, field=f"rules[{i}].id",
                        detail=f"the rule id '{rule.id}' is already used in {first.file}"
                        + (f", line {first.line}" if first.line else ""),
                    )
                )
                continue
            seen[rule.id] = rule
            rules.append(rule)
            errors.extend(_durable_limits(doc, at, rule))
    model_doc = load_document(directory / MODEL_FILE)
    for i, (pair, _) in enumerate(overlaps):
        for j, rid in enumerate(pair):
            if rid not in seen:
                errors.append(_unknown(model_doc, ("intended_overlaps", i, "rules", j),
                                       f"intended_overlaps[{i}].rules[{j}]", rid, seen,
                                       "unknown-rule", "the id of a rule"))
    if errors:
        raise LoadErrors(errors)
    rules.sort(key=_rule_order)
    return RuleSet(str(directory), scores, dimensions, groups, tuple(rules), catalog,
                   indicators, tuple(pair for pair, _ in overlaps))


def _durable_limits(doc: Document, at: tuple, rule: Rule) -> list[LoadError]:
    """durable_rules' fixed tables (docs/durable-rules.md, "Limits"): a rule that overflows
    one on its own would hang, crash or be refused when the rules are compiled, so it is
    refused here. Limits that only many rules together reach are lifted by the compiler."""
    from .compiler import rule_limits  # the compiler imports this module

    return [LoadError(p.code, doc.file, line=rule.line, field=dotted(at + ("when",)),
                      subject=f"rule '{rule.id}'", detail=p.detail,
                      expected=f"at most {p.maximum} {p.limit}", found=str(p.found))
            for p in rule_limits(rule)]


def _rule_order(rule: Rule) -> str:
    # by id, so that neither file names nor the order within a file change a result
    return rule.id


def _load_model(path: Path) -> tuple[dict[str, ScoreDef], dict[str, ScoreDef],
                                     dict[str, tuple[str, ...]], list[tuple[tuple[str, str], str]]]:
    doc = load_document(path)
    md = parse_as(doc, ModelDoc, "with 'scores' and 'dimensions'")
    errors: list[LoadError] = []
    specs = field_specs()
    for name, fields in md.indicators.items():
        for i, f in enumerate(fields):
            if f not in specs:
                errors.append(_unknown(doc, ("indicators", name, i), f"indicators.{name}[{i}]", f,
                                       specs, "unknown-field", "a profile field path"))
    missing = [s for s in SCORES if s not in md.scores]
    extra = [s for s in md.scores if s not in SCORES]
    if missing or extra:
        errors.append(
            LoadError(
                "model-scores", doc.file, line=doc.line_of(("scores",)), field="scores",
                expected="exactly the scores " + " and ".join(SCORES),
                found=", ".join(md.scores) or "none",
            )
        )
    for name in md.scores:
        if md.scores[name].bands is None:
            errors.append(
                LoadError("missing-field", doc.file, line=doc.line_of(("scores", name)),
                          field=f"scores.{name}.bands", expected="five band names",
                          found="nothing")
            )
    clash = set(md.scores) & set(md.dimensions)
    for name in sorted(clash):
        errors.append(
            LoadError("duplicate-target", doc.file, line=doc.line_of(("dimensions", name)),
                      field=f"dimensions.{name}", detail="a dimension cannot share a score's name")
        )
    monotone: dict[str, tuple[Monotone, ...]] = {}
    for group_name, table in (("scores", md.scores), ("dimensions", md.dimensions)):
        for name, sd in table.items():
            at = (group_name, name, "monotone")
            checked = [_monotone(doc, at + (i,), name, m, errors) for i, m in enumerate(sd.monotone)]
            monotone[name] = tuple(m for m in checked if m is not None)
    if errors:
        raise LoadErrors(errors)

    def to_def(name: str, sd: ScoreDoc, is_dimension: bool) -> ScoreDef:
        return ScoreDef(name, sd.title, sd.base, sd.bands or DEFAULT_DIMENSION_BANDS, is_dimension,
                        monotone[name])

    return (
        {n: to_def(n, sd, False) for n, sd in md.scores.items()},
        {n: to_def(n, sd, True) for n, sd in md.dimensions.items()},
        dict(md.indicators),
        [(o.rules, o.why) for o in md.intended_overlaps],
    )


def _monotone(doc: Document, at: tuple, target: str, md: MonotoneDoc,
              errors: list[LoadError]) -> Monotone | None:
    specs = field_specs()
    spec = specs.get(md.field)
    if spec is None:
        errors.append(_unknown(doc, at + ("field",), dotted(at + ("field",)), md.field, specs,
                               "unknown-field", "a profile field path"))
        return None
    where = dotted(at + ("order",))
    if spec.kind == "enum":
        if md.order is None:
            errors.append(LoadError("missing-field", doc.file, line=doc.line_of(at), field=where,
                                    expected=f"the values of {md.field} from low to high",
                                    found="nothing"))
            return None
        ranks = tuple(r if isinstance(r, tuple) else (r,) for r in md.order)
        flat = [v for r in ranks for v in r]
        bad = [v for v in flat if v not in spec.values]
        if bad or len(set(flat)) != len(flat):
            errors.append(LoadError(
                "bad-order", doc.file, line=doc.line_of(at + ("order",)), field=where,
                expected=f"distinct values of {md.field} ({', '.join(spec.values)})",
                found=", ".join(bad) if bad else "a value listed twice"))
            return None
        return Monotone(target, md.field, md.direction, ranks, md.why, doc.file, doc.line_of(at))
    if md.order is not None or not (spec.numeric or spec.kind == "bool"):
        errors.append(LoadError(
            "bad-order", doc.file, line=doc.line_of(at), field=dotted(at),
            detail=f"{md.field} is {spec.kind}: "
            + ("numbers and booleans are ordered already, give no 'order'"
               if spec.numeric or spec.kind == "bool" else "text has no order")))
        return None
    return Monotone(target, md.field, md.direction, None, md.why, doc.file, doc.line_of(at))


SOURCES_DIR = "sources"


def _load_catalog(path: Path) -> CatalogFile:
    """``sources.yaml`` and every ``*.yaml`` in ``sources/`` beside it: one catalog.

    The folder lets treaty records, data sets and news reports live in files of their own
    kind; an id may appear once across all of them.
    """
    paths = [path]
    extra = path.parent / SOURCES_DIR
    if extra.is_dir():
        paths += sorted(p for p in extra.iterdir() if p.is_file() and p.suffix == ".yaml")
    entries: list[SourceEntry] = []
    seen: dict[str, str] = {}
    errors: list[LoadError] = []
    for p in paths:
        doc = load_document(p)
        try:
            cat = parse_as(doc, CatalogFile, "with a 'sources' list")
        except LoadErrors as many:
            errors.extend(many.errors)
            continue
        for i, entry in enumerate(cat.sources):
            if entry.id in seen:
                errors.append(LoadError(
                    "duplicate-source", doc.file, line=doc.line_of(("sources", i, "id")),
                    field=f"sources[{i}].id",
                    detail=f"the source id '{entry.id}' is already catalogued in {seen[entry.id]}"))
                continue
            seen[entry.id] = doc.file
            entries.append(entry)
    if errors:
        raise LoadErrors(errors)
    return CatalogFile(sources=tuple(entries))


def _load_rule_file(path: Path) -> tuple[Document, RuleFileDoc]:
    doc = load_document(path)
    return doc, parse_as(doc, RuleFileDoc, "with 'dimension' and 'rules'")


def _unknown(doc: Document, at: tuple, field: str, value: Any, known, code: str,
             expected: str) -> LoadError:
    close = suggest(str(value), known)
    return LoadError(
        code, doc.file, line=doc.line_of(at), field=field, expected=expected,
        found=describe_found(value), hint=f"did you mean '{close[0]}'?" if close else None,
    )


def _build_rule(
    doc: Document,
    at: tuple,
    rd: RuleDoc,
    dimension: str,
    targets: dict[str, ScoreDef],
    groups: dict[str, Group],
    catalog: Catalog,
    errors: list[LoadError],
) -> Rule | None:
    before = len(errors)
    line = doc.line_of(at)
    for target in rd.points:
        if target not in targets:
            errors.append(_unknown(doc, at + ("points", target), dotted(at + ("points", target)), target, targets,
                                   "unknown-target", "a score or dimension from model.yaml"))
        elif target not in SCORES and target != dimension:
            errors.append(
                LoadError(
                    "foreign-dimension", doc.file, line=doc.line_of(at + ("points", target)),
                    field=dotted(at + ("points", target)),
                    detail=f"a rule of the {dimension} file may feed {dimension} and the "
                    f"scores ({', '.join(SCORES)}), not another dimension",
                    hint="move the rule to that dimension's file",
                )
            )
    for target, pts in rd.points.items():
        if pts == 0 or abs(pts) > 100:
            errors.append(
                LoadError(
                    "bad-points", doc.file, line=doc.line_of(at + ("points", target)),
                    field=dotted(at + ("points", target)),
                    expected="a whole number from -100 to 100 other than 0", found=str(pts),
                )
            )
    if rd.group is not None and rd.group not in groups:
        errors.append(_unknown(doc, at + ("group",), dotted(at + ("group",)), rd.group, groups,
                               "unknown-group", "a group declared under 'groups:'"))
    src = rd.source
    entry = catalog.entries.get(src.id)
    problem = catalog.citation_problem(src.id, src.section)
    if problem:
        code, message = problem
        errors.append(LoadError(code, doc.file, line=doc.line_of(at + ("source",)),
                                field=dotted(at + ("source",)), detail=message))
    elif entry is not None and entry.kind == SourceKind.DOCUMENT and src.section is None:
        errors.append(
            LoadError(
                "missing-section", doc.file, line=doc.line_of(at + ("source",)),
                field=dotted(at + ("source", "section")), expected=f"one of {', '.join(entry.sections)}",
                found="nothing",
            )
        )
    when = _parse_condition(doc, at + ("when",), rd.when, errors)
    if when is not None:
        read = fields_of(when)
        for path in rd.context:
            if path not in read:
                errors.append(LoadError(
                    "bad-context", doc.file, line=doc.line_of(at + ("context", path)),
                    field=dotted(at + ("context", path)),
                    expected="a field the rule's condition reads (" + ", ".join(sorted(read)) + ")",
                    found=describe_found(path)))
    for error in errors[before:]:
        error.subject = f"rule '{rd.id}'"
    if len(errors) > before or when is None:
        return None
    return Rule(
        id=rd.id,
        title=rd.title,
        dimension=dimension,
        points=tuple(sorted(rd.points.items())),
        when=when,
        nnf=normalize(when),
        rationale=" ".join(rd.rationale.split()),
        source=SourceRef(src.id, src.section),
        group=rd.group,
        file=doc.file,
        line=line,
        direction=tuple(sorted(rd.direction.items())),
        support=" ".join(rd.support.split()),
        context=tuple(sorted(rd.context.items())),
    )


_COMBINATORS = ("all", "any", "not")


def _parse_condition(
    doc: Document, at: tuple, data: Any, errors: list[LoadError]
) -> Condition | None:
    where = dotted(at)

    def fail(code: str, **kw: Any) -> None:
        errors.append(LoadError(code, doc.file, line=doc.line_of(at), field=where, **kw))

    if not isinstance(data, dict):
        fail("bad-condition", expected="a mapping: {field: ..., <operator>: ...}, "
             "{all: [...]}, {any: [...]} or {not: {...}}", found=describe_found(data))
        return None
    combinators = [k for k in data if k in _COMBINATORS]
    if combinators:
        if len(data) != 1:
            fail("bad-condition", expected=f"'{combinators[0]}' alone in its mapping",
                 found="also " + ", ".join(f"'{k}'" for k in data if k != combinators[0]))
            return None
        key = combinators[0]
        body = data[key]
        if key == "not":
            inner = _parse_condition(doc, at + ("not",), body, errors)
            return Not(inner) if inner is not None else None
        if not isinstance(body, list) or not body:
            fail("bad-condition", expected=f"a non-empty list under '{key}'",
                 found=describe_found(body) if body != [] else "an empty list")
            return None
        items = [_parse_condition(doc, at + (key, i), c, errors) for i, c in enumerate(body)]
        if any(c is None for c in items):
            return None
        return (All if key == "all" else AnyOf)(tuple(items))  # type: ignore[arg-type]

    if "field" not in data:
        unknown = [str(k) for k in data if k not in OPERATORS]
        close = suggest(unknown[0], [*_COMBINATORS, "field"]) if unknown else []
        fail("bad-condition", expected="'field' and one operator, or all/any/not",
             found=", ".join(f"'{k}'" for k in data) or "an empty mapping",
             hint=f"did you mean '{close[0]}'?" if close else None)
        return None
    path = data["field"]
    specs = field_specs()
    if not isinstance(path, str) or path not in specs:
        errors.append(_unknown(doc, at + ("field",), dotted(at + ("field",)), path, specs, "unknown-field",
                               "a profile field path such as 'commitment.tier'"))
        return None
    spec = specs[path]
    ops = [k for k in data if k != "field"]
    unknown_ops = [k for k in ops if k not in OPERATORS]
    if unknown_ops:
        bad = unknown_ops[0]
        close = suggest(str(bad), OPERATORS)
        errors.append(LoadError(
            "unknown-operator", doc.file, line=doc.line_of(at + (bad,)), field=where,
            expected="one of " + ", ".join(OPERATORS), found=f"'{bad}'",
            hint=f"did you mean '{close[0]}'?" if close else None))
        return None
    if len(ops) != 1:
        fail("bad-condition", expected="exactly one operator beside 'field'",
             found=", ".join(ops) if ops else "none")
        return None
    op_name = ops[0]
    op = OPERATORS[op_name]
    value = data[op_name]
    vat = at + (op_name,)

    def bad_value(expected: str, found: Any, code: str = "bad-value", hint: str | None = None):
        errors.append(LoadError(code, doc.file, line=doc.line_of(vat), field=dotted(vat),
                                expected=expected, found=describe_found(found), hint=hint))

    if op == "present":
        if not isinstance(value, bool):
            bad_value("true or false", value)
            return None
        return Cmp(path, "present" if value else "absent")
    if op in ORDERING and not spec.numeric:
        errors.append(LoadError(
            "bad-operator", doc.file, line=doc.line_of(vat), field=dotted(vat),
            detail=f"'{op_name}' compares numbers, and this field is {spec.kind}",
            hint="use equals, not_equals or in"))
        return None
    candidates = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        bad_value(f"a non-empty list of values, each {spec.describe()}", value)
        return None
    for v in candidates:
        if not spec.accepts(v):
            code = "unknown-enum-value" if spec.kind == "enum" and isinstance(v, str) else "bad-value"
            close = suggest(v, spec.values) if spec.kind == "enum" and isinstance(v, str) else []
            bad_value(spec.describe(), v, code, f"did you mean '{close[0]}'?" if close else None)
            return None
    if op == "in":
        return Cmp(path, "in", tuple(dict.fromkeys(value)))
    return Cmp(path, op, value)
