"""``latticework export --sqlite``: the rules, every profile snapshot, their facts, results
and contributions, and the sources, in one SQLite database with foreign keys.

Built in memory with sqlite-utils and returned whole, so that the caller writes the
file whole or not at all; the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from .export import contribution_rows
from .export import fact_rows
from .export import plain
from .export import score_rows
from .export import source_rows
from .results import ErrorOut
from .version import tool_version

if TYPE_CHECKING:  # pragma: no cover
    from .api import Engine


# name -> (columns, primary key, foreign keys); created in this order, so that every
# foreign key names a table that exists. Column names avoid SQL keywords (group, when,
# where), so that a query needs no quoting.
TABLES: dict[str, tuple[dict[str, type], tuple[str, ...], list[tuple[str, str, str]]]] = {
    "ruleset": ({"digest": str, "rules": int, "latticework_version": str}, ("digest",), []),
    "sources": ({"id": str, "kind": str, "title": str, "authors": str, "publisher": str,
                 "year": int, "location": str, "sections": str, "note": str}, ("id",), []),
    "rules": ({"id": str, "title": str, "dimension": str, "points": str, "rule_group": str,
               "source": str, "section": str, "rationale": str, "support": str,
               "condition": str, "file": str, "line": int}, ("id",),
              [("source", "sources", "id")]),
    "profiles": ({"key": str, "country": str, "name": str, "as_of": str, "iso3": str,
                  "region": str, "summary": str, "file": str}, ("key",), []),
    "facts": ({"profile": str, "field": str, "value": str, "number": float,
               "confidence": str, "source": str, "note": str, "period": str,
               "unknown_reason": str}, ("profile", "field"), [("profile", "profiles", "key")]),
    "results": ({"profile": str, "score": str, "value": int, "band": str, "base": int,
                 "adjustment": int, "raw": int}, ("profile", "score"),
                [("profile", "profiles", "key")]),
    "contributions": ({"profile": str, "score": str, "rule": str, "points": int},
                      ("profile", "score", "rule"),
                      [("profile", "profiles", "key"), ("rule", "rules", "id")]),
    "errors": ({"source": str, "message": str, "code": str}, (), []),
}


@dataclass(frozen=True)
class DatabaseExport:
    """A SQLite database, whole, with the number of rows of each table and the profiles
    that could not be loaded or scored (they are in its ``errors`` table too)."""

    data: bytes
    rows: dict[str, int]
    errors: tuple[ErrorOut, ...]


def sqlite_database(engine: Engine, profiles_dir: str | Path | None = None) -> DatabaseExport:
    """Every table of the model in one SQLite database: the rule set, its sources and
    rules, every snapshot's profile and facts, and their results and contributions.

    Built in memory and returned as bytes (about a megabyte for the bundled data), so
    that the caller writes the file whole or not at all. A profile that cannot be
    loaded or scored is left out of the other tables and listed in ``errors``.
    """
    import sqlite_utils

    result = engine.batch(profiles_dir, sort="key", every_snapshot=True)
    profiles, _ = engine.load_profiles(profiles_dir)  # their load errors are in the batch's
    ruleset = engine.ruleset
    content = {
        "ruleset": [{"digest": ruleset.digest, "rules": len(ruleset.rules),
                     "latticework_version": tool_version()}],
        "sources": source_rows(ruleset),
        "rules": [{"id": r.id, "title": r.title, "dimension": r.dimension,
                   "points": json.dumps(dict(r.points), sort_keys=True),
                   "rule_group": r.group, "source": r.source.id, "section": r.source.section,
                   "rationale": r.rationale, "support": r.support or None,
                   "condition": json.dumps(r.canonical()["when"], sort_keys=True,
                                           ensure_ascii=False),
                   "file": Path(r.file).name, "line": r.line} for r in ruleset.rules],
        "profiles": [{"key": lp.profile.key, "country": lp.profile.country,
                      "name": lp.profile.name, "as_of": lp.profile.as_of.isoformat(),
                      "iso3": lp.profile.iso3, "region": plain(lp.profile.region),
                      "summary": lp.profile.summary, "file": Path(lp.file).name}
                     for lp in profiles],
        "facts": [_typed_fact(row) for lp in profiles for row in fact_rows(lp.profile)],
        "results": score_rows(result.results),
        "contributions": [{k: row[k] for k in ("profile", "score", "rule", "points")}
                          for row in contribution_rows(result.results)],
        "errors": [{"source": e.source, "message": e.message, "code": e.code}
                   for e in result.errors],
    }
    # no plugins: what the machine has installed must not change the file
    db = sqlite_utils.Database(memory=True, execute_plugins=False)
    try:
        for name, (columns, pk, foreign) in TABLES.items():
            table = db.table(name)
            table.create(columns, pk=(pk if len(pk) > 1 else pk[0]) if pk else None,
                         foreign_keys=foreign or None)
            table.insert_all(content[name])
        db.conn.commit()
        data = db.conn.serialize()
    finally:
        db.conn.close()
    return DatabaseExport(data, {name: len(rows) for name, rows in content.items()},
                          result.errors)


def _typed_fact(row: dict[str, Any]) -> dict[str, Any]:
    """The value as written in YAML (text) and, for a number, as a number too, so that
    ``WHERE number > 30`` compares numbers."""
    from .fields import show_value

    value = row["value"]
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return {**row, "value": None if value is None else show_value(value), "number": number}


def read_database(data: bytes) -> sqlite3.Connection:
    """An in-memory connection to an exported database, for tests and notebooks."""
    conn = sqlite3.connect(":memory:")
    conn.deserialize(data)
    return conn
