"""The sources catalog (``rules/sources.yaml``): what rules and profiles may cite.

Documents have sections and rules cite one (``{id, section}``); data sets and
public records are cited by profiles as ``id`` or ``id#section``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .errors import LoadError
from .profile import SECTIONS, SOURCE_PATTERN, Profile
from .fields import suggest
from .yamlsource import Document

ID = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]


class SourceKind(StrEnum):
    DOCUMENT = "document"  # one of the two source documents: rules cite a section
    LITERATURE = "literature"  # scholarly work a rule rests on: rules cite it whole
    DATASET = "dataset"
    RECORD = "record"  # treaty, statute, official statement, news report


class SourceEntry(BaseModel):
    """A citable source, described fully enough to be found without this project."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: tuple[SourceEntry, ...]


class Catalog:
    def __init__(self, entries: tuple[SourceEntry, ...]) -> None:
        self.entries = {e.id: e for e in entries}

    def citation_problem(self, source_id: str, section: str | None) -> tuple[str, str] | None:
        """(code, message) when the citation names no catalogued source or section."""
        entry = self.entries.get(source_id)
        if entry is None:
            close = suggest(source_id, self.entries)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return "unknown-source", f"the source '{source_id}' is not in rules/sources.yaml{hint}"
        if section is not None and section not in entry.sections:
            known = ", ".join(entry.sections) or "none"
            return (
                "unknown-section",
                f"the source '{source_id}' has no section '{section}' (its sections: {known})",
            )
        return None

    def check_profile_citations(self, profile: Profile, doc: Document) -> list[LoadError]:
        problems: list[LoadError] = []
        for section in SECTIONS:
            part = getattr(profile, section)
            for name in type(part).model_fields:
                fact = getattr(part, name)
                if fact is None or fact.source is None:
                    continue
                source_id, _, sec = fact.source.partition("#")
                problem = self.citation_problem(source_id, sec or None)
                if problem:
                    code, message = problem
                    problems.append(
                        LoadError(
                            code, doc.file, line=doc.line_of((section, name, "source")),
                            field=f"{section}.{name}.source", detail=message,
                        )
                    )
        return problems


__all__ = ["Catalog", "CatalogFile", "SourceEntry", "SourceKind", "SOURCE_PATTERN"]
