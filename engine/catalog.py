"""The sources catalog (``rules/sources.yaml``): what rules and profiles may cite.

Documents have sections and rules cite one (``{id, section}``); data sets and
public records are cited by profiles as ``id`` or ``id#section``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StrictStr

from .errors import LoadError
from .fields import suggest
from .profile import SECTIONS
from .profile import SOURCE_PATTERN
from .profile import Profile
from .yamlsource import Document

ID = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]


class SourceKind(StrEnum):
    DOCUMENT = "document"  # one of the two source documents: rules cite a section
    LITERATURE = "literature"  # scholarly work a rule rests on: rules cite it whole
    DATASET = "dataset"
    RECORD = "record"  # treaty, statute, official statement, news report


class SourceEntry(BaseModel):
    """A citable source, described fully enough to be found without this project."""

    # a warm start takes the catalog from the rule cache and validates nothing: the
    # validators are built only when a catalog file is read (defer_build)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: ID
    title: Annotated[StrictStr, Field(min_length=1)]
    kind: SourceKind
    authors: StrictStr | None = None
    publisher: StrictStr | None = None  # publisher, journal or issuing body
    year: Annotated[int, Field(ge=1800, le=2100, strict=True)] | None = None
    where: StrictStr | None = None  # a URL, DOI or archive reference
    sections: tuple[ID, ...] = ()
    note: StrictStr | None = None


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    sources: tuple[SourceEntry, ...]


@dataclass(frozen=True)
class CitationProblem:
    """A citation that names no catalogued source, or no section of it."""

    code: str
    detail: str
    suggestion: str | None = None

    def at(self, file: str | Path, *, line: int | None = None, field: str | None = None,
           subject: str | None = None) -> LoadError:
        return LoadError(self.code, file, line=line, field=field, subject=subject,
                         detail=self.detail, suggestion=self.suggestion)


class Catalog:
    def __init__(self, entries: tuple[SourceEntry, ...]) -> None:
        self.entries = {e.id: e for e in entries}
        self._verdicts: dict[str, CitationProblem | None] = {}

    def citation_problem(self, source_id: str, section: str | None) -> CitationProblem | None:
        """What is wrong with a citation, if anything: no such source, or no such section."""
        entry = self.entries.get(source_id)
        if entry is None:
            close = suggest(source_id, self.entries)
            return CitationProblem("unknown-source",
                                   f"the source '{source_id}' is not in rules/sources.yaml",
                                   close[0] if close else None)
        if section is not None and section not in entry.sections:
            known = ", ".join(entry.sections) or "none"
            return CitationProblem(
                "unknown-section",
                f"the source '{source_id}' has no section '{section}' (its sections: {known})")
        return None

    def check_profile_citations(self, profile: Profile, doc: Document) -> list[LoadError]:
        problems: list[LoadError] = []
        # a citation's verdict depends on its text alone, and profiles cite few texts
        known = self._verdicts
        for section in SECTIONS:
            for name, fact in getattr(profile, section).__dict__.items():
                if fact is None or fact.source is None:
                    continue
                cited = fact.source
                if cited in known:
                    problem = known[cited]
                else:
                    source_id, _, sec = cited.partition("#")
                    problem = self.citation_problem(source_id, sec or None)
                    if len(known) < 10_000:
                        known[cited] = problem
                if problem:
                    problems.append(problem.at(doc.file,
                                               line=doc.line_of((section, name, "source")),
                                               field=f"{section}.{name}.source"))
        return problems


__all__ = ["Catalog", "CitationProblem", "CatalogFile", "SourceEntry", "SourceKind", "SOURCE_PATTERN"]
