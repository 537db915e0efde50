"""Loading profiles: YAML file -> validated :class:`~engine.profile.Profile`.

Validation problems come back as :class:`~engine.errors.LoadError` values that
name the file, the line, the field, what was expected and what was found.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from pydantic import ValidationError

from .catalog import Catalog
from .errors import LoadError
from .errors import LoadErrors
from .fields import field_specs
from .fields import flatten
from .fields import suggest
from .filelist import FileList
from .profile import KEY_PATTERN
from .profile import Fact
from .profile import Profile
from .validation import describe_found
from .validation import parse_as
from .validation import translate
from .yamlsource import Document
from .yamlsource import Later
from .yamlsource import load_document
from .yamlsource import read_text

if TYPE_CHECKING:
    from .profile_cache import ProfileCache


@cache
def _dated() -> tuple[tuple[str, int, str, str], ...]:
    """The dated fields, each with its shelf life (``max_age``), section and name: the walk
    every profile repeats."""
    out = []
    for path, spec in field_specs().items():
        if spec.max_age is not None and "." in path:
            section, _, name = path.partition(".")
            out.append((path, spec.max_age, section, name))
    return tuple(out)


def check_dates_and_unknowns(profile: Profile, doc: Document) -> list[LoadError]:
    """Facts must hold at ``as_of``; an unknown field must name a real field, with a reason.

    A dated field (troops, arms shares, spending, aid, conduct) must say which period its
    value describes, that period may not start after ``as_of``, and it may end at most the
    field's shelf life before it: a 2012 troop count is not a 2022 fact.
    """
    specs = field_specs()
    year = profile.as_of.year
    problems: list[LoadError] = []
    # most profiles list few unknowns, or none: their known fields are listed only then
    known = set(flatten(profile)) if profile.unknown else set()
    for path in profile.unknown:
        at = ("unknown", path)
        if path not in specs:
            close = suggest(path, specs)
            problems.append(LoadError(
                "unknown-field", doc.file, line=doc.line_of(at), field=f"unknown.{path}",
                expected="a profile field path such as 'dependence.arms_us_share'",
                found=describe_found(path), suggestion=close[0] if close else None))
        elif path in known:
            problems.append(LoadError(
                "known-and-unknown", doc.file, line=doc.line_of(at), field=f"unknown.{path}",
                detail="the field has a value in this profile, so it cannot also be listed "
                "as unknown", hint="remove one of the two"))
    for path, max_age, section, name in _dated():
        fact = getattr(getattr(profile, section), name)
        if fact is None:
            continue
        span = fact.years
        at = (section, name)
        if span is None:
            problems.append(LoadError(
                "missing-period", doc.file, line=doc.line_of(at), field=f"{path}.period",
                expected=f"the year or years the value describes (e.g. '{year}' or "
                f"'{year - 4}-{year}'): {path} changes over time", found="nothing"))
            continue
        first, last = span
        if first > last:
            problems.append(LoadError(
                "bad-period", doc.file, line=doc.line_of(at + ("period",)) or doc.line_of(at),
                field=f"{path}.period", expected="the earlier year first ('2018-2022')",
                found=f"'{fact.period}'"))
        elif first > year or last > year:
            problems.append(LoadError(
                "future-fact", doc.file, line=doc.line_of(at + ("period",)) or doc.line_of(at),
                field=f"{path}.period",
                expected=f"a period from earlier years to at most {year} (the profile is as of "
                f"{profile.as_of.isoformat()})", found=f"'{fact.period}'"))
        elif year - last > max_age:
            problems.append(LoadError(
                "expired-fact", doc.file, line=doc.line_of(at + ("period",)) or doc.line_of(at),
                field=f"{path}.period",
                expected=f"a period ending in {year - max_age} or later: {path} holds "
                f"for {max_age} year(s) after the period it describes, and the profile is "
                f"as of {profile.as_of.isoformat()}", found=f"'{fact.period}'",
                hint="record the figure for the profile's own year, or list the field under "
                "'unknown:' with the reason"))
    return problems


@dataclass(frozen=True)
class LoadedProfile:
    profile: Profile
    file: str
    doc: Document


def _deferred(path: Path, text: str, data: Any = None) -> Document:
    """The document of a profile read back from the cache, or read by the quick reader
    (its ``data``): parsed by the full reader only if asked for (its citations failed
    against the catalog, say), so that the error still names a line."""
    parsed: list[Document] = []

    def parse() -> Document:  # once, for the data or the lines, whichever is asked first
        if not parsed:
            parsed.append(load_document(path, text))
        return parsed[0]

    return Document(str(path), Later(lambda: parse().data) if data is None else data,
                    Later(lambda: parse().lines))


def _full(path: Path, text: str) -> tuple[Profile, Document, list[LoadError]]:
    doc = load_document(path, text)
    profile = parse_as(doc, Profile, "of profile fields")
    return profile, doc, check_dates_and_unknowns(profile, doc)


def _quick(path: Path, text: str) -> tuple[Profile, Document, list[LoadError]] | None:
    """The profile of a text the quick reader (:mod:`engine.yamlquick`) is sure of, with
    no problem; None otherwise, and the full reader reads the text again, so that every
    problem is found and worded as it always is, at its line."""
    from .yamlquick import quick_data  # as the full reader, imported by the first parse

    data = quick_data(text)
    if data is None:
        return None
    try:
        profile = Profile.model_validate(data)
    except ValidationError:  # worded by parse_as, which needs the lines: the full reader's
        return None
    doc = _deferred(path, text, data)
    problems = check_dates_and_unknowns(profile, doc)
    return (profile, doc, problems) if not problems else None


def load_profile(path: str | Path, catalog: Catalog | None = None,
                 cache: ProfileCache | None = None) -> LoadedProfile:
    """Load and validate one profile file; every problem in it is raised together.

    With a ``cache`` (:mod:`engine.profile_cache`), a text validated before is not parsed
    again; the citations are checked either way, against this catalog.
    """
    path = path if isinstance(path, Path) else Path(path)  # a batch's are Paths already
    text = read_text(path)
    known = cache.get(text) if cache is not None else None
    doc: Document
    problems: list[LoadError]
    if known is not None:
        profile, doc, problems = known, _deferred(path, text), []
    else:
        profile, doc, problems = _quick(path, text) or _full(path, text)
        if cache is not None and not problems:
            cache.put(text, profile)
    problems += catalog.check_profile_citations(profile, doc) if catalog else []
    if problems:
        raise LoadErrors(problems)
    return LoadedProfile(profile, doc.file, doc)


def load_through_cache(path: str | Path, catalog: Catalog | None = None) -> LoadedProfile:
    """:func:`load_profile` with the profile cache, for a command that names one file."""
    from .profile_cache import open_cache  # sqlite3 is imported only for files

    cache = open_cache()
    try:
        return load_profile(path, catalog, cache)
    finally:
        cache.close()


PROFILE_SUFFIX = ".yaml"


def profile_files(directory: str | Path) -> FileList:
    """Every name of the directory that looks like a profile file: ending in .yaml or .yml,
    in any case, and not hidden; in name order, as a compact ``FileList``.

    Nothing is left out for what it is: a FIFO, a device, a directory, a dangling or looping
    symbolic link, an unreadable file or a file with the wrong suffix is listed too, and
    loading reports it; a file skipped in silence would be a partner missing in silence.
    Nothing is opened or even examined here, so nothing here can block or fail on one file.
    """
    d = Path(directory)
    try:
        if not stat.S_ISDIR(os.stat(d).st_mode):
            raise LoadError("not-a-directory", d, expected="a directory of profile files",
                            found="a file")
        names = os.listdir(d)
    except (FileNotFoundError, NotADirectoryError):
        raise LoadError("not-a-directory", d, expected="a directory of profile files",
                        found="no such directory") from None
    except OSError as exc:
        raise LoadError("unreadable", d, detail="the directory of profile files cannot be read "
                        f"({exc.strerror or exc})") from None
    return FileList.in_directory(d, [
        name for name in names
        if not name.startswith(".") and os.path.splitext(name)[1].lower() in (".yaml", ".yml")])


def check_profile_suffix(path: Path) -> None:
    """One suffix only: the file name is the profile's key, so a key has exactly one file."""
    if path.suffix != PROFILE_SUFFIX:
        raise LoadError(
            "file-name", path, expected=f"the suffix {PROFILE_SUFFIX}, as in "
            f"{path.stem}{PROFILE_SUFFIX} (a profile file is named after its key, and a key "
            "has one file)", found=f"'{path.name}'", hint="rename the file")


def load_files(
    paths: Iterable[Path], catalog: Catalog | None = None, cache: ProfileCache | None = None
) -> tuple[list[LoadedProfile], list[LoadError]]:
    """Profiles from files of a profiles directory, each named after its key; files read
    before are taken from the profile cache (:mod:`engine.profile_cache`).

    A batch passes the ``cache`` it holds open for all its chunks, and this commits what
    the files added to it; without one, a cache is opened and closed for these files."""
    loaded: list[LoadedProfile] = []
    errors: list[LoadError] = []
    if cache is not None:
        try:
            _load_into(paths, catalog, cache, loaded, errors)
        finally:
            cache.flush()
    else:
        from .profile_cache import open_cache  # sqlite3 is imported only for files

        with open_cache() as own:
            _load_into(paths, catalog, own, loaded, errors)
    loaded.sort(key=lambda lp: lp.profile.key)
    return loaded, errors


def _load_into(paths: Iterable[Path], catalog: Catalog | None, cache: ProfileCache,
               loaded: list[LoadedProfile], errors: list[LoadError]) -> None:
    for path in paths:
        try:
            check_profile_suffix(path)
            lp = load_profile(path, catalog, cache)
            if path.stem != lp.profile.key:
                raise LoadError(
                    "file-name", path, line=lp.doc.line_of(("as_of",)),
                    expected=f"the file to be named {lp.profile.key}{path.suffix} after its key "
                    "(country and year of as_of)", found=path.name,
                )
            loaded.append(lp)
        except LoadErrors as many:
            errors.extend(many.errors)
        except LoadError as one:
            errors.append(one)


def load_profiles(
    directory: str | Path, catalog: Catalog | None = None
) -> tuple[list[LoadedProfile], list[LoadError]]:
    """Every profile of a directory, and every problem; one bad file does not hide the others."""
    return load_files(profile_files(directory), catalog)


def is_key(text: str) -> bool:
    return bool(KEY_PATTERN.match(text))


__all__ = ["load_profile", "load_profiles", "LoadedProfile", "translate", "is_key", "Fact"]
