"""Facts from data sets: a table's rows become profile facts through a declared mapping.

A mapping (``rules/imports/<name>.yaml``) names the table's key columns (an ISO
3166-1 alpha-3 code and a year), the catalog source the facts will cite, and for
each profile field the column that holds it. A row updates the profile of the
same ISO code dated in the row's year. Only figures that differ are rewritten, so
importing the table a profile was filled from changes nothing.

The table is checked whole before anything is written (missing columns, figures
that are not whole numbers, codes that are not ISO codes, duplicate rows: every
problem with its line), and every changed profile is written to a temporary file,
read back through the profile loader, and only then renamed over the original: a
profile is never half-written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StrictStr

from ..catalog import Catalog
from ..errors import LoadError
from ..errors import LoadErrors
from ..fields import field_specs
from ..fields import show_value
from ..fields import suggest
from ..loader import load_profile
from ..loader import load_profiles
from ..profile import Confidence
from ..results import _Out
from ..validation import describe_found
from ..validation import parse_as
from ..yamlsource import load_document
from ..yamlsource import read_text

IMPORTS_DIR = "imports"
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit also accepts superscripts, which int() refuses


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeysDoc(_Strict):
    iso3: StrictStr
    year: StrictStr


class FieldMapDoc(_Strict):
    column: StrictStr
    confidence: Confidence = Confidence.PUBLIC
    note: StrictStr | None = None


class MappingDoc(_Strict):
    title: Annotated[StrictStr, Field(min_length=1)]
    source: StrictStr
    edition: StrictStr
    keys: KeysDoc
    fields: Annotated[dict[StrictStr, FieldMapDoc], Field(min_length=1)]
    # "refuse": two rows for one code and year are an error. "zero-filled": the data set
    # lists some countries under two names and fills the unused one with zeros, so a
    # repeated key is accepted when every row but one is all zeros (that one wins);
    # two rows with figures still conflict.
    duplicates: Literal["refuse", "zero-filled"] = "refuse"


@dataclass(frozen=True)
class Mapping:
    name: str
    file: str
    doc: MappingDoc


def mapping_path(rules_dir: Path, name: str) -> Path:
    return rules_dir / IMPORTS_DIR / f"{name}.yaml"


def load_mapping(rules_dir: Path, name: str, catalog: Catalog) -> Mapping:
    """A mapping, checked when it loads: fields exist and hold whole numbers, the source
    is catalogued."""
    path = mapping_path(rules_dir, name)
    if not path.is_file():
        known = sorted(p.stem for p in (rules_dir / IMPORTS_DIR).glob("*.yaml")) \
            if (rules_dir / IMPORTS_DIR).is_dir() else []
        close = suggest(name, known)
        raise LoadError("unknown-mapping", path, detail=f"no mapping named '{name}'",
                        suggestion=close[0] if close else None
                        or (f"known mappings: {', '.join(known)}" if known else None))
    doc = load_document(path)
    md = parse_as(doc, MappingDoc, "with title, source, edition, keys and fields")
    errors: list[LoadError] = []
    specs = field_specs()
    for path_ in md.fields:
        spec = specs.get(path_)
        if spec is None or "." not in path_:
            close = suggest(path_, specs)
            errors.append(LoadError("unknown-field", doc.file, line=doc.line_of(("fields", path_)),
                                    field=f"fields.{path_}", expected="a profile field path",
                                    found=describe_found(path_),
                                    suggestion=close[0] if close else None))
        elif spec.kind != "int":
            errors.append(LoadError("bad-field-kind", doc.file, line=doc.line_of(("fields", path_)),
                                    field=f"fields.{path_}",
                                    expected="a field holding a whole number (a count)",
                                    found=f"a field of kind {spec.kind}"))
    problem = catalog.citation_problem(md.source, None)
    if problem:
        errors.append(problem.at(doc.file, line=doc.line_of(("source",)), field="source"))
    if errors:
        raise LoadErrors(errors)
    return Mapping(name, doc.file, md)


@dataclass(frozen=True)
class Row:
    line: int
    iso3: str
    year: int
    values: dict[str, int]  # field path -> figure


def _iso3_codes() -> frozenset[str]:
    import pycountry  # the ISO 3166 list, kept current upstream rather than copied here

    return frozenset(c.alpha_3 for c in pycountry.countries)


def read_table(path: Path, mapping: Mapping) -> list[Row]:
    """Every row of a CSV table, or every problem in it (file and line each)."""
    text = read_text(path)
    file = str(path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise LoadError("empty-table", path, expected="a header row and data rows",
                        found="an empty file") from None
    md = mapping.doc
    wanted = {"ISO code": md.keys.iso3, "year": md.keys.year,
              **{p: fm.column for p, fm in md.fields.items()}}
    errors: list[LoadError] = []
    for what, column in wanted.items():
        if column not in header:
            close = suggest(column, header)
            errors.append(LoadError(
                "missing-column", file, line=1, field=column,
                expected=f"a column '{column}' ({what}, as {Path(mapping.file).name} declares)",
                found="columns " + ", ".join(header),
                suggestion=close[0] if close else None))
    if errors:
        raise LoadErrors(errors)
    at = {name: header.index(name) for name in set(wanted.values())}
    codes = _iso3_codes()
    specs = field_specs()
    seen: dict[tuple[str, int], Row] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            errors.append(LoadError("bad-row", file, line=line,
                                    expected=f"{len(header)} cells", found=f"{len(cells)}"))
            continue
        iso3 = cells[at[md.keys.iso3]].strip()
        year_text = cells[at[md.keys.year]].strip()
        bad = False
        if iso3 not in codes:
            close = suggest(iso3.upper(), codes)
            errors.append(LoadError("unknown-iso-code", file, line=line, field=md.keys.iso3,
                                    expected="an ISO 3166-1 alpha-3 country code",
                                    found=describe_found(iso3),
                                    suggestion=close[0] if close else None))
            bad = True
        if not _DIGITS.fullmatch(year_text):
            errors.append(LoadError("bad-figure", file, line=line, field=md.keys.year,
                                    expected="a year", found=describe_found(year_text)))
            bad = True
        values: dict[str, int] = {}
        for p, fm in md.fields.items():
            cell = cells[at[fm.column]].strip()
            spec = specs[p]
            if not _DIGITS.fullmatch(cell) or not spec.accepts(int(cell)):
                errors.append(LoadError("bad-figure", file, line=line, field=fm.column,
                                        expected=f"{spec.describe()} (for {p})",
                                        found=describe_found(cell) if cell else "an empty cell"))
                bad = True
            else:
                values[p] = int(cell)
        if bad:
            continue
        key = (iso3, int(year_text))
        row = Row(line, iso3, int(year_text), values)
        if key in seen:
            first = seen[key]
            if md.duplicates == "zero-filled" and not any(row.values.values()):
                continue  # the zero-filled twin of a row under another name
            if md.duplicates == "zero-filled" and not any(first.values.values()):
                seen[key] = row  # the first was the zero-filled twin
                continue
            errors.append(LoadError("duplicate-row", file, line=line,
                                    detail=f"{iso3} {year_text} already has a row at line "
                                    f"{first.line}"))
            continue
        seen[key] = row
    if errors:
        raise LoadErrors(errors)
    return sorted(seen.values(), key=lambda r: r.line)


@dataclass(frozen=True, slots=True)
class FactChange(_Out):
    profile: str
    iso3: str
    year: int
    field: str
    old: int | None
    new: int
    row: int  # the table line the figure comes from


@dataclass(frozen=True, slots=True)
class ImportResult(_Out):
    mapping: str
    table: str
    rows: int
    matched: int  # profiles a row matched
    changes: tuple[FactChange, ...]
    written: bool


def run_import(
    rules_dir: Path, name: str, table: Path, profiles_dir: Path, catalog: Catalog,
    dry_run: bool = False,
) -> ImportResult:
    mapping = load_mapping(rules_dir, name, catalog)
    rows = read_table(table, mapping)
    loaded, errors = load_profiles(profiles_dir, catalog)
    if errors:
        raise LoadErrors(errors)  # a profile we cannot read is one we must not rewrite
    by_key = {(r.iso3, r.year): r for r in rows}
    changes: list[FactChange] = []
    per_file: dict[str, list[tuple[FactChange, Row]]] = {}
    matched = 0
    for lp in loaded:
        p = lp.profile
        if p.iso3 is None:
            continue
        row = by_key.get((p.iso3, p.as_of.year))
        if row is None:
            continue
        matched += 1
        for path_, new in sorted(row.values.items()):
            section, field_name = path_.split(".")
            fact = getattr(getattr(p, section), field_name)
            old = None if fact is None else fact.value
            if old == new:
                continue
            change = FactChange(p.key, p.iso3, row.year, path_, old, new, row.line)
            changes.append(change)
            per_file.setdefault(lp.file, []).append((change, row))
    changes.sort(key=lambda c: (c.profile, c.field))
    if changes and not dry_run:
        _write_all(per_file, mapping, catalog)
    return ImportResult(name, str(table), len(rows), matched, tuple(changes),
                        bool(changes) and not dry_run)


def _write_all(per_file: dict[str, list[tuple[FactChange, Row]]], mapping: Mapping,
               catalog: Catalog) -> None:
    """Every changed profile to a temporary file, each read back, then all renamed."""
    staged: list[tuple[str, str]] = []
    try:
        for file, items in sorted(per_file.items()):
            text = _rewrite(Path(file), items, mapping)
            fd, tmp = tempfile.mkstemp(dir=Path(file).resolve().parent,
                                       prefix=f".{Path(file).name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            staged.append((tmp, file))
            load_profile(Path(tmp), catalog)  # the rewritten profile must still be valid
        for tmp, file in staged:
            os.chmod(tmp, os.stat(file).st_mode & 0o7777)
            os.replace(tmp, file)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise


def _rewrite(path: Path, items: list[tuple[FactChange, Row]], mapping: Mapping) -> str:
    """The profile's text with the changed facts replaced, comments and order kept."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import FoldedScalarString

    y = YAML()  # round trip: the profile keeps its comments, order and layout
    y.width = 88
    y.preserve_quotes = True
    data = y.load(read_text(path))
    md = mapping.doc
    for change, row in items:
        section, field_name = change.field.split(".")
        fm = md.fields[change.field]
        fact = CommentedMap()
        fact["value"] = change.new
        fact["source"] = md.source
        fact["confidence"] = fm.confidence.value
        fact["period"] = str(row.year)
        if fm.note:
            note = " ".join(fm.note.split()).format(year=row.year, edition=md.edition)
            fact["note"] = FoldedScalarString(note) if len(note) > 60 else note
        if section not in data or data[section] is None:
            data[section] = CommentedMap()
        data[section][field_name] = fact
        unknown = data.get("unknown")
        if unknown is not None and change.field in unknown:
            del unknown[change.field]
            if not unknown:
                del data["unknown"]
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def import_text(result: ImportResult) -> str:
    lines = [f"{result.table}: {result.rows} rows, {result.matched} profiles matched "
             f"({result.mapping} mapping)"]
    if not result.changes:
        lines.append("no fact changed")
    for c in result.changes:
        lines.append(f"{c.profile} ({c.iso3} {c.year}) {c.field}: {show_value(c.old)} -> "
                     f"{c.new} [line {c.row}]")
    if result.changes:
        lines.append(f"{len(result.changes)} fact{'s' if len(result.changes) != 1 else ''} "
                     + ("changed" if result.written else "would change (dry run: nothing written)"))
    from ..render import join_lines  # a table's path or code may carry control characters

    return join_lines(lines)


__all__ = ["run_import", "import_text", "load_mapping", "read_table", "ImportResult",
           "FactChange"]
