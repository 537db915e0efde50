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

from pathlib import Path

from .catalog import Catalog
from .catalog import CatalogFile
from .catalog import SourceEntry
from .catalog import SourceKind
from .condition_parser import parse_condition
from .conditions import fields_of
from .conditions import normalize
from .errors import Collector
from .errors import LoadError
from .errors import LoadErrors
from .fields import field_specs
from .rule_files import ModelDoc
from .rule_files import MonotoneDoc
from .rule_files import RuleDoc
from .rule_files import RuleFileDoc
from .rule_files import ScoreDoc
from .rules import CALIBRATION_FILE
from .rules import CATALOG_FILE
from .rules import DEFAULT_DIMENSION_BANDS
from .rules import MODEL_FILE
from .rules import SCORES
from .rules import Group
from .rules import Monotone
from .rules import Rule
from .rules import RuleSet
from .rules import ScoreDef
from .rules import SourceRef
from .validation import describe_found
from .validation import parse_as
from .validation import unknown_value
from .yamlsource import Document
from .yamlsource import dotted
from .yamlsource import load_document


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
    found = Collector()
    errors = found.errors
    model = catalog_doc = None
    with found:
        model = _load_model(directory / MODEL_FILE)
    with found:
        catalog_doc = _load_catalog(directory / CATALOG_FILE)
    catalog = Catalog(catalog_doc.sources if catalog_doc else ())
    paths = rule_files(directory)
    files = []
    for path in paths:
        with found:
            files.append(_load_rule_file(path))
    if model is None or catalog_doc is None:  # the collector holds the reason
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
            errors.append(unknown_value(doc, ("dimension",), "dimension", rf.dimension, dimensions,
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
                errors.append(unknown_value(model_doc, ("intended_overlaps", i, "rules", j),
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
    from .durable_limits import rule_limits  # the compiler imports this module

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
                errors.append(unknown_value(doc, ("indicators", name, i), f"indicators.{name}[{i}]", f,
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
        errors.append(unknown_value(doc, at + ("field",), dotted(at + ("field",)), md.field, specs,
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
    found = Collector()
    for p in paths:
        doc = load_document(p)
        cat = None
        with found:
            cat = parse_as(doc, CatalogFile, "with a 'sources' list")
        if cat is None:
            continue
        for i, entry in enumerate(cat.sources):
            if entry.id in seen:
                found.add(LoadError(
                    "duplicate-source", doc.file, line=doc.line_of(("sources", i, "id")),
                    field=f"sources[{i}].id",
                    detail=f"the source id '{entry.id}' is already catalogued in {seen[entry.id]}"))
                continue
            seen[entry.id] = doc.file
            entries.append(entry)
    found.raise_any()
    return CatalogFile(sources=tuple(entries))


def _load_rule_file(path: Path) -> tuple[Document, RuleFileDoc]:
    doc = load_document(path)
    return doc, parse_as(doc, RuleFileDoc, "with 'dimension' and 'rules'")

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
            errors.append(unknown_value(doc, at + ("points", target), dotted(at + ("points", target)), target, targets,
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
        errors.append(unknown_value(doc, at + ("group",), dotted(at + ("group",)), rd.group, groups,
                               "unknown-group", "a group declared under 'groups:'"))
    src = rd.source
    entry = catalog.entries.get(src.id)
    problem = catalog.citation_problem(src.id, src.section)
    if problem:
        errors.append(problem.at(doc.file, line=doc.line_of(at + ("source",)),
                                 field=dotted(at + ("source",))))
    elif entry is not None and entry.kind == SourceKind.DOCUMENT and src.section is None:
        errors.append(
            LoadError(
                "missing-section", doc.file, line=doc.line_of(at + ("source",)),
                field=dotted(at + ("source", "section")), expected=f"one of {', '.join(entry.sections)}",
                found="nothing",
            )
        )
    when = parse_condition(doc, at + ("when",), rd.when, errors)
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


