"""Exports for other tools: a CSV ranking, an Excel workbook, a SQLite database, a
pandas DataFrame.

Every export is built from what scoring already decided (results, contributions)
and from the inputs (profiles, rules, sources); none recomputes a score. Each
returns its whole content (text or bytes) so that the caller writes it whole or
not at all, and the same inputs always give the same bytes.

Column names are unique and snake_case everywhere, so that ``csv.DictReader``,
pandas and SQL read each column under its own name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING
from typing import Any

from .errors import MissingDependencyError
from .results import BatchResult
from .results import ProfileResult

if TYPE_CHECKING:  # pragma: no cover
    from .api import Engine
    from .loader import LoadedProfile
    from .profile import Profile
    from .rules import RuleSet


# --- the ranking: CSV, the workbook's first sheet, the DataFrame ------------------------------

HEAD = ("rank", "profile", "country", "name", "as_of", "deterrence", "deterrence_band",
        "alignment_risk", "alignment_risk_band")
TAIL = ("ruleset",)


def _dimension_ids(result: BatchResult, ruleset: RuleSet | None) -> list[str]:
    if ruleset is not None:
        return list(ruleset.dimensions)
    # without the rule set, the results name their dimensions (all in the same order)
    seen: dict[str, None] = {}
    for r in result.results:
        seen.update(dict.fromkeys(r.dimensions))
    return list(seen)


def ranking_columns(dimensions: Iterable[str]) -> list[tuple[str, str]]:
    """(column, dimension id) for each dimension: its id, unless a fixed column already
    has that name (a rule set may name a dimension ``name``), then ``dimension_<id>``."""
    taken = set(HEAD) | set(TAIL)
    return [(f"dimension_{d}" if d in taken else d, d) for d in dimensions]


def ranking(result: BatchResult, ruleset: RuleSet | None = None
            ) -> tuple[list[str], list[list[Any]]]:
    """The ranked table as headers and rows: one row per profile, in the batch's order.
    Cells keep their types (numbers are numbers, ``as_of`` a date)."""
    dims = ranking_columns(_dimension_ids(result, ruleset))
    digest = result.ruleset.digest
    return ranking_headers(dims), [ranking_row(i, r, dims, digest)
                                   for i, r in enumerate(result.results, 1)]


def ranking_headers(dims: list[tuple[str, str]]) -> list[str]:
    """The ranking's column names (``dims`` from ``ranking_columns``)."""
    return [*HEAD, *(column for column, _ in dims), *TAIL]


def ranking_row(rank: int, r: ProfileResult, dims: list[tuple[str, str]], digest: str
                ) -> list[Any]:
    """One profile's row of the ranking (``dims`` from ``ranking_columns``)."""
    return [rank, r.profile, r.country, r.name, r.as_of, r.deterrence.score, r.deterrence.band,
            r.alignment_risk.score, r.alignment_risk.band,
            *(r.dimensions[d].score if d in r.dimensions else None for _, d in dims), digest]


def batch_csv(result: BatchResult, ruleset: RuleSet | None = None) -> str:
    """The ranking as CSV, each text cell safe to open in a spreadsheet."""
    from .render import csv_cell

    headers, rows = ranking(result, ruleset)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([csv_cell(plain(c)) for c in row] for row in rows)
    return buf.getvalue()


def plain(value: Any) -> Any:
    """A cell as text or number: dates in ISO form, enumerations by their value."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


# --- rows shared by the workbook and the database ---------------------------------------------


def contribution_rows(results: Iterable[ProfileResult]) -> list[dict[str, Any]]:
    """Every rule's points to every score of every profile."""
    rows = []
    for r in results:
        for score in ("deterrence", "alignment_risk", *r.dimensions):
            for c in r.target(score).contributions:
                rows.append({"profile": r.profile, "score": score, "rule": c.rule,
                             "title": c.title, "points": c.points, "source": c.source.id,
                             "section": c.source.section})
    return rows


def score_rows(results: Iterable[ProfileResult]) -> list[dict[str, Any]]:
    """One row per profile and score: ``base + sum(points) + adjustment == value``."""
    rows = []
    for r in results:
        for score in ("deterrence", "alignment_risk", *r.dimensions):
            s = r.target(score)
            rows.append({"profile": r.profile, "score": score, "value": s.score,
                         "band": s.band, "base": s.base, "adjustment": s.adjustment,
                         "raw": s.raw})
    return rows


def fact_rows(profile: Profile) -> list[dict[str, Any]]:
    """Every fact of a profile with its provenance, in model order; a field left unknown
    on purpose is a row too, with no value and the reason."""
    from .fields import TOP_LEVEL
    from .profile import SECTIONS

    rows = []

    def row(field: str, value: Any, fact: Any = None, unknown: str | None = None) -> None:
        rows.append({"profile": profile.key, "field": field, "value": plain(value),
                     "confidence": plain(fact.confidence) if fact and fact.confidence else None,
                     "source": fact.source if fact else None,
                     "note": fact.note if fact else None,
                     "period": fact.period if fact else None,
                     "unknown_reason": unknown})

    for name in TOP_LEVEL:
        value = getattr(profile, name)
        if value is not None:
            row(name, value)
    for section in SECTIONS:
        part = getattr(profile, section)
        for name in type(part).model_fields:
            fact = getattr(part, name)
            path = f"{section}.{name}"
            if fact is not None:
                row(path, fact.value, fact)
            elif path in profile.unknown:
                row(path, None, unknown=profile.unknown[path])
    return rows


def source_rows(ruleset: RuleSet) -> list[dict[str, Any]]:
    return [{"id": e.id, "title": e.title, "authors": e.authors, "year": e.year,
             "kind": e.kind.value, "publisher": e.publisher, "location": e.where,
             "sections": ", ".join(e.sections) or None, "note": e.note}
            for e in sorted(ruleset.catalog.entries.values(), key=lambda e: e.id)]


def _profiles(profiles: Iterable[Profile | LoadedProfile]) -> dict[str, Profile]:
    from .profile import Profile  # loaded already: the profiles given are or hold its instances

    out = {}
    for p in profiles:
        profile = p if isinstance(p, Profile) else p.profile
        out[profile.key] = profile
    return out


def _ruleset(engine_or_ruleset: Engine | RuleSet) -> RuleSet:
    from .rules import RuleSet  # loaded already: an engine holds a rule set

    if isinstance(engine_or_ruleset, RuleSet):
        return engine_or_ruleset
    return engine_or_ruleset.ruleset


# --- the workbook -----------------------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the oldest time a zip entry can carry: the stamp of a workbook without scored profiles
_ZIP_EPOCH = dt.datetime(1980, 1, 1)


def batch_xlsx(result: BatchResult, engine_or_ruleset: Engine | RuleSet,
               profiles: Iterable[Profile | LoadedProfile]) -> bytes:
    """The batch as an Excel workbook: sheets ``ranking``, ``contributions``, ``facts``
    (the scored profiles' facts, from ``profiles``) and ``sources``.

    The same inputs give the same bytes: the workbook and every entry of its zip are
    dated at the latest ``as_of`` of the ranking (the date the data describe), never
    at the time of writing.
    """
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    ruleset = _ruleset(engine_or_ruleset)
    by_key = _profiles(profiles)
    missing = [r.profile for r in result.results if r.profile not in by_key]
    if missing:
        raise ValueError(f"no profile given for {', '.join(missing)}: the facts sheet "
                         "needs every scored profile")
    headers, rows = ranking(result, ruleset)
    facts = [row for r in result.results for row in fact_rows(by_key[r.profile])]
    sheets = [
        ("ranking", headers, rows),
        _dict_sheet("contributions", contribution_rows(result.results),
                    ["profile", "score", "rule", "title", "points", "source", "section"]),
        _dict_sheet("facts", facts, ["profile", "field", "value", "confidence", "source",
                                     "note", "period", "unknown_reason"]),
        _dict_sheet("sources", source_rows(ruleset),
                    ["id", "title", "authors", "year", "kind", "publisher", "location",
                     "sections", "note"]),
    ]
    stamp = max((dt.datetime.combine(r.as_of, dt.time()) for r in result.results),
                default=_ZIP_EPOCH)
    book = Workbook()
    book.remove(book.active)
    for title, head, body in sheets:
        _fill(book.create_sheet(title), head, body)
    book.properties.creator = "latticework"
    book.properties.created = book.properties.modified = stamp
    buf = io.BytesIO()
    # ExcelWriter, not Workbook.save, which dates the workbook at the time of writing
    ExcelWriter(book, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)).save()
    return _restamp(buf.getvalue(), stamp)


def _dict_sheet(title: str, rows: list[dict[str, Any]], columns: list[str]
                ) -> tuple[str, list[str], list[list[Any]]]:
    return title, columns, [[row[c] for c in columns] for row in rows]


def _fill(sheet: Any, headers: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from .render import safe_text

    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_text(c) if isinstance(c, str) else c for c in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            # a text starting with '=' would be stored as a formula and run when opened
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions
    for i, header in enumerate(headers, 1):
        longest = max([len(header), *(len(str(r[i - 1])) for r in rows if r[i - 1] is not None)])
        sheet.column_dimensions[get_column_letter(i)].width = min(60, longest + 2)


def _restamp(data: bytes, stamp: dt.datetime) -> bytes:
    """The zip again, every entry dated ``stamp``: a zip dates each entry at the time
    it was written, which would make every workbook differ."""
    when = max(stamp, _ZIP_EPOCH).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info))
    return out.getvalue()


# --- pandas -----------------------------------------------------------------------------------


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise MissingDependencyError("pandas", "pandas", "converting results to a DataFrame") \
            from None
    return pandas


def batch_dataframe(result: BatchResult) -> Any:
    """The ranking as a pandas DataFrame, the CSV's columns with their types (``as_of``
    a datetime, scores integers, bands text)."""
    pandas = _pandas()
    headers, rows = ranking(result)
    frame = pandas.DataFrame(rows, columns=headers)
    frame["as_of"] = pandas.to_datetime(frame["as_of"])
    return frame


def profile_dataframe(result: ProfileResult) -> Any:
    """One profile's scores as a DataFrame: a row per score (deterrence, alignment_risk,
    each dimension) with its value, band, base, adjustment and raw sum."""
    pandas = _pandas()
    rows = score_rows([result])
    columns = ["score", "value", "band", "base", "adjustment", "raw"]
    return pandas.DataFrame([[row[c] for c in columns] for row in rows], columns=columns)
